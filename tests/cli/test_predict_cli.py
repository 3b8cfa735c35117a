"""predict.py: --help, the seed's flags, and each usage error's exit code (issue 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unmix.cli import predict
from unmix.cli.common import EXIT_USAGE
from unmix.errors import ConfigurationError
from unmix.separation.outputs import parse_stems

REPOSITORY = Path(__file__).resolve().parents[2]


# The variables whose mere presence changes an error path; "" counts as unset for both.
NEUTRALISED = {"UNMIX_COLLECTION_DIR", "UNMIX_CONFIGURATION_FILE"}


def clean_environ() -> dict[str, str]:
    """The current environment without UNMIX_* and with a developer's repository .env neutralised."""
    from dotenv import dotenv_values

    environ = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    if (REPOSITORY / ".env").is_file():
        environ.update({k: "" for k in dotenv_values(REPOSITORY / ".env") if k in NEUTRALISED})
    environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return environ


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "predict.py", *args], cwd=REPOSITORY, env=clean_environ(),
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(autouse=True)
def hermetic(hermetic_environment, monkeypatch: pytest.MonkeyPatch):
    """No UNMIX_* variables or developer .env; CUDA_VISIBLE_DEVICES restored, since --cpu writes it."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))


def error_line(text: str, prog: str = "predict.py") -> str:
    """argparse prints usage, then exactly one error line."""
    assert "Traceback" not in text
    errors = [line for line in text.strip().splitlines() if "error:" in line]
    assert len(errors) == 1, text
    assert errors[0] == text.strip().splitlines()[-1]
    assert errors[0].startswith(f"{prog}: error: ")
    return errors[0]


def test_help_lists_the_seed_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--configuration", "--workingdir", "--run_folder", "--weights", "--song", "--songs", "--youtube", "--sample_rate"):
        assert flag in out, flag


def test_seed_flags_parse() -> None:
    args = predict.build_parser().parse_args(
        ["--run_folder", "runs/x", "--song", "a.wav", "--song", "b.mp3", "--songs", "folder",
         "--youtube", "https://youtu.be/x", "--sample_rate", "22050", "--workingdir", "w"]
    )
    assert args.run_folder == "runs/x"
    assert args.song == ["a.wav", "b.mp3"] and args.songs == ["folder"] and args.youtube == ["https://youtu.be/x"]
    assert args.sample_rate == 22050 and isinstance(args.sample_rate, int)
    assert args.workingdir == "w"


def test_sample_rate_must_be_an_int(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(["--run_folder", "r", "--song", "a.wav", "--sample_rate", "44.1k"])
    assert caught.value.code == EXIT_USAGE
    assert "--sample_rate" in error_line(capsys.readouterr().err)


def test_nothing_to_separate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(["--run_folder", "runs/x"])
    assert caught.value.code == EXIT_USAGE
    line = error_line(capsys.readouterr().err)
    assert "nothing to separate" in line and "--song" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--weights", "w.weights.h5", "--song", "a.wav"], "--weights and --configuration go together"),
        (["--configuration", "c.jsonc", "--song", "a.wav"], "--weights and --configuration go together"),
        (["--run_folder", "r", "--weights", "w", "--configuration", "c", "--song", "a.wav"], "give one model: --run_folder and --weights were both given"),
        (["--run_folder", "r", "--song", "a.wav", "--format", "ogg"], "--format"),
        (["--run_folder", "r", "--song", "a.wav", "--bit_depth", "8"], "--bit_depth"),
    ],
)
def test_model_flag_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        predict.main(argv)
    assert caught.value.code == EXIT_USAGE
    assert message in error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stems", "drums"], "--stems: expected vocals and/or instrumental (each once), received 'drums'"),
        (["--stems", ","], "--stems: expected vocals and/or instrumental"),
        (["--overlap", "1.5"], "--overlap must be in [0, 1), received 1.5"),
        (["--overlap", "-0.1"], "--overlap must be in [0, 1)"),
        (["--batch_size", "0"], "--batch_size must be a whole number of windows from 1 to 4096, received 0"),
    ],
)
def test_option_errors_are_one_line_exit_2(extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = predict.main(["--run_folder", str(tmp_path), "--song", str(tmp_path / "a.wav"), *extra])
    assert code == EXIT_USAGE
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines


def test_parse_stems() -> None:
    assert parse_stems("vocals, instrumental") == ("vocals", "instrumental")
    assert parse_stems("instrumental") == ("instrumental",)
    with pytest.raises(ConfigurationError, match="--stems: expected vocals and/or instrumental \\(each once\\), received 'bass'"):
        parse_stems("bass")


# === The entry script, in a fresh interpreter ===
def test_script_help() -> None:
    result = run_script("--help")
    assert result.returncode == 0, result.stderr
    assert "--run_folder" in result.stdout and "--youtube" in result.stdout


def test_script_without_songs() -> None:
    result = run_script("--run_folder", "runs/anything")
    assert result.returncode == 2
    assert "nothing to separate" in error_line(result.stderr)
    assert result.stdout == ""


def test_script_weights_without_configuration(tmp_path: Path) -> None:
    result = run_script("--weights", str(tmp_path / "w.weights.h5"), "--song", str(tmp_path / "a.wav"))
    assert result.returncode == 2
    assert "--weights and --configuration go together" in error_line(result.stderr)


# === Model choice: which loader the flags reach, with which overrides ===
@pytest.fixture
def fake_loaders(monkeypatch):
    """Replace model loading by a NumPy separator; records the overrides each loader got."""
    import numpy as np

    from unmix.config.schema import TransformOptions
    from unmix.dsp.stft import StftOptions
    from unmix.pipeline.representations import get_representation
    from unmix.separation.separator import Separator

    stft = StftOptions(n_fft=256, hop_length=64)
    representation = get_representation("train_window_predict_mask", options=TransformOptions(size=16, step=16), stft=stft)
    calls = []

    def loader(kind):
        def load(*args, **overrides):
            calls.append((kind, args, overrides))
            return Separator(lambda x: np.full_like(x, 0.5), representation=representation, stft_options=stft, sample_rate=8000, n_channels=2, batch_size=4)

        return staticmethod(load)

    monkeypatch.setattr(Separator, "from_run_folder", loader("run"))
    monkeypatch.setattr(Separator, "from_weights", loader("weights"))
    return calls


def write_song(path: Path, *, amplitude: float = 0.3) -> Path:
    import numpy as np

    from unmix import audio

    t = np.arange(4000) / 8000
    audio.save(path, np.stack([amplitude * np.sin(2 * np.pi * 330 * t)] * 2).astype(np.float32), 8000)
    return path


def test_overrides_and_output_folders(tmp_path: Path, fake_loaders, capsys: pytest.CaptureFixture[str]) -> None:
    song = write_song(tmp_path / "s.wav")
    run = tmp_path / "run"
    run.mkdir()
    (run / "configuration.jsonc").write_text("{}")
    assert predict.main(["--run_folder", str(run), "--song", str(song), "--batch_size", "3", "--overlap", "0.25", "--wiener", "0", "--sample_rate", "16000", "--quiet"]) == 0
    assert (run / "predictions" / "s" / "vocals.wav").is_file()
    assert fake_loaders[-1] == ("run", (str(run),), {"runtime": "auto", "batch_size": 3, "overlap": 0.25, "wiener_iterations": 0, "sample_rate": 16000})
    weights, configuration = tmp_path / "w.weights.h5", tmp_path / "c.jsonc"
    assert predict.main(["--weights", str(weights), "--configuration", str(configuration), "--workingdir", str(tmp_path / "wd"), "--song", str(song), "--quiet"]) == 0
    assert (tmp_path / "wd" / "s" / "instrumental.wav").is_file()
    assert fake_loaders[-1] == ("weights", (str(weights), str(configuration)), {"working_directory": tmp_path / "wd"})


def test_bad_template_fails_before_the_model_loads(tmp_path: Path, fake_loaders, capsys: pytest.CaptureFixture[str]) -> None:
    assert predict.main(["--run_folder", str(tmp_path), "--song", "s.wav", "--filename", "{song}.{ext}"]) == EXIT_USAGE
    assert capsys.readouterr().err.strip().splitlines() == ["error: --filename '{song}.{ext}' has no {stem}: every stem would be written to the same file"]
    assert fake_loaders == []


@pytest.mark.parametrize("layout", ["empty folder", "folder without audio"])
def test_a_run_that_separates_nothing_is_exit_1(tmp_path: Path, fake_loaders, capsys: pytest.CaptureFixture[str], layout: str) -> None:
    folder = tmp_path / "songs"
    folder.mkdir()
    if layout == "folder without audio":
        (folder / "notes.txt").write_text("no audio here")
    run = tmp_path / "run"
    run.mkdir()
    (run / "configuration.jsonc").write_text("{}")
    assert predict.main(["--run_folder", str(run), "--songs", str(folder), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: nothing was separated: no audio file was found in {folder}; give audio files")


# === Output bit depth: --bit_depth picks the sample format of WAV and FLAC stems ===
@pytest.mark.parametrize(
    ("file_format", "bit_depth", "subtype"),
    [("wav", None, "FLOAT"), ("wav", "16", "PCM_16"), ("wav", "24", "PCM_24"), ("wav", "32", "FLOAT"),
     ("flac", None, "PCM_24"), ("flac", "16", "PCM_16"), ("flac", "24", "PCM_24")],
)  # fmt: skip
def test_bit_depth_picks_the_subtype(tmp_path: Path, fake_loaders, file_format: str, bit_depth: str | None, subtype: str) -> None:
    import soundfile

    song = write_song(tmp_path / "s.wav")
    extra = ["--bit_depth", bit_depth] if bit_depth else []
    assert predict.main(["--run_folder", str(tmp_path), "--song", str(song), "--output", str(tmp_path / "out"), "--format", file_format, *extra, "--quiet"]) == 0
    for stem in ("vocals", "instrumental"):
        details = soundfile.info(str(tmp_path / "out" / "s" / f"{stem}.{file_format}"))
        assert details.subtype == subtype
        assert (details.samplerate, details.channels, details.frames) == (8000, 2, 4000)  # the input's


@pytest.mark.parametrize(
    ("file_format", "bit_depth", "message"),
    [("flac", "32", "--bit_depth 32: FLAC has no float samples; use --bit_depth 24, or --format wav for 32-bit float"),
     ("mp3", "16", "--bit_depth 16: mp3 has no bit depth (it is 320 kbit/s); drop --bit_depth, or write --format wav or flac")],
)  # fmt: skip
def test_bit_depth_the_format_has_not_is_one_line_exit_2(tmp_path: Path, fake_loaders, file_format: str, bit_depth: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    song = write_song(tmp_path / "s.wav")
    assert predict.main(["--run_folder", str(tmp_path), "--song", str(song), "--format", file_format, "--bit_depth", bit_depth]) == EXIT_USAGE
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {message}"]
    assert fake_loaders == []  # refused before the model loads


def test_integer_wav_warns_when_it_clips(tmp_path: Path, fake_loaders, capsys: pytest.CaptureFixture[str]) -> None:
    song = write_song(tmp_path / "hot.wav", amplitude=3.0)  # each stem (half the mix) peaks at 1.5
    assert predict.main(["--run_folder", str(tmp_path), "--song", str(song), "--output", str(tmp_path / "out"), "--bit_depth", "16", "--quiet"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "clipped" in line]
    assert len(warnings) == 2 and all("write float WAV (--format wav --bit_depth 32) to keep them" in w for w in warnings)
