"""separate_songs: song discovery, naming, per-song failures, the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unmix import audio
from unmix.config.schema import TransformOptions
from unmix.dsp.stft import StftOptions
from unmix.errors import AudioError, ConfigurationError
from unmix.pipeline.representations import get_representation
from unmix.separation.batch import SeparationReport, find_songs, separate_songs
from unmix.separation.outputs import OutputSpec
from unmix.separation.separator import Separator

STFT = StftOptions(n_fft=256, hop_length=64)


def fake_separator() -> Separator:
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=16, step=16), stft=STFT)
    return Separator(lambda x: np.full_like(x, 0.5), representation=representation, stft_options=STFT, sample_rate=8000, n_channels=2, batch_size=4)


def write_song(path: Path, *, seconds: float = 0.5, sample_rate: int = 8000, n_channels: int = 2) -> Path:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    samples = np.stack([0.3 * np.sin(2 * np.pi * 330 * t + k) for k in range(n_channels)]).astype(np.float32)
    audio.save(path, samples, sample_rate)
    return path


def command(*, output, songs=(), folders=(), youtube=(), stems=("vocals", "instrumental"), show_progress=False, downloader=None):
    spec = OutputSpec(folder=output, stems=stems)
    return separate_songs(fake_separator(), spec, songs=songs, folders=folders, youtube=youtube, show_progress=show_progress, downloader=downloader)


def test_report_summary_lines():
    report = SeparationReport(done=[("a.wav", {"vocals": Path("out/a/vocals.wav")})], failed=[("b.wav", "corrupt")], audio_seconds=30.0, wall_seconds=2.0)
    lines = report.summary_lines()
    assert lines[0] == "a.wav: vocals out/a/vocals.wav"
    assert lines[1] == "1 of 2 songs failed: b.wav"
    assert lines[-1] == "separated 1 song (30.0 s of audio) in 2.0 s: 15.0x real time"
    assert report.real_time_factor == 15.0


def test_find_songs_is_recursive_and_takes_every_decodable_extension(tmp_path):
    write_song(tmp_path / "a.wav")
    write_song(tmp_path / "deep" / "deeper" / "b.flac")
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "c.M4A").write_bytes(b"x")
    assert [p.name for p in find_songs(tmp_path)] == ["a.wav", "c.M4A", "b.flac"]
    with pytest.raises(AudioError, match="song folder not found"):
        find_songs(tmp_path / "missing")


def test_one_corrupt_song_does_not_stop_the_others(tmp_path, caplog):
    folder = tmp_path / "songs"
    write_song(folder / "good.wav")
    write_song(folder / "sub" / "also good.flac", n_channels=1)
    (folder / "corrupt.wav").write_bytes(b"RIFF this is not a wav file at all")
    report = command(folders=[folder], output=tmp_path / "out")
    assert [song for song, _ in report.failed] == [str(folder / "corrupt.wav")]
    assert sorted(Path(song).name for song, _ in report.done) == ["also good.flac", "good.wav"]
    assert (tmp_path / "out" / "also good" / "vocals.wav").is_file()
    assert report.audio_seconds == pytest.approx(1.0)
    assert "corrupt.wav" in report.summary_lines()[-2]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "corrupt.wav" in errors[0].getMessage()


def test_songs_with_the_same_name_do_not_overwrite_each_other(tmp_path):
    first = write_song(tmp_path / "a" / "song.wav")
    second = write_song(tmp_path / "b" / "song.wav")
    report = command(songs=[first, second], output=tmp_path / "out")
    assert [paths["vocals"].parent.name for _, paths in report.done] == ["song", "song-2"]


def test_a_song_given_as_a_folder_is_searched(tmp_path):
    write_song(tmp_path / "in" / "x.wav")
    report = command(songs=[tmp_path / "in"], output=tmp_path / "out", stems=("vocals",))
    assert report.done[0][1] == {"vocals": tmp_path / "out" / "x" / "vocals.wav"}


def test_missing_song_and_folder_are_failures(tmp_path):
    report = command(songs=[tmp_path / "nope.wav"], folders=[tmp_path / "nothing"], output=tmp_path)
    assert [song for song, _ in report.failed] == [str(tmp_path / "nope.wav"), str(tmp_path / "nothing")]


def test_youtube_downloads_into_a_temporary_folder(tmp_path):
    seen = []

    def downloader(url, directory):
        seen.append(directory)
        return write_song(directory / "Artist - Title [abc].wav")

    def offline(url, directory):
        raise OSError("Temporary failure in name resolution")

    report = command(youtube=["https://youtu.be/abc"], output=tmp_path / "out", downloader=downloader)
    assert report.done[0][0] == "https://youtu.be/abc"
    assert (tmp_path / "out" / "Artist - Title [abc]" / "vocals.wav").is_file()
    assert not seen[0].exists()  # the temporary folder is gone
    report = command(youtube=["https://youtu.be/x"], output=tmp_path / "out", downloader=offline)
    assert report.failed[0][0] == "https://youtu.be/x" and "could not download" in report.failed[0][1]


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    song = write_song(tmp_path / "long.wav", seconds=3.0)
    command(songs=[song], output=tmp_path / "out", show_progress=True)
    captured = capsys.readouterr()
    assert "long" in captured.err and captured.out == ""
