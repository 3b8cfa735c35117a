"""The windows of cached songs: which a song has, their samples and magnitudes, one fixed for plots.

The training generator (``unmix.pipeline.generator``) reads every window through these; the
spectrogram plot of training takes ``fixed_window``. A window costs one small read and one
small STFT (``unmix.pipeline.segments``). NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unmix.data.cache import CachedSong, open_stems
from unmix.dsp.normalizers import ZmuvStats
from unmix.dsp.stft import StftOptions, n_frames
from unmix.dsp.windows import middle_windows, to_model_layout, window_starts
from unmix.errors import ConfigurationError, DataError
from unmix.pipeline.representations.base import Representation
from unmix.pipeline.segments import frame_span, read_span, span_spectrogram
from unmix.pipeline.stats import song_references


def build_index(
    songs: Sequence[CachedSong], *, size: int, step: int, stft: StftOptions, limit_items_per_song: int = 0
) -> np.ndarray:
    """Every training window as ``(song position, first frame)``.

    Args:
        songs: the cached songs.
        size: frames per window.
        step: frames between window starts.
        stft: the STFT parameters (hop length, for the frame counts).
        limit_items_per_song: keep only this many windows around each song's
            middle; 0 keeps all.

    Returns:
        int64 array (n_items, 2).
    """
    rows = []
    for position, song in enumerate(songs):
        starts = np.asarray(window_starts(n_frames(song.n_samples, options=stft), size=size, step=step))
        if limit_items_per_song > 0:
            starts = starts[np.asarray(middle_windows(len(starts), limit_items_per_song), dtype=np.int64)]
        rows.append(np.stack([np.full(len(starts), position), starts], axis=1))
    return np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2), np.int64)


def check_representation_loss(representation: Representation, *, packs_mix: bool) -> None:
    """Reject a mix-packing loss with a representation whose model outputs a magnitude.

    Raises:
        ConfigurationError: when the pair does not fit.
    """
    if packs_mix and representation.output_kind != "mask":
        raise ConfigurationError(
            f"training.loss_function multiplies the model output by the mix (a mask loss), but "
            f"transformation.name {representation.name!r} makes the model output a {representation.output_kind}; "
            f"use a loss such as mean_squared_error or the 'train_window_predict_mask' representation"
        )


def read_window(song: CachedSong, start: int, *, size: int, stft: StftOptions) -> tuple[np.ndarray, np.ndarray]:
    """The samples behind frames ``[start, start + size)`` of a cached song.

    Returns:
        ``(vocals, instrumental)`` float32 (channels, samples), zero outside the song.
    """
    with open_stems(song) as reader:
        return read_span(reader, frame_span(start, size, stft_options=stft))


def window_magnitudes(
    vocals: np.ndarray, instrumental: np.ndarray, *, start: int, size: int, n_song_frames: int, stft: StftOptions,
    mix_gain: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|mix|, |vocals| and |instrumental| windows from the samples ``read_window`` returned;
    the mix is ``mix_gain * (vocals + instrumental)``.

    Returns:
        Three float32 arrays (bins, size, channels): mix, vocals, instrumental.
    """
    span = frame_span(start, size, stft_options=stft)
    kwargs = dict(start_frame=int(start), n_frames=size, n_song_frames=n_song_frames, stft_options=stft)
    vocals_spec = span_spectrogram(vocals, span, **kwargs)
    instrumental_spec = span_spectrogram(instrumental, span, **kwargs)
    # The STFT is linear: the mix spectrum is the (scaled) sum, one transform fewer.
    mix_spec = vocals_spec + instrumental_spec
    if mix_gain != 1.0:
        mix_spec *= np.float32(mix_gain)
    return tuple(
        to_model_layout(np.abs(spec)).astype(np.float32, copy=False)
        for spec in (mix_spec, vocals_spec, instrumental_spec)
    )


def fixed_window(
    songs: Sequence[CachedSong],
    *,
    representation: Representation,
    stft: StftOptions,
    packs_mix: bool,
    stats: ZmuvStats | None = None,
    mix_gain: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One deterministic validation window, for the spectrogram plot callback.

    The middle window of the first song (in the given order) whose vocals are not
    silent there; the first song's middle window if all are.

    Returns:
        ``(x, y, mix_mag, vocals_mag, reference)``: float32 x, mix_mag, vocals_mag
        (bins, size, ch); y (bins, size, ch or 2 ch); the song's ``song_reference`` (None in
        window scope), which turns a prediction for ``x`` back into magnitudes.

    Raises:
        DataError: when ``songs`` is empty.
        ConfigurationError: a packing loss with a magnitude representation.
    """
    if not songs:
        raise DataError("no validation songs to draw a fixed window from")
    check_representation_loss(representation, packs_mix=packs_mix)
    index = build_index(songs, size=representation.size, step=representation.step, stft=stft, limit_items_per_song=1)
    chosen = None
    for song, start in index:
        vocals, instrumental = read_window(songs[song], int(start), size=representation.size, stft=stft)
        audible = np.max(np.abs(vocals), initial=0.0) > 0
        if chosen is None or audible:
            chosen = (int(song), int(start), vocals, instrumental)
        if audible:
            break
    song, start, vocals, instrumental = chosen
    mix_mag, vocals_mag, instrumental_mag = window_magnitudes(
        vocals, instrumental, start=start, size=representation.size,
        n_song_frames=n_frames(songs[song].n_samples, options=stft), stft=stft, mix_gain=mix_gain,
    )
    (reference,) = song_references([songs[song]], representation=representation, stft=stft, mix_gain=mix_gain)
    x, y = representation.make_item(mix_mag, vocals_mag, instrumental_mag, packs_mix=packs_mix, stats=stats, reference=reference)
    return x, y, mix_mag, vocals_mag, reference
