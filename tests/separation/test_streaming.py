"""Streaming: block-wise separation equals whole-input separation; files are written incrementally and atomically."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from unmix import audio
from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.errors import AudioError, ConfigurationError
from unmix.pipeline.representations import get_representation
from unmix.separation.kernel import Kernel
from unmix.separation.streaming import block_layout, write_stream
from unmix.separation.separator import Separator

MODEL_RATE = 8000
STFT = StftOptions(n_fft=256, hop_length=64)


def soft(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(4.0 * x - 1.0)))


def make_separator(*, block_seconds, n_channels: int = 2, overlap: float = 0.5, size: int = 16, normalizer: str = "norm_max") -> Separator:
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=size, step=size, normalizer=normalizer), stft=STFT)
    return Separator(soft, representation=representation, stft_options=STFT, sample_rate=MODEL_RATE, n_channels=n_channels, batch_size=5, overlap=overlap, block_seconds=block_seconds)


def noise(rng: np.random.Generator, n_channels: int, n_samples: int) -> np.ndarray:
    # Noise with a slow envelope, so that every window's norm_max factor differs.
    envelope = 0.05 + np.abs(np.sin(np.linspace(0, 7, n_samples)))
    return (0.2 * envelope * rng.standard_normal((n_channels, n_samples))).astype(np.float32)


def test_block_layout_is_on_the_frame_and_window_grid():
    layout = block_layout(n_fft=1536, hop_length=384, size=64, step=32, sample_rate=44100, block_seconds=30.0)
    unit = 384 * 32
    assert layout.core_samples % unit == 0 and layout.core_samples >= 30 * 44100
    assert layout.window_frames_before % 32 == 0 and layout.window_frames_after % 32 == 0
    assert layout.context_frames == 2  # n_fft / 2 = 2 hops
    assert layout.window_frames_before >= 64 - 32 and layout.window_frames_after >= 64  # every window reaching the core
    assert block_layout(n_fft=256, hop_length=64, size=16, step=8, sample_rate=8000, block_seconds=None).core_samples is None


def test_a_core_holds_at_least_eight_windows():
    """Spleeter-like windows (512 frames, no overlap): the context is one window each side, the core eight."""
    layout = block_layout(n_fft=4096, hop_length=1024, size=512, step=512, sample_rate=44100, block_seconds=30.0)
    assert layout.core_samples == 8 * 512 * 1024
    assert (layout.window_frames_before, layout.window_frames_after, layout.context_frames) == (512, 512, 2)


def test_no_overlap_block_wise_equals_whole(rng):
    samples = noise(rng, 2, 8000 * 9 + 5)
    whole = make_separator(block_seconds=None, overlap=0.0).separate(samples, 8000)
    blocked = make_separator(block_seconds=0.5, overlap=0.0).separate(samples, 8000)
    for stem in whole:
        np.testing.assert_allclose(blocked[stem], whole[stem], atol=1e-5)


@pytest.mark.parametrize(
    ("sample_rate", "n_channels", "overlap", "n_samples"),
    [(8000, 2, 0.5, 8000 * 7 + 123), (8000, 1, 0.75, 8000 * 5 + 1), (22050, 2, 0.5, 22050 * 6 + 17), (44100, 6, 0.0, 44100 * 4 + 5)],
)
def test_block_wise_equals_whole(rng, sample_rate, n_channels, overlap, n_samples):
    samples = noise(rng, n_channels, n_samples)
    whole = make_separator(block_seconds=None, overlap=overlap).separate(samples, sample_rate)
    blocked = make_separator(block_seconds=0.7, overlap=overlap).separate(samples, sample_rate)
    np.testing.assert_allclose(blocked["vocals"], whole["vocals"], atol=1e-5)
    np.testing.assert_allclose(blocked["instrumental"], whole["instrumental"], atol=1e-5)


def test_block_wise_equals_whole_for_input_blocks_of_any_size(rng):
    samples = noise(rng, 2, 8000 * 4 + 99)
    whole = make_separator(block_seconds=None).separate(samples, 16000)
    separator = make_separator(block_seconds=0.5)
    cuts = np.cumsum(rng.integers(1, 3000, size=200))
    pieces = np.split(samples, cuts[cuts < samples.shape[1]], axis=1)
    out = list(separator.stream(pieces, sample_rate=16000, n_channels=2))
    assert all(set(block) == {"vocals", "instrumental"} for block in out)
    vocals = np.concatenate([block["vocals"] for block in out], axis=1)
    instrumental = np.concatenate([block["instrumental"] for block in out], axis=1)
    assert vocals.shape == samples.shape
    np.testing.assert_allclose(vocals, whole["vocals"], atol=1e-5)
    np.testing.assert_allclose(vocals + instrumental, samples, atol=1e-6)


def test_blocks_hold_bounded_memory(rng):
    """The stream yields output long before the input ends: nothing waits for the whole song."""
    separator = make_separator(block_seconds=0.5)
    consumed = []

    def source():
        for _ in range(100):
            consumed.append(1)
            yield noise(rng, 2, 800)  # 0.1 s each

    stream = separator.stream(source(), sample_rate=MODEL_RATE, n_channels=2)
    next(stream)
    assert len(consumed) < 40  # a core of 1 s, its context and a second block in flight: not the 10 s


class CollectingWriter:
    def __init__(self):
        self.blocks = []

    def write(self, block):
        self.blocks.append(np.array(block))


def test_write_stream_writes_only_the_requested_stems(rng):
    samples = noise(rng, 2, 9000)
    writers = {"vocals": CollectingWriter()}
    n = write_stream(make_separator(block_seconds=0.3).stream(iter([samples]), sample_rate=MODEL_RATE, n_channels=2), writers)
    assert n == 9000
    assert np.concatenate(writers["vocals"].blocks, axis=1).shape == samples.shape


class SlowWriter(CollectingWriter):
    """Takes its time and records which thread wrote, and whether its blocks ever overlapped."""

    def __init__(self, seconds: float, fail_at: int | None = None):
        super().__init__()
        self.seconds, self.fail_at, self.threads, self.busy, self.overlapped = seconds, fail_at, set(), False, False

    def write(self, block):
        import threading
        import time

        self.overlapped |= self.busy
        self.busy = True
        self.threads.add(threading.get_ident())
        time.sleep(self.seconds)
        self.busy = False
        if self.fail_at is not None and len(self.blocks) == self.fail_at:
            raise AudioError("disk gone")
        super().write(block)


def test_write_stream_writes_each_stem_on_a_thread_in_block_order():
    import threading

    blocks = [{"vocals": np.full((2, 3), i, np.float32), "instrumental": np.full((2, 3), -i, np.float32)} for i in range(5)]
    writers = {"vocals": SlowWriter(0.01), "instrumental": SlowWriter(0.02)}
    assert write_stream(iter(blocks), writers) == 15
    for stem, sign in (("vocals", 1), ("instrumental", -1)):
        writer = writers[stem]
        assert [float(b[0, 0]) for b in writer.blocks] == [sign * i for i in range(5)]
        assert threading.get_ident() not in writer.threads and not writer.overlapped


class FinishingWriter(SlowWriter):
    """Records when and on which thread it was finished."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.finished = []  # (thread, blocks written by then)

    def finish(self):
        import threading

        self.finished.append((threading.get_ident(), len(self.blocks)))


def test_write_stream_finishes_each_writer_once_after_its_last_block_on_a_thread():
    import threading

    blocks = [{"vocals": np.zeros((2, 3), np.float32), "instrumental": np.zeros((2, 3), np.float32)} for _ in range(4)]
    writers = {"vocals": FinishingWriter(0.01), "instrumental": FinishingWriter(0.03)}
    assert write_stream(iter(blocks), writers) == 12
    for writer in writers.values():
        ((thread, written),) = writer.finished
        assert written == 4 and thread != threading.get_ident()


def test_a_writer_error_stops_write_stream_and_is_raised():
    taken = []

    def blocks():
        for i in range(6):
            taken.append(i)
            yield {"vocals": np.zeros((1, 4), np.float32)}

    writer = SlowWriter(0.0, fail_at=2)
    with pytest.raises(AudioError, match="disk gone"):
        write_stream(blocks(), {"vocals": writer})
    assert len(writer.blocks) == 2 and len(taken) <= 4


def test_a_block_of_the_wrong_shape_is_an_audio_error(rng):
    with pytest.raises(AudioError, match=r"expected \(2, samples\)"):
        list(make_separator(block_seconds=1.0).stream(iter([noise(rng, 1, 100)]), sample_rate=MODEL_RATE, n_channels=2))


def test_separate_file_writes_at_the_input_rate_and_channels(tmp_path, rng):
    samples = noise(rng, 2, 22050 * 3 + 7)
    song = tmp_path / "in" / "My Song.wav"
    audio.save(song, samples, 22050)
    separator = make_separator(block_seconds=0.5)
    written = separator.separate_file(song, tmp_path / "out")
    assert written == {"vocals": tmp_path / "out" / "My Song" / "vocals.wav", "instrumental": tmp_path / "out" / "My Song" / "instrumental.wav"}
    expected = make_separator(block_seconds=None).separate(samples, 22050)
    for stem, path in written.items():
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
        assert rate == 22050 and data.shape == samples.T.shape
        np.testing.assert_allclose(data.T, expected[stem], atol=1e-5)


def test_separate_file_formats_and_templates(tmp_path, rng):
    song = tmp_path / "song.flac"
    audio.save(song, noise(rng, 1, 8000), 8000)
    separator = make_separator(block_seconds=None)
    written = separator.separate_file(song, tmp_path, file_format="flac", filename="{stem}-{song}.{ext}", stems=("vocals",))
    assert written == {"vocals": tmp_path / "vocals-song.flac"}
    assert soundfile.info(written["vocals"]).channels == 1
    with pytest.raises(ConfigurationError, match="no {stem}"):
        separator.separate_file(song, tmp_path, filename="{song}.{ext}")
    with pytest.raises(ConfigurationError, match="unknown field {title}"):
        separator.separate_file(song, tmp_path, filename="{title}/{stem}.{ext}")


def test_a_failure_leaves_no_partial_outputs(tmp_path, rng, monkeypatch):
    song = tmp_path / "song.wav"
    audio.save(song, noise(rng, 2, 8000 * 3), 8000)
    separator = make_separator(block_seconds=0.5)
    calls = []
    original = Kernel.__call__

    def failing(kernel, segment, **options):
        calls.append(1)
        if len(calls) == 3:
            raise AudioError("boom")
        return original(kernel, segment, **options)

    monkeypatch.setattr(Kernel, "__call__", failing)
    with pytest.raises(AudioError, match="boom"):
        separator.separate_file(song, tmp_path / "out")
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []
