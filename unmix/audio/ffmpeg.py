"""Decode and encode through the ffmpeg and ffprobe binaries (subprocesses).

Everything libsndfile cannot read (m4a, aac, mp4, webm, opus and each stream of a
``.stem.mp4``) is decoded here to 32-bit float at the file's own rate; resampling is
left to soxr so that both decoders resample identically. AAC encoder priming is
decoded as ffmpeg returns it, on purpose: it is what every other MUSDB tool reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from unmix.errors import AudioError

# Binary names, read at call time so tests can point them at a missing program.
FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

MISSING_MESSAGE = (
    "ffmpeg is not installed or not on PATH: install it "
    "(Debian/Ubuntu: sudo apt-get install -y ffmpeg; macOS: brew install ffmpeg) and retry"
)
_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]


@dataclass(frozen=True)
class Stream:
    """One audio stream as ffprobe reports it (`n_samples` is estimated from the duration)."""

    sample_rate: int
    n_channels: int
    n_samples: int


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise AudioError(MISSING_MESSAGE)
    return found


def _last_line(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no error message"


def probe(path: Path) -> list[Stream]:
    """List the audio streams of a file with ffprobe (video and cover-art streams are not counted).

    Raises:
        AudioError: when ffprobe is missing, cannot read the file, or finds no audio stream.
    """
    command = [
        _binary(FFPROBE), "-v", "error", "-select_streams", "a",
        "-show_entries", "stream=sample_rate,channels,duration:format=duration", "-of", "json", str(path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        reason = _last_line(result.stderr)
        raise AudioError(f"could not read {path}: {reason}; the file is corrupt, truncated or not audio")
    try:
        report = json.loads(result.stdout or b"{}")
        format_duration = float(report.get("format", {}).get("duration", 0.0) or 0.0)
        streams = []
        for entry in report.get("streams", []):
            rate = int(entry["sample_rate"])
            duration = float(entry.get("duration", format_duration) or format_duration)
            streams.append(Stream(rate, int(entry["channels"]), int(round(duration * rate))))
    except (ValueError, KeyError, TypeError) as error:
        reason = f"ffprobe reported {error!r}"
        raise AudioError(f"could not read {path}: {reason}; the file is corrupt or not audio") from error
    if not streams:
        raise AudioError(f"could not read {path}: it holds no audio stream")
    return streams


def _decode_command(path: Path, stream: int, info: Stream, trim: str | None) -> list[str]:
    command = [_binary(FFMPEG), *_QUIET, "-i", str(path), "-map", f"0:a:{stream}", "-vn"]
    if trim:
        command += ["-af", trim]
    # -ac/-ar equal the probed values, so they convert nothing; they only guarantee the
    # raw stream has exactly the layout we reshape it with.
    command += ["-ac", str(info.n_channels), "-ar", str(info.sample_rate), "-f", "f32le", "-acodec", "pcm_f32le", "-"]
    return command


def decode(path: Path, *, stream: int, info: Stream, start: int, n_samples: int | None) -> np.ndarray:
    """Decode one audio stream (or a sample-exact part of it) at its own rate.

    Args:
        path: the file.
        stream: index among the file's audio streams (`-map 0:a:<stream>`).
        info: that stream's probe result.
        start: first sample to return, at the stream's rate.
        n_samples: how many samples; None decodes to the end.

    Returns:
        float32 `(channels, samples)`.

    Raises:
        AudioError: when ffmpeg is missing or fails on the file.
    """
    trim = None
    if start or n_samples is not None:
        trim = f"atrim=start_sample={start}" + ("" if n_samples is None else f":end_sample={start + n_samples}")
    result = subprocess.run(_decode_command(path, stream, info, trim), capture_output=True, check=False)
    if result.returncode != 0:
        raise AudioError(f"could not decode {path} with ffmpeg: {_last_line(result.stderr)}")
    frames = np.frombuffer(result.stdout, dtype="<f4")
    usable = len(frames) - len(frames) % info.n_channels
    return np.ascontiguousarray(frames[:usable].reshape(-1, info.n_channels).T, dtype=np.float32)


def decode_blocks(path: Path, *, stream: int, info: Stream, block_samples: int) -> Iterator[np.ndarray]:
    """Decode one audio stream incrementally from ffmpeg's stdout, one block in memory at a time.

    Args:
        path: the file.
        stream: index among the file's audio streams.
        info: that stream's probe result.
        block_samples: samples per block at the stream's rate.

    Returns:
        An iterator of float32 `(channels, n)` blocks.

    Raises:
        AudioError: when ffmpeg is missing or fails (raised on iteration).
    """
    command = _decode_command(path, stream, info, None)
    block_bytes = block_samples * info.n_channels * 4
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL)
        assert process.stdout is not None
        try:
            while True:
                chunk = process.stdout.read(block_bytes)
                if not chunk:
                    break
                frames = np.frombuffer(chunk, dtype="<f4")
                usable = len(frames) - len(frames) % info.n_channels
                yield np.ascontiguousarray(frames[:usable].reshape(-1, info.n_channels).T, dtype=np.float32)
            if process.wait() != 0:
                errors.seek(0)
                raise AudioError(f"could not decode {path} with ffmpeg: {_last_line(errors.read())}")
        finally:
            # Reached early when the consumer stops iterating: do not leave ffmpeg running.
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()


#: The sample rates of MPEG audio layer III (MPEG-1, 2 and 2.5) and its most channels.
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MP3_MAX_CHANNELS = 2


def mp3_layout(sample_rate: int, n_channels: int) -> tuple[int, int]:
    """The sample rate (Hz) and channel count an MP3 holds of audio with these.

    The input's where MP3 has them; otherwise the lowest MP3 rate above the input's (48000 Hz
    at most: 96 kHz becomes 48 kHz) and stereo for more than two channels.
    """
    rate = sample_rate if sample_rate in MP3_SAMPLE_RATES else next((r for r in MP3_SAMPLE_RATES if r > sample_rate), MP3_SAMPLE_RATES[-1])
    return rate, min(n_channels, MP3_MAX_CHANNELS)


class Mp3Writer:
    """Pipes float32 frames into an ffmpeg process that encodes MP3 (libmp3lame, 320 kbit/s).

    Audio MP3 cannot hold is converted as ``mp3_layout`` says, by ffmpeg and on purpose: its
    default 5.1 downmix adds the centre and the surrounds to each side and took a 0.94 peak to
    1.8, so ``rematrix_maxval 1.0`` scales the downmix to stay within full scale.
    """

    def __init__(self, path: Path, *, sample_rate: int, n_channels: int, target: Path) -> None:
        self._target = target
        rate, channels = mp3_layout(sample_rate, n_channels)
        downmix = ["-rematrix_maxval", "1.0"] if channels < n_channels else []
        command = [
            _binary(FFMPEG), *_QUIET, "-y", "-f", "f32le", "-ar", str(sample_rate), "-ac", str(n_channels),
            "-i", "pipe:0", "-vn", "-ar", str(rate), "-ac", str(channels), *downmix,
            "-c:a", "libmp3lame", "-b:a", "320k", "-f", "mp3", str(path),
        ]  # fmt: skip
        self._errors: IO[bytes] = tempfile.TemporaryFile()
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._errors)

    def _failure(self) -> AudioError:
        self._process.wait()
        self._errors.seek(0)
        return AudioError(f"could not write {self._target} with ffmpeg: {_last_line(self._errors.read())}")

    def write(self, frames: np.ndarray) -> None:
        """Append float32 `(samples, channels)` frames."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(np.ascontiguousarray(frames, dtype="<f4").tobytes())
        except (BrokenPipeError, OSError) as error:
            raise self._failure() from error

    def finish(self) -> None:
        """End the input and wait for ffmpeg to encode the rest; :meth:`close` then says whether it failed."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self._process.wait()

    def close(self) -> None:
        """Finish encoding (unless :meth:`finish` did) and wait for ffmpeg.

        Raises:
            AudioError: when ffmpeg failed (a full disk, say).
        """
        try:
            self.finish()
            if self._process.returncode != 0:
                raise self._failure()
        finally:
            self._errors.close()

    def abort(self) -> None:
        """Stop ffmpeg without finishing the file; the caller deletes it."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        self._errors.close()
