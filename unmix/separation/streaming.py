"""Block-wise streaming: bounded memory for songs of any length, identical to processing them whole.

Audio arrives in blocks at its own rate, is resampled to the model's rate with one streaming
resampler, and is cut into *core* blocks (``block_seconds`` of model-rate audio) that are
separated with a *context margin* of model-rate audio on each side. Core starts and margins are
multiples of ``hop_length × step``, so every STFT frame and every model window inside a block is
exactly a frame and a window of the whole song; the margin (a window plus a full ``n_fft`` on each
side) keeps every frame and window that influences a core sample inside the block, away from the
block's own zero padding. The core is then cut out exactly: no crossfade, and the result equals
separating the whole song at once to float precision (only the multichannel Wiener filter with
iterations >= 1, whose covariances are estimated over a block, differs slightly).

The block function is a plain callable (model-rate audio → ``{stem: estimate}``); this module knows
no separator. Each estimated stem is resampled back with its own streaming resampler, and the
residual stem (``instrumental``) is formed as ``input - the others`` against the input samples
kept since, so the stems sum to the input and peak memory is a few blocks whatever the length.
Up to ``workers`` blocks are separated at once on worker threads (each block alone is computed
exactly as before, so the result does not depend on the number of workers).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from unmix.errors import AudioError
from unmix.separation.arrays import check_samples, check_separated
from unmix.separation.shared_windows import BlockShare, SharedWindows

Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class BlockLayout:
    """Where a block's core, its context and its model windows lie, in model-rate samples and frames.

    Attributes:
        core_samples: samples each block contributes to the output (None: the whole input).
        hop_length: STFT hop in samples (a frame is ``hop_length`` samples).
        window_frames_before: frames of whole model windows before a core start (on the window grid).
        window_frames_after: frames of model windows from the core end on.
        context_frames: STFT frames of audio before the first window and after the last, so that
            every frame a window reads is computed from real audio, never the block's padding.
    """

    core_samples: int | None
    hop_length: int
    window_frames_before: int
    window_frames_after: int
    context_frames: int

    @property
    def margin_samples(self) -> int:
        """Context before a core start (whole windows plus the STFT's context)."""
        return (self.window_frames_before + self.context_frames) * self.hop_length

    @property
    def after_samples(self) -> int:
        """Context after a core end."""
        return (self.window_frames_after + self.context_frames) * self.hop_length


def block_layout(*, n_fft: int, hop_length: int, size: int, step: int, sample_rate: int, block_seconds: float | None) -> BlockLayout:
    """Core and context lengths that keep STFT frames and model windows on the song's grid.

    A core sample depends on the STFT frames within ``n_fft / 2`` of it (``q`` frames each
    side), each of those frames on the windows covering it, and each window on the frames it
    reads, which must come from real audio: ``q`` frames more. Cores start on the window grid
    (multiples of ``hop_length * step`` samples) and hold at least 8 windows' worth of frames,
    so that the context frames each block transforms again stay a small share (its context
    windows are run once for both blocks of a boundary: ``unmix.separation.shared_windows``).

    Args:
        n_fft: STFT length in samples.
        hop_length: STFT hop in samples.
        size: model window in frames.
        step: frames between window starts.
        sample_rate: the model's rate in Hz.
        block_seconds: wanted core length (rounded up to the grid), None for one block.
    """
    q = math.ceil(n_fft / 2 / hop_length)
    # Windows starting after (core start - q - size) reach the frames a core sample depends on.
    before = step * ((q + size - 1) // step)
    # Windows starting before (core end + q) do too; the last starts on the grid at or after the end.
    after = step * ((q - 1) // step) + size
    if block_seconds is None:
        return BlockLayout(None, hop_length, before, after, q)
    unit = hop_length * step
    units = max(1, math.ceil(block_seconds * sample_rate / unit), math.ceil(8 * size / step))
    return BlockLayout(units * unit, hop_length, before, after, q)


class _Fifo:
    """Samples ``(channels, n)`` in arrival order; ``start`` is the global index of the first kept one."""

    def __init__(self, n_channels: int) -> None:
        self.n_channels = n_channels
        self.parts: list[np.ndarray] = []
        self.start = 0
        self.size = 0

    @property
    def end(self) -> int:
        return self.start + self.size

    def push(self, block: np.ndarray) -> None:
        if block.shape[1]:
            self.parts.append(block)
            self.size += block.shape[1]

    def read(self, first: int, stop: int) -> np.ndarray:
        """Copy of global samples ``[first, stop)``, which must be held."""
        whole = self._joined()
        return whole[:, first - self.start : stop - self.start].copy()

    def drop_before(self, index: int) -> None:
        cut = min(max(0, index - self.start), self.size)
        if cut:
            whole = self._joined()
            self.parts = [whole[:, cut:]] if cut < self.size else []
            self.start += cut
            self.size -= cut

    def pop(self, n: int) -> np.ndarray:
        block = self.read(self.start, self.start + n)
        self.drop_before(self.start + n)
        return block

    def _joined(self) -> np.ndarray:
        if len(self.parts) != 1:
            joined = np.concatenate(self.parts, axis=1) if self.parts else np.zeros((self.n_channels, 0), np.float32)
            self.parts = [joined] if self.parts else []
            return joined
        return self.parts[0]


class _Resampler:
    """One soxr stream (same engine as ``unmix.audio``); the concatenated output equals resampling the whole."""

    def __init__(self, from_rate: int, to_rate: int, n_channels: int) -> None:
        self._stream = None
        if from_rate != to_rate:
            import soxr

            from unmix.audio.resample import QUALITY

            self._stream = soxr.ResampleStream(from_rate, to_rate, n_channels, dtype="float32", quality=QUALITY)
        self._n_channels = n_channels

    def __call__(self, block: np.ndarray, *, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return block
        out = self._stream.resample_chunk(np.ascontiguousarray(block.T, dtype=np.float32), last=last)
        return np.ascontiguousarray(out.T)

    def flush(self) -> np.ndarray:
        return self(np.zeros((self._n_channels, 0), np.float32), last=True)



#: Model-rate audio ``(channels, samples)``, ``frames=(first, stop)``, the frames its model
#: windows cover (``stop`` None: to the end), and ``shared=`` the block's ``BlockShare`` (the
#: boundary windows its neighbours also run) → ``{stem: estimate of the audio's shape}``.
BlockFunction = Callable[..., Mapping[str, np.ndarray]]


def iter_separate(
    separate_block: BlockFunction,
    blocks: Iterable[np.ndarray],
    *,
    layout: BlockLayout,
    estimated: Sequence[str],
    residual: str | None,
    model_rate: int,
    sample_rate: int,
    n_channels: int,
    workers: int = 1,
    total_samples: int | None = None,
    progress: Progress | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Separate a stream of audio blocks, yielding ``{stem: block}`` as they are ready.

    Args:
        separate_block: the kernel: model-rate audio → an estimate of each stem of ``estimated``.
        blocks: float32 ``(n_channels, n)`` blocks at ``sample_rate``, consecutive in time.
        layout: core and margin lengths (:func:`block_layout`).
        estimated: the stems ``separate_block`` returns.
        residual: the stem formed as ``input - sum of the estimated stems``; None: none (every
            stem is estimated, ``transformation.combination`` "direct").
        model_rate: the rate ``separate_block`` works at, in Hz.
        sample_rate: rate of the blocks (and of the output) in Hz.
        n_channels: channels of every block.
        workers: blocks separated at once on threads.
        total_samples: expected length, only for ``progress`` (an estimate is fine).
        progress: called as ``progress(done_seconds, total_seconds)`` after each yielded block.

    Returns:
        An iterator of ``{stem: float32 (n_channels, m)}`` for every stem of ``estimated`` and
        ``residual``, whose concatenation has exactly the input's length; with a residual, the
        stems of each block sum to the input block.

    Raises:
        AudioError: a block of the wrong shape, with NaN, infinite or too loud samples, or a
            separation that is not finite (nothing of that block is yielded).
    """
    estimated = tuple(estimated)
    down = _Resampler(sample_rate, model_rate, n_channels)
    ups = {stem: _Resampler(model_rate, sample_rate, n_channels) for stem in estimated}
    pending, model_audio = _Fifo(n_channels), _Fifo(n_channels)
    outputs = {stem: _Fifo(n_channels) for stem in estimated}
    core_start = 0
    # NumPy, SciPy's FFT and TensorFlow release the GIL, so one block's STFT or overlap-add
    # runs beside another's model.
    workers = max(1, int(workers))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unmix-block") if workers > 1 else None
    in_flight: deque[tuple[Future[Mapping[str, np.ndarray]], int, int]] = deque()  # (estimates of a segment, core start, core stop in it)
    # The window of context on each side of a boundary is run by one of its two blocks only.
    shared = SharedWindows()

    def submit_core(stop: int, *, final: bool) -> None:
        # Separate [first, last) and keep only the core [core_start, stop) of it. The windows run
        # over the frames [windows_from, windows_to) of the segment: the song's own windows.
        nonlocal core_start
        hop = layout.hop_length
        first = max(0, core_start - layout.margin_samples)
        windows_from = (core_start - first) // hop - layout.window_frames_before if first else 0
        windows_from = max(0, windows_from)
        if final:
            last, windows_to = model_audio.end, None
        else:
            last = stop + layout.after_samples
            windows_to = (stop - first) // hop + layout.window_frames_after
        segment = model_audio.read(first, last)
        frames = (windows_from, windows_to)
        if not final:  # song frames: the core ends on the window grid
            shared.add_boundary(stop // hop - layout.window_frames_before, stop // hop + layout.window_frames_after)
        share = BlockShare(shared, first // hop)
        if executor is None:
            job: Future[Mapping[str, np.ndarray]] = Future()
            job.set_result(separate_block(segment, frames=frames, shared=share))
        else:
            job = executor.submit(separate_block, segment, frames=frames, shared=share)
        in_flight.append((job, core_start - first, stop - first))
        core_start = stop
        model_audio.drop_before(core_start - layout.margin_samples)

    def collect(limit: int) -> None:
        # Wait (in order) until at most `limit` blocks are in flight; take finished ones anyway.
        while in_flight and (len(in_flight) > limit or in_flight[0][0].done()):
            job, begin, end = in_flight.popleft()
            estimates = job.result()
            for stem in estimated:
                outputs[stem].push(ups[stem](np.asarray(estimates[stem])[:, begin:end]))

    def ready(final: bool) -> Iterator[dict[str, np.ndarray]]:
        available = min((fifo.size for fifo in outputs.values()), default=pending.size)
        n = pending.size if final else min(pending.size, available)
        if n == 0:
            return
        first = pending.start
        mix = pending.pop(n)
        out: dict[str, np.ndarray] = {}
        for stem in estimated:
            fifo = outputs[stem]
            block = fifo.pop(min(n, fifo.size))
            if block.shape[1] < n:  # the resamplers' rounding may leave a sample less: padded
                block = np.pad(block, ((0, 0), (0, n - block.shape[1])))
            out[stem] = block
        # The input's samples passed check_samples, so the residual of finite estimates is finite.
        check_separated(out, mix=mix, first=first, sample_rate=sample_rate)
        if residual is not None:
            rest = np.subtract(mix, out[estimated[0]]) if estimated else mix.copy()
            for stem in estimated[1:]:
                rest -= out[stem]
            out[residual] = rest
        done = pending.start
        if progress is not None:
            progress(done / sample_rate, max(done, total_samples or 0) / sample_rate)
        yield out

    try:
        for block in blocks:
            block = np.asarray(block, dtype=np.float32)
            if block.ndim != 2 or block.shape[0] != n_channels:
                raise AudioError(f"received an audio block of shape {block.shape}; expected ({n_channels}, samples)")
            check_samples(block, first=pending.end, sample_rate=sample_rate)
            pending.push(block)
            model_audio.push(down(block))
            while layout.core_samples is not None and model_audio.end >= core_start + layout.core_samples + layout.after_samples:
                collect(workers - 1)
                submit_core(core_start + layout.core_samples, final=False)
            collect(workers)
            yield from ready(final=False)
        model_audio.push(down.flush())
        n_model = model_audio.end
        while core_start < n_model:
            stop = n_model if layout.core_samples is None else min(n_model, core_start + layout.core_samples)
            collect(workers - 1)
            submit_core(stop, final=True)
            collect(workers)
            yield from ready(final=False)
        collect(0)
        yield from ready(final=False)
        for stem in estimated:  # a sample more is cut, one less padded (ready(final=True))
            outputs[stem].push(ups[stem].flush())
        yield from ready(final=True)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def write_stream(stems: Iterable[Mapping[str, np.ndarray]], writers: Mapping[str, Any]) -> int:
    """Write each block's stems into ``writers`` (``{stem: writer with write(block)}``; stems without one are dropped).

    Each stem is written on a thread of its own while the next block is separated (libsndfile
    and the encoders release the GIL): a 3-minute song's float WAV stems take a sixth of a warm
    ``fast`` run when written in turn on the separating thread. A stem holds at most one block
    in writing, so the order of its blocks and the memory bound are kept; a writer's error is
    raised here, at the next block or at the end. After the last block, a writer that has a
    ``finish()`` (``unmix.audio.AudioWriter``: flush and sync, or the encoder's end) is finished
    on the threads too, all at once, instead of one after another as the files close.

    Returns:
        The number of samples of each stem processed.
    """
    n = 0
    pending: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=max(1, len(writers)), thread_name_prefix="unmix-write") as executor:
        try:
            for block in stems:
                for job in pending:
                    job.result()
                pending = [executor.submit(writer.write, block[stem]) for stem, writer in writers.items()]
                n += next(iter(block.values())).shape[1]
            for job in pending:
                job.result()
            pending = [executor.submit(finish) for finish in (getattr(writer, "finish", None) for writer in writers.values()) if finish is not None]
            for job in pending:
                job.result()
        finally:
            for job in pending:
                job.cancel()
    return n
