"""Song records and decoding a song's two training stems.

A ``Song`` says where its vocals and its instrumental come from; it holds no
audio. ``load_song`` decodes, resamples and sums the sources into the two float32
``(channels, samples)`` arrays every later stage works with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unmix import audio
from unmix.errors import AudioError, DataError

logger = logging.getLogger(__name__)

LAYOUTS = ("unmix", "tracks", "stems", "channel_split")
# A song of ``collection.accompaniments``: no vocal source, its vocals are silence.
ACCOMPANIMENT_LAYOUT = "accompaniment"
# ``collection.mixture``: the factor of ``vocals + instrumental`` that makes a song's training mixture.
# "mean" is a channel-split file's mono downmix, the mixture Park et al. 2018 trained on (MIR-1K).
MIXTURE_GAINS = {"sum": 1.0, "mean": 0.5}

# Stems whose lengths differ by less than this are trimmed silently: encoders pad
# by a frame or two, which is not worth a warning.
TRIM_WARNING_S = 1.0


def configured_folder(entry: str, collection_folder: Path | str | None) -> Path | None:
    """A folder a configuration names beside the collection (``collection.unlabeled``,
    ``collection.accompaniments``): absolute (``~`` allowed), or relative to the collection
    folder; ``None`` for a relative one while the collection folder is not known."""
    folder = Path(entry).expanduser()
    if folder.is_absolute():
        return folder
    return None if not collection_folder else Path(collection_folder).expanduser() / folder


@dataclass(frozen=True)
class StemSource:
    """One audio source of a stem.

    Args:
        path: The audio file.
        stream: Audio stream index inside the file (``.stem.mp4``: 0 mix,
            1 drums, 2 bass, 3 other, 4 vocals); ``None`` for the only stream.
        channel: For channel-split files, the channel (0 = left) that holds
            this stem; ``None`` to use every channel.
    """

    path: Path
    stream: int | None = None
    channel: int | None = None


@dataclass(frozen=True)
class Song:
    """A song of a collection: where its vocals and instrumental come from.

    Args:
        id: The path relative to the collection root (posix), stable across
            machines; the split and the cache are keyed by it.
        name: A human name (the folder or the file stem).
        layout: ``"unmix"``, ``"tracks"``, ``"stems"``, ``"channel_split"`` or ``"accompaniment"``.
        vocals: Sources summed into the vocals.
        instrumental: Sources summed into the instrumental (e.g. drums, bass
            and other).
    """

    id: str
    name: str
    layout: str
    vocals: tuple[StemSource, ...]
    instrumental: tuple[StemSource, ...]

    @property
    def sources(self) -> tuple[StemSource, ...]:
        """Every source of the song, vocals first."""
        return self.vocals + self.instrumental


def load_song(song: Song, *, sample_rate: int, n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode a song's vocals and instrumental at one sample rate and channel count.

    Several sources of a stem are summed. Channel-split sources keep only their
    channel, which is then duplicated when ``n_channels`` is 2. The two stems are
    trimmed to the shorter one (encoders pad differently), with a warning when
    they differ by more than a second, since that points at mismatched files.

    Args:
        song: The song to decode.
        sample_rate: Target sample rate in Hz.
        n_channels: Target channel count (1 or 2).

    Returns:
        ``(vocals, instrumental)``, each float32 ``(n_channels, samples)`` of the
        same length.

    Raises:
        DataError: A source cannot be decoded (names the song id and the file),
            a channel-split source lacks its channel, or the song is empty.
    """
    if n_channels not in (1, 2):
        raise DataError(f"song {song.id!r}: n_channels must be 1 or 2; received n_channels={n_channels}")
    instrumental = _load_stem(
        song, song.instrumental, sample_rate=sample_rate, n_channels=n_channels, role="instrumental"
    )
    if song.layout == ACCOMPANIMENT_LAYOUT and not song.vocals:
        vocals = np.zeros_like(instrumental)
    else:
        vocals = _load_stem(song, song.vocals, sample_rate=sample_rate, n_channels=n_channels, role="vocals")
    n_samples = min(vocals.shape[1], instrumental.shape[1])
    difference = abs(vocals.shape[1] - instrumental.shape[1])
    if difference > TRIM_WARNING_S * sample_rate:
        logger.warning(
            "song %r: vocals (%.2f s) and instrumental (%.2f s) differ in length; trimmed to the shorter",
            song.id,
            vocals.shape[1] / sample_rate,
            instrumental.shape[1] / sample_rate,
        )
    if n_samples == 0:
        raise DataError(f"song {song.id!r}: a stem has no audio; check its files")
    return vocals[:, :n_samples], instrumental[:, :n_samples]


def _load_stem(
    song: Song, sources: tuple[StemSource, ...], *, sample_rate: int, n_channels: int, role: str
) -> np.ndarray:
    """Decode and sum the sources of one stem, trimmed to the shortest source."""
    if not sources:
        raise DataError(f"song {song.id!r}: no {role} source; the layout found none")
    parts = [_load_source(song, source, sample_rate=sample_rate, n_channels=n_channels) for source in sources]
    n_samples = min(part.shape[1] for part in parts)
    total = np.zeros((n_channels, n_samples), dtype=np.float32)
    for part in parts:
        total += part[:, :n_samples]
    return total


def _load_source(song: Song, source: StemSource, *, sample_rate: int, n_channels: int) -> np.ndarray:
    """Decode one source as float32 ``(n_channels, samples)``."""
    try:
        if source.channel is None:
            samples, _ = audio.load(
                source.path, sample_rate=sample_rate, n_channels=n_channels, stream=source.stream
            )
        else:
            samples, _ = audio.load(source.path, sample_rate=sample_rate, stream=source.stream)
    except AudioError as error:
        raise DataError(f"song {song.id!r}: cannot decode {source.path}: {error}") from error
    samples = np.asarray(samples, dtype=np.float32)
    if source.channel is None:
        return samples
    if source.channel >= samples.shape[0]:
        raise DataError(
            f"song {song.id!r}: {source.path} has {samples.shape[0]} channel(s); "
            f"channel {source.channel} was configured to hold a stem"
        )
    # One channel of a split file is a mono stem: duplicate it so both output
    # channels carry the same signal.
    return np.repeat(samples[source.channel : source.channel + 1], n_channels, axis=0)
