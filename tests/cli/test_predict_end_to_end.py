"""predict.py end to end through ``unmix.cli.predict.main`` with a tiny dummy model in a run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix import audio
from unmix.cli.predict import main

pytestmark = pytest.mark.slow

MODEL_RATE = 8000
TINY_CONFIGURATION = {
    "environment": {"name": "tiny"},
    "collection": {"sample_rate": MODEL_RATE, "stereo": True},
    "transformation": {
        "name": "train_window_predict_mask", "fft_window": 256, "hop_length": 64,
        "options": {"size": 16, "step": 16, "normalizer": "norm_max"},
    },
    "training": {"batch_size": 2, "model": {"name": "dummy", "options": {}}},
}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory, dummy_run) -> Path:
    """A run folder holding the resolved configuration and seeded weights of the dummy model."""
    folder = tmp_path_factory.mktemp("runs") / "20240101-000000-tiny"
    run, _ = dummy_run(folder, TINY_CONFIGURATION, weights_file="callback_weights_02.weights.h5", seed=3)
    return run.path


def song(path: Path, *, seconds: float = 1.0, sample_rate: int = 16000, n_channels: int = 2) -> Path:
    rng = np.random.default_rng(len(path.name))
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    samples = np.stack([tone + 0.05 * rng.standard_normal(t.size) for _ in range(n_channels)]).astype(np.float32)
    audio.save(path, samples, sample_rate)
    return path


def read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return data.T, rate


def test_run_folder_from_another_working_directory(run, tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "configurations").mkdir()  # a working directory's configurations must not be merged in
    (elsewhere / "configurations" / "master.jsonc").write_text('{"collection": {"sample_rate": 11025}}')
    input_path = song(elsewhere / "My Song.wav", seconds=1.3, sample_rate=22050)
    monkeypatch.chdir(elsewhere)
    assert main(["--run_folder", str(run), "--song", "My Song.wav"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("separated 1 song (1.3 s of audio)") and out[-1].endswith("x real time")
    mix, _ = read(input_path)
    vocals, rate = read(run / "predictions" / "My Song" / "vocals.wav")
    instrumental, _ = read(run / "predictions" / "My Song" / "instrumental.wav")
    assert rate == 22050 and vocals.shape == mix.shape
    np.testing.assert_allclose(vocals + instrumental, mix, atol=1e-6)


def test_api_and_cli_give_identical_outputs(run, tmp_path):
    from unmix import Separator

    input_path = song(tmp_path / "s.wav", seconds=2.1, sample_rate=44100)
    assert main(["--run_folder", str(run), "--song", str(input_path), "--output", str(tmp_path / "out")]) == 0
    mix, rate = read(input_path)
    stems = Separator.from_run_folder(run).separate(mix, rate)
    for stem in ("vocals", "instrumental"):
        written, written_rate = read(tmp_path / "out" / "s" / f"{stem}.wav")
        assert written_rate == 44100
        np.testing.assert_allclose(written, stems[stem], atol=1e-6)


def test_weights_and_configuration_write_to_the_working_directory(run, tmp_path):
    input_path = song(tmp_path / "mono.flac", n_channels=1, sample_rate=8000)
    work = tmp_path / "work"
    argv = [
        "--weights", str(run / "weights" / "callback_weights_02.weights.h5"), "--configuration", str(run / "configuration.jsonc"),
        "--workingdir", str(work), "--sample_rate", "8000", "--song", str(input_path), "--batch_size", "3", "--overlap", "0.75",
    ]  # fmt: skip
    assert main(argv) == 0
    vocals, rate = read(work / "mono" / "vocals.wav")
    assert rate == 8000 and vocals.shape == (1, 8000)


def test_songs_folder_with_a_corrupt_file(run, tmp_path, capsys):
    folder = tmp_path / "songs"
    song(folder / "one.wav")
    song(folder / "nested" / "two.mp3", sample_rate=44100)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    assert main(["--run_folder", str(run), "--songs", str(folder), "--output", str(tmp_path / "out"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert (tmp_path / "out" / "one" / "vocals.wav").is_file()
    assert (tmp_path / "out" / "two" / "instrumental.wav").is_file()
    assert "1 of 3 songs failed: " + str(folder / "broken.wav") in captured.out
    error_lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "broken.wav" in error_lines[0]


@pytest.mark.parametrize("file_format", ["flac", "mp3"])
def test_formats(run, tmp_path, file_format):
    input_path = song(tmp_path / "s.wav", sample_rate=44100)
    assert main(["--run_folder", str(run), "--song", str(input_path), "--output", str(tmp_path), "--format", file_format]) == 0
    for stem in ("vocals", "instrumental"):
        written = tmp_path / "s" / f"{stem}.{file_format}"
        details = audio.info(written)
        assert details.sample_rate == 44100 and details.n_channels == 2
        assert abs(details.duration_s - 1.0) < 0.06


def test_stems_filename_template_and_options(run, tmp_path):
    input_path = song(tmp_path / "s.wav")
    argv = [
        "--run_folder", str(run), "--song", str(input_path), "--output", str(tmp_path / "o"), "--stems", "vocals",
        "--filename", "{stem}s/{song}.{ext}", "--wiener", "1", "--cpu",
    ]  # fmt: skip
    assert main(argv) == 0
    assert [p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*.wav")] == ["vocalss/s.wav"]


def test_youtube(run, tmp_path, monkeypatch, capsys):
    from unmix.audio import youtube

    def fake(url, directory):
        return song(Path(directory) / "Downloaded [id].wav")

    monkeypatch.setattr(youtube, "_yt_dlp_download", fake)
    assert main(["--run_folder", str(run), "--youtube", "https://www.youtube.com/watch?v=id", "--output", str(tmp_path)]) == 0
    assert (tmp_path / "Downloaded [id]" / "vocals.wav").is_file()

    def offline(url, directory):
        raise RuntimeError("ERROR: [youtube] id: Unable to download webpage: <urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(youtube, "_yt_dlp_download", offline)
    capsys.readouterr()
    assert main(["--run_folder", str(run), "--youtube", "https://www.youtube.com/watch?v=id", "--output", str(tmp_path)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "could not download" in line]
    assert len(errors) == 1


def test_usage_errors(run, tmp_path, capsys, monkeypatch):
    assert main(["--run_folder", str(run), "--song", "x.wav", "--stems", "drums"]) == 2
    assert main(["--run_folder", str(run), "--song", "x.wav", "--overlap", "1"]) == 2
    assert main(["--run_folder", str(tmp_path), "--song", "x.wav"]) == 2  # not a run folder
    assert "not a run folder" in capsys.readouterr().err
    from unmix.pretrained import catalog

    monkeypatch.setattr(catalog, "SHIPPED", tmp_path / "nothing-here")
    monkeypatch.setenv("UNMIX_MODELS_DIR", str(tmp_path / "no-models"))
    assert main(["--song", "x.wav"]) == 1  # no built-in default model in this installation
    assert "pass --run_folder RUN or --weights W --configuration C" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--song", "x.wav", "--weights", "w.weights.h5"])  # --weights needs --configuration


def test_missing_weights_is_exit_1(tmp_path, run, capsys):
    assert main(["--weights", str(tmp_path / "none.weights.h5"), "--configuration", str(run / "configuration.jsonc"), "--song", "x.wav"]) == 1
    assert "weights file not found" in capsys.readouterr().err
