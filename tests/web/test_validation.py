"""Display names and the decoder choice of an upload."""

from __future__ import annotations

import pytest

from tests.web.support import write_song
from unmix.web.validation import FFMPEG_EXTENSION, check_audio, display_name, sniff_extension, stored_path


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("My Song.mp3", "My Song.mp3"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\track.wav", "track.wav"),
        ("bad\x00name\x1b[31m.wav", "badname[31m.wav"),
        ("..", "song"),
        ("", "song"),
        (None, "song"),
        ("ünïcode ♫.flac", "ünïcode ♫.flac"),
        ("a" * 300 + ".flac", "a" * 115 + ".flac"),  # 120 characters, the extension kept
    ],
)
def test_display_names_keep_no_folders_or_control_characters(given, shown):
    assert display_name(given) == shown


def test_the_stored_extension_comes_from_the_content(tmp_path):
    for extension in (".wav", ".flac", ".mp3"):
        head = write_song(tmp_path / f"song{extension}").read_bytes()[:12]
        assert sniff_extension(head) == extension
        assert stored_path(tmp_path, head).name == f"input{extension}"
    assert sniff_extension(b"OggS\x00\x02") == ".ogg"
    assert sniff_extension(b"FORM\x00\x00\x10\x00AIFF") == ".aiff"
    assert sniff_extension(b"\xff\xf1\x50\x80") is None  # AAC in ADTS, which ffmpeg reads
    assert stored_path(tmp_path, b"\x00\x00\x00\x20ftypM4A ").name == "input" + FFMPEG_EXTENSION


def test_audio_that_only_ffmpeg_reads_is_accepted(tmp_path):
    import subprocess

    source = write_song(tmp_path / "song.wav", seconds=1.0)
    encoded = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-c:a", "aac", str(encoded)], check=True)
    target = stored_path(tmp_path / "job", encoded.read_bytes()[:12])
    target.parent.mkdir()
    target.write_bytes(encoded.read_bytes())
    assert check_audio(target).duration_s == pytest.approx(1.0, abs=0.1)


def test_a_wav_shorter_than_its_header_declares_is_corrupt(tmp_path, monkeypatch):
    """Where the audio layer reports the declared length (``declared_samples``), a cut-off file is refused."""
    import dataclasses

    from unmix import audio
    from unmix.web.validation import UploadRejected

    song = write_song(tmp_path / "input.wav", seconds=1.0)
    real = audio.info(song)
    cut = type("CutInfo", (), {**{f.name: getattr(real, f.name) for f in dataclasses.fields(real)}, "declared_samples": real.n_samples * 10})
    monkeypatch.setattr(audio, "info", lambda path: cut)
    with pytest.raises(UploadRejected, match="this WAV file is corrupt or truncated") as caught:
        check_audio(song)
    assert caught.value.status == 422
