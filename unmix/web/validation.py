"""Checks on an upload: is it audio (by decoding, not by its name), and a safe display name.

The stored file's extension only routes it to a decoder (``unmix.audio`` picks libsndfile or
ffmpeg by extension), so it is chosen by the server: from the file's first bytes for the
formats libsndfile reads, else an ffmpeg extension, and ffmpeg then recognises the container
from its content whatever it is called. The uploader's name never reaches a path.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from unmix import audio
from unmix.errors import AudioError, UnmixError

MAX_NAME_LENGTH = 120
# Seconds decoded from the start to tell a corrupt file from a good one (a header alone can lie).
PROBE_SECONDS = 5.0
# ffmpeg identifies the container from its bytes; this extension only sends the file to it.
FFMPEG_EXTENSION = ".m4a"


class UploadRejected(UnmixError):
    """An upload the server refuses; ``status`` is the HTTP status to answer with (4xx).

    Args:
        message: one line for the page, saying what is wrong and what to do.
        status: 400 bad request, 413 too large, 415 not audio, 422 corrupt.
    """

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def display_name(name: str | None) -> str:
    """The uploader's file name made safe to show: no folders, control characters or excess length.

    Only ever used as text (JSON and the download's suggested name), never as a path.
    """
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(text) > MAX_NAME_LENGTH:
        stem, dot, suffix = text.rpartition(".")
        text = (stem[: MAX_NAME_LENGTH - len(suffix) - 1] + dot + suffix) if dot and len(suffix) <= 8 else text[:MAX_NAME_LENGTH]
    return text or "song"


def sniff_extension(head: bytes) -> str | None:
    """The libsndfile extension of a file from its first 12 bytes, or None (left to ffmpeg)."""
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64"):
        return ".wav"
    if head[:4] == b"RF64":
        return ".wav"
    if head[:4] == b"fLaC":
        return ".flac"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return ".aiff"
    if head[:4] == b"OggS":
        return ".ogg"
    # An MPEG audio frame: 11 sync bits, then a layer that is never 00 (00 is AAC's ADTS, for ffmpeg).
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return ".mp3"
    return None


def check_audio(path: Path) -> audio.AudioInfo:
    """Decode the start of a received file and describe it.

    Args:
        path: the upload on disk, named by :func:`stored_path`.

    Returns:
        Its :class:`unmix.audio.AudioInfo`.

    Raises:
        UploadRejected: empty (400), not audio (415), or audio that does not decode (422).
    """
    size = path.stat().st_size
    if size == 0:
        raise UploadRejected("the file is empty (0 bytes); choose an audio file", status=400)
    with path.open("rb") as handle:
        recognised = sniff_extension(handle.read(12))
    try:
        details = audio.info(path)
        if details.n_samples <= 0 or details.duration_s <= 0:
            raise AudioError(f"{path.name} holds no audio samples")
        # Where the audio layer reads the length the header declares (WAV), a shorter file was cut off.
        declared = details.declared_samples
        if declared is not None and declared > details.n_samples:
            raise AudioError(f"{path.name} declares {declared} samples but holds {details.n_samples}")
        samples, _ = audio.load(path, duration_s=min(PROBE_SECONDS, details.duration_s))
        if samples.shape[1] == 0:
            raise AudioError(f"{path.name} decodes to no samples")
    except AudioError as error:
        if recognised is None:
            raise UploadRejected("this file is not audio that unmix can decode; choose a song (wav, flac, mp3, ogg, m4a, ...)", status=415) from error
        kind = recognised.lstrip(".").upper()
        raise UploadRejected(f"this {kind} file is corrupt or truncated and cannot be decoded; export or download it again", status=422) from error
    return details


def stored_path(folder: Path, head: bytes) -> Path:
    """Where an upload is kept: ``input`` plus the extension its first bytes call for."""
    return folder / ("input" + (sniff_extension(head) or FFMPEG_EXTENSION))
