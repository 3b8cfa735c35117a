"""libmpg123 writes its notes to descriptor 2; the user sees one warning per damaged file instead."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix import audio
from unmix.audio import native
from unmix.audio.decoder_noise import Capture, muted, split_decoder_lines

RATE = 44100


@pytest.fixture
def mp3(tmp_path: Path) -> Path:
    wav = tmp_path / "source.wav"
    t = np.arange(4 * RATE) / RATE
    soundfile.write(wav, np.stack([np.sin(2 * np.pi * 440 * t)] * 2).T * 0.3, RATE, subtype="PCM_16")
    song = tmp_path / "song.mp3"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(song)], check=True)
    return song


def damaged(song: Path) -> Path:
    data = bytearray(song.read_bytes())
    data[5000:7000] = np.random.default_rng(3).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    out = song.with_name("damaged.mp3")
    out.write_bytes(bytes(data))
    return out


def cut(song: Path) -> Path:
    out = song.with_name("cut.mp3")
    out.write_bytes(song.read_bytes()[: song.stat().st_size // 3])
    return out


def test_a_damaged_mp3_gives_one_warning_and_no_decoder_lines(mp3, capfd, caplog):
    song = damaged(mp3)
    with caplog.at_level(logging.WARNING):
        samples, _ = audio.load(song)
        blocks = list(native.blocks(song, block_samples=1024))
    err = capfd.readouterr().err
    assert "Illegal Audio-MPEG-Header" not in err and "Note:" not in err
    assert samples.shape[-1] > 0 and sum(b.shape[1] for b in blocks) > 0
    warnings = [r.getMessage() for r in caplog.records if "MP3 decoder skipped damaged data" in r.getMessage()]
    assert len(warnings) == 2  # one for load(), one for the block reader (not one per block)
    assert all(str(song) in w and "Illegal Audio-MPEG-Header" in w for w in warnings)


def test_a_cut_mp3_leaves_the_xing_note_to_the_truncation_warning(mp3, capfd, caplog):
    song = cut(mp3)
    with caplog.at_level(logging.WARNING):
        list(native.blocks(song, block_samples=4096))
    assert "Xing" not in capfd.readouterr().err
    assert not [r for r in caplog.records if "MP3 decoder" in r.getMessage()]


def test_a_whole_mp3_is_silent(mp3, capfd, caplog):
    with caplog.at_level(logging.DEBUG):
        audio.load(mp3)
    assert capfd.readouterr().err == ""
    assert not [r for r in caplog.records if "MP3 decoder" in r.getMessage()]


def test_other_writers_to_descriptor_2_are_passed_on(tmp_path, capfd):
    capture = Capture(tmp_path / "x.mp3")
    with muted(capture):
        os.write(2, b"progress 50%\rNote: Trying to resync...\nWarning: Xing stream size off\n")
    err = capfd.readouterr().err
    assert err == "progress 50%\r"
    assert capture.lines == ["Note: Trying to resync...", "Warning: Xing stream size off"]
    assert capture.damage() == "Trying to resync"


def test_only_mp3_calls_are_redirected(tmp_path, capfd):
    with muted(Capture(tmp_path / "x.wav")):
        os.write(2, b"Note: kept\n")
    assert capfd.readouterr().err == "Note: kept\n"


def test_decoder_lines_are_recognised():
    decoder, other = split_decoder_lines("Note: a\nhello\nWarning: b\n[src/libmpg123/x.c:1] error: c\n")
    assert decoder == ["Note: a", "Warning: b", "[src/libmpg123/x.c:1] error: c"]
    assert other == "hello\n"
