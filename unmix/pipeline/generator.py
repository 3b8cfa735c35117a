"""The training generator: a ``keras.utils.PyDataset`` of (input, target) batches.

It streams from the preparation cache: for every window it reads only the samples
the window's frames need (``unmix.pipeline.segments``), so memory does not grow with
the collection; the index holds only ``(song, first frame)`` pairs. Order and
augmentation are deterministic under the seed: epoch ``k`` visits the windows in the
order of ``np.random.default_rng([seed, k])``, and batch ``i`` of epoch ``k`` draws
its augmentation from ``np.random.default_rng([seed, k, i])``, whatever the worker
that builds it.

Distillation (``teacher_targets``): every target is ``concat([true, teacher], -1)``,
the teacher half built from the teacher's cached separation of the same song
(``teachers``, parallel to ``songs``) through the same STFT window and ``make_item``
(normalised with the true mix window's factors). Augmentation replays its draws on the
teacher's stems: gain scales a window linearly, so the teacher's stems get the same
gains (and channel swaps); a remixed window pairs one song's vocals with another's
instrumental, so its teacher target pairs the teacher's vocals of the first with the
teacher's instrumental of the second. That is an approximation (the teacher never heard
the remix), kept because it leaves the teacher term on every window. Above
``teacher_bins`` (the band the teacher separates) the teacher half is the true target. Without
``teachers`` (validation) the teacher half repeats the true target, so the loss is the
true-stem loss alone.

Accompaniments (``accompaniments``: songs without vocals, ``collection.accompaniments``)
join the index after the songs. A window of one takes the vocals of a random
non-silent window of a labelled song (the donor) and keeps its own instrumental, so
every such window is a new mixture with exact targets; its teacher target pairs the
teacher's vocals of the donor with the accompaniment itself, which is its own truth.

Sampling "random" (Park et al. 2018) indexes each song once per pass and crops it at a frame
drawn from the batch's generator, so a song of any length gives one window per pass and the
crops differ every epoch; "grid" indexes every window. The mixture is
``mix_gain * (vocals + instrumental)`` (``collection.mixture``: 0.5 for the mean); the targets
stay the stems themselves.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence

import keras
import numpy as np

from unmix.config.schema import AugmentationOptions
from unmix.data.cache import CachedSong
from unmix.dsp.normalizers import ZmuvStats
from unmix.dsp.stft import StftOptions, n_frames
from unmix.errors import ConfigurationError, DataError
from unmix.pipeline.augment import augment_segments, check_augmentation
from unmix.pipeline.stats import song_references
from unmix.pipeline.representations.base import Representation
from unmix.pipeline.window_items import build_index, check_representation_loss, read_window, window_magnitudes

logger = logging.getLogger(__name__)

# Draws per batch slot before a silent window is accepted anyway (an all-silent
# collection must not loop forever).
_MAX_SILENT_REDRAWS = 64
SAMPLINGS = ("grid", "random")


class WindowDataset(keras.utils.PyDataset):
    """Batches of model input and target windows streamed from cached songs.

    Args:
        songs: the cached training (or validation) songs, all with one channel count.
        representation: turns magnitude windows into ``(x, y)``.
        stft: the STFT parameters of the transformation.
        batch_size: windows per batch; every batch is full (the last wraps around).
        packs_mix: the loss wants ``concat([target, mix], -1)`` targets.
        limit_items_per_song: keep N windows around each song's middle (0: all).
        shuffle: shuffle the windows across songs every epoch.
        seed: seed of the order and the augmentation.
        augmentation: ``training.augmentation``; ``None`` or disabled for
            validation data.
        stats: per-bin statistics for the ``zmuv`` normaliser.
        steps_per_epoch: batches per epoch; 0: ``ceil(windows / batch_size)``.
        workers, use_multiprocessing, max_queue_size: passed to ``PyDataset``.
        teacher_targets: pack targets as ``concat([true, teacher], -1)`` (for
            ``TeacherMixedLoss``).
        teachers: the teacher's cached separation of each song (same order and
            lengths as ``songs``); ``None``: the teacher half repeats the true target.
        teacher_bins: the teacher target's lowest ``teacher_bins`` bins are the teacher's,
            the bins above them the true target's (``training.teacher.max_frequency``);
            ``None``: every bin is the teacher's.
        accompaniments: cached songs with silent vocals (``collection.accompaniments``),
            indexed after ``songs``; each of their windows takes a labelled song's vocals.
        sampling: "grid" (every window) or "random" (a random crop per song and pass;
            ``limit_items_per_song`` does not apply).
        mix_gain: the mixture's factor of ``vocals + instrumental`` (``collection.mixture``).

    Raises:
        DataError: no songs, or songs with different channel counts.
        ConfigurationError: a batch size, limit or step count out of range, an unknown
            sampling, bad augmentation options, a packing loss with a magnitude
            representation, or teacher targets with a representation of one target per stem.
    """

    def __init__(
        self,
        songs: Sequence[CachedSong],
        *,
        representation: Representation,
        stft: StftOptions,
        batch_size: int,
        packs_mix: bool,
        limit_items_per_song: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        augmentation: AugmentationOptions | None = None,
        stats: ZmuvStats | None = None,
        steps_per_epoch: int = 0,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        teacher_targets: bool = False,
        teachers: Sequence[CachedSong] | None = None,
        teacher_bins: int | None = None,
        accompaniments: Sequence[CachedSong] = (),
        sampling: str = "grid",
        mix_gain: float = 1.0,
    ) -> None:
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        for key, value, low in (
            ("training.batch_size", batch_size, 1),
            ("training.limit_items_per_song", limit_items_per_song, 0),
            ("training.steps_per_epoch", steps_per_epoch, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigurationError(f"{key} must be a whole number >= {low}; received {value!r}")
        if sampling not in SAMPLINGS:
            raise ConfigurationError(f"training.sampling must be one of {', '.join(SAMPLINGS)}; received {sampling!r}")
        if not songs:
            raise DataError("no songs to train on: the collection (or this split of it) is empty")
        channel_counts = {song.n_channels for song in (*songs, *accompaniments)}
        if len(channel_counts) > 1:
            raise DataError(
                f"cached songs have different channel counts {sorted(channel_counts)}; prepare the collection again"
            )
        check_representation_loss(representation, packs_mix=packs_mix)
        if teacher_targets and representation.name == "stems":
            raise ConfigurationError("training.teacher: the 'stems' representation makes one target per stem; a teacher needs one target per window")
        if teachers is not None and [t.n_samples for t in teachers] != [s.n_samples for s in songs]:
            raise DataError("the teacher's cached separations do not match the training songs; delete the teacher cache")
        self._teacher_targets = bool(teacher_targets or teachers is not None)
        # An accompaniment is its own teacher: its true stems (silent vocals, itself) are exact.
        self._teachers = (*teachers, *accompaniments) if teachers is not None else None
        self._teacher_bins = teacher_bins
        if augmentation is not None and augmentation.enabled:
            check_augmentation(augmentation)
            self._augmentation: AugmentationOptions | None = augmentation
        else:
            self._augmentation = None
        self._n_labelled = len(songs)
        self._songs = (*songs, *accompaniments)
        self._song_frames = np.array([n_frames(s.n_samples, options=stft) for s in self._songs], np.int64)
        self._representation = representation
        self._stft = stft
        self._batch_size = batch_size
        self._packs_mix = packs_mix
        self._shuffle = shuffle
        self._seed = int(seed)
        self._stats = stats
        self._steps_per_epoch = steps_per_epoch
        self._random_crops = sampling == "random"
        self._mix_gain = float(mix_gain)
        if self._random_crops:  # one row per song; its start is drawn per batch (_crop)
            self._index = np.stack([np.arange(len(self._songs)), np.zeros(len(self._songs), np.int64)], axis=1).astype(np.int64)
        else:
            self._index = build_index(
                self._songs, size=representation.size, step=representation.step, stft=stft,
                limit_items_per_song=limit_items_per_song,
            )
        self._labelled_rows = np.flatnonzero(self._index[:, 0] < self._n_labelled)  # every song has a window
        self._references = song_references(self._songs, representation=representation, stft=stft, mix_gain=self._mix_gain)
        self._epoch = 0
        self._order = self._epoch_order(0)
        logger.debug("%d windows from %d songs, %d batches per epoch", len(self._index), len(self._songs), len(self))

    @property
    def n_items(self) -> int:
        """Number of windows in the index (one epoch without steps_per_epoch)."""
        return len(self._index)

    @property
    def epoch(self) -> int:
        """Epochs completed so far (drives the order and the augmentation)."""
        return self._epoch

    @property
    def index(self) -> np.ndarray:
        """The windows as ``(song position, first frame)``, in this epoch's order (a copy)."""
        return self._index[self._order].copy()

    def __len__(self) -> int:
        return self._steps_per_epoch or math.ceil(len(self._index) / self._batch_size)

    def on_epoch_end(self) -> None:
        self._epoch += 1
        self._order = self._epoch_order(self._epoch)

    def _epoch_order(self, epoch: int) -> np.ndarray:
        if not self._shuffle:
            return np.arange(len(self._index))
        return np.random.default_rng([self._seed, epoch]).permutation(len(self._index))

    def __getitem__(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``batch`` of this epoch: ``x`` (batch, bins, size, ch) and ``y``
        (batch, bins, size, ch or 2 ch), float32.

        Raises:
            IndexError: ``batch`` is outside ``[0, len(self))``.
        """
        if not 0 <= batch < len(self):
            raise IndexError(f"batch {batch} out of range for {len(self)} batches")
        rng = np.random.default_rng([self._seed, self._epoch, batch])
        positions = (batch * self._batch_size + np.arange(self._batch_size)) % len(self._index)
        items = [self._crop(tuple(self._index[p]), rng) for p in self._order[positions]]
        vocals, instrumental, donors = [], [], []
        for slot, item in enumerate(items):
            v, i, items[slot], donor = self._read_slot(item, rng)
            vocals.append(v)
            instrumental.append(i)
            donors.append(donor)
        vocals_b, instrumental_b = np.stack(vocals), np.stack(instrumental)
        teacher_b = None
        if self._teachers is not None:
            windows = [self._teacher_window(item, donor) for item, donor in zip(items, donors)]
            teacher_b = (np.stack([w[0] for w in windows]), np.stack([w[1] for w in windows]))
        if self._augmentation is not None:
            ids = [self._songs[song].song_id for song, _ in items]
            # The draws do not depend on the audio: a copy of the generator replays them on the teacher's stems.
            replay = copy.deepcopy(rng)
            vocals_b, instrumental_b, _ = augment_segments(
                vocals_b, instrumental_b, rng=rng, options=self._augmentation, song_ids=ids
            )
            if teacher_b is not None:
                teacher_b = augment_segments(*teacher_b, rng=replay, options=self._augmentation, song_ids=ids)[:2]
        xs, ys = [], []
        for slot, ((song, start), v, i) in enumerate(zip(items, vocals_b, instrumental_b)):
            teacher = None if teacher_b is None else (teacher_b[0][slot], teacher_b[1][slot])
            x, y = self._make_item(v, i, song=song, start=start, teacher=teacher)
            xs.append(x)
            ys.append(y)
        if isinstance(ys[0], dict):  # one target per stem, for a model with named outputs
            return np.stack(xs), {stem: np.stack([y[stem] for y in ys]) for stem in ys[0]}
        return np.stack(xs), np.stack(ys)

    def _read_slot(self, item: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple, tuple | None]:
        """``(vocals, instrumental, item, donor)`` of one batch slot: a labelled window through
        ``_read_kept`` (donor None), or an accompaniment's window under a donor's vocals."""
        if item[0] < self._n_labelled:
            return (*self._read_kept(item, rng), None)
        vocals, _, donor = self._read_kept(self._random_labelled(rng), rng)
        return vocals, self._read(item)[1], item, donor

    def _teacher_window(self, item: tuple[int, int], donor: tuple | None) -> tuple[np.ndarray, np.ndarray]:
        """The teacher's stems of a slot: of its window, or the donor's vocals over the accompaniment."""
        vocals, instrumental = self._read(item, songs=self._teachers)
        if donor is not None:
            vocals = self._read(donor, songs=self._teachers)[0]
        return vocals, instrumental

    def _random_labelled(self, rng: np.random.Generator) -> tuple[int, int]:
        return self._crop(tuple(self._index[self._labelled_rows[int(rng.integers(len(self._labelled_rows)))]]), rng)

    def _crop(self, item: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
        """With random sampling, the item's song at a uniformly drawn first frame; else the item."""
        if not self._random_crops:
            return item
        song = int(item[0])
        return song, int(rng.integers(0, max(0, int(self._song_frames[song]) - self._representation.size) + 1))

    def _read_kept(self, item: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Read a window; with augmentation, a silent one is kept at ``silent_keep_rate``,
        else replaced by a random labelled window (so the batch stays full)."""
        for _ in range(_MAX_SILENT_REDRAWS):
            vocals, instrumental = self._read(item)
            if self._augmentation is None or np.max(np.abs(vocals), initial=0.0) > 0:
                break
            if rng.random() < self._augmentation.silent_keep_rate:
                break
            item = self._random_labelled(rng)
        return vocals, instrumental, item

    def _read(self, item: tuple[int, int], *, songs: Sequence[CachedSong] | None = None) -> tuple[np.ndarray, np.ndarray]:
        song, start = int(item[0]), int(item[1])
        return read_window((songs or self._songs)[song], start, size=self._representation.size, stft=self._stft)

    def _make_item(
        self, vocals: np.ndarray, instrumental: np.ndarray, *, song: int, start: int,
        teacher: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        geometry = dict(start=start, size=self._representation.size, n_song_frames=int(self._song_frames[song]), stft=self._stft)
        mix_mag, vocals_mag, instrumental_mag = window_magnitudes(vocals, instrumental, mix_gain=self._mix_gain, **geometry)
        scale = dict(stats=self._stats, reference=self._references[song])
        x, y = self._representation.make_item(mix_mag, vocals_mag, instrumental_mag, packs_mix=self._packs_mix, **scale)
        if not self._teacher_targets:
            return x, y
        teacher_y = y
        if teacher is not None:  # the teacher's stems, through the same window and the true mix's normalisation
            _, teacher_vocals, teacher_instrumental = window_magnitudes(*teacher, **geometry)
            if self._teacher_bins is not None:  # above the teacher's band, the truth
                teacher_vocals[self._teacher_bins :] = vocals_mag[self._teacher_bins :]
                teacher_instrumental[self._teacher_bins :] = instrumental_mag[self._teacher_bins :]
            _, teacher_y = self._representation.make_item(mix_mag, teacher_vocals, teacher_instrumental, packs_mix=self._packs_mix, **scale)
        return x, np.concatenate([y, teacher_y], axis=-1)
