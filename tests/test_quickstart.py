"""The README's first command: its Python part on a tiny model, and the install script's reuse."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
# An installed spleeter-2stems configuration as this version writes it (issue 27's high band).
CURRENT = '{"training": {"model": {"options": {"bins": 1024, "vocals_bins": 1280, "high_band": "instrumental_average"}}}}'
TINY = {
    "base": "mini/dummy.jsonc",
    "collection": {"sample_rate": 16000},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, dummy_run) -> Path:
    run, _ = dummy_run(tmp_path_factory.mktemp("quickstart") / "run", TINY, weights_file="weights.weights.h5", seed=1)
    return run.path


def test_quickstart_separates_the_stempeg_clip_and_scores_it(tmp_path, tiny_run, capsys):
    from unmix.quickstart import main

    assert main(["--run_folder", str(tiny_run), "--output", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    song = tmp_path / "out" / "The Easton Ellises - Falcon 69"
    for name in ("mixture.wav", "vocals.wav", "instrumental.wav", "spectrograms.png"):
        assert (song / name).is_file(), name
        assert str(song / name) in out
    assert "SDR (museval v4" in out and "mixture floor" in out
    assert "x real time" in out


@pytest.mark.slow
def test_quickstart_prints_tensorflow_start_up_lines_at_most_once(tmp_path, tiny_run):
    """quickstart.sh no longer sets TF_CPP_MIN_LOG_LEVEL: the module itself keeps TF's oneDNN line from printing twice."""
    import sys

    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environ["PYTHONPATH"] = str(REPOSITORY)
    command = [sys.executable, "-m", "unmix.quickstart", "--run_folder", str(tiny_run), "--output", str(tmp_path / "out"), "--quiet"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environ, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "oneDNN custom operations are on" not in done.stderr, done.stderr


def _checkout_with_fake_python(tmp_path: Path, script: str) -> Path:
    """What install.sh reads (and apt.sh, which it sources), plus a .venv whose python is a shell script that reports being called."""
    copy = tmp_path / "checkout"
    (copy / "scripts").mkdir(parents=True)
    for name in ("requirements.txt", "pyproject.toml"):
        shutil.copy(REPOSITORY / name, copy / name)
    for name in ("install.sh", "apt.sh"):
        shutil.copy(REPOSITORY / "scripts" / name, copy / "scripts" / name)
    (copy / ".venv" / "bin").mkdir(parents=True)
    fake_python = copy / ".venv" / "bin" / "python"
    fake_python.write_text(script)
    fake_python.chmod(0o755)
    return copy


def _installed_checkout(tmp_path: Path, script: str, configuration: str) -> tuple[Path, Path]:
    """A checkout whose requirements are installed (the stamp matches), and an installed spleeter-2stems with ``configuration``."""
    copy = _checkout_with_fake_python(tmp_path, script)
    digest = subprocess.run(f"cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1", shell=True, cwd=copy, capture_output=True, text=True, check=True).stdout.strip()
    (copy / ".venv" / ".unmix-requirements").write_text(digest + "\n")
    installed = tmp_path / "models" / "spleeter-2stems"
    installed.mkdir(parents=True)
    (installed / "configuration.jsonc").write_text(configuration)
    return copy, installed


def test_install_script_reuses_an_installed_environment_in_seconds(tmp_path):
    """A second run of scripts/install.sh (what quickstart.sh calls first) installs nothing."""
    copy, installed = _installed_checkout(tmp_path, "#!/bin/sh\necho pip-was-called >&2\nexit 1\n", CURRENT)
    # ... and its network and fast's are exported: the stamp lists the weights and configurations they were exported from.
    _stamp_exports(copy, installed)
    started = time.perf_counter()
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=copy, capture_output=True, text=True, env={**os.environ, "UNMIX_MODELS_DIR": str(tmp_path / "models")}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pip-was-called" not in result.stderr
    assert time.perf_counter() - started < 10


def _stamp_exports(copy: Path, installed: Path) -> None:
    """The stamp scripts/install.sh leaves once both built-in networks are exported."""
    listing = subprocess.run(
        f"ls -l --time-style=+%s unmix/pretrained/default/weights {installed}/weights unmix/pretrained/default/configuration.jsonc "
        f"{installed}/configuration.jsonc 2>/dev/null || true", shell=True, cwd=copy, capture_output=True, text=True,
    ).stdout.rstrip("\n")  # fmt: skip
    (installed.parent / "exported").mkdir(exist_ok=True)
    (installed.parent / "exported" / ".weights").write_text(listing + "\n")


def test_install_script_exports_again_when_a_configuration_changes(tmp_path):
    """A configuration names the export (RunFolder.identity) as the weights do: a changed one is exported again."""
    copy, installed = _installed_checkout(tmp_path, "#!/bin/sh\necho \"python-was-called $*\" >&2\nexit 0\n", CURRENT)
    _stamp_exports(copy, installed)
    env = {**os.environ, "UNMIX_MODELS_DIR": str(tmp_path / "models")}
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=copy, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and "unmix.pretrained export" not in result.stderr, result.stderr
    (installed / "configuration.jsonc").write_text(CURRENT[:-1] + ', "transformation": {"workers": 2}}')
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=copy, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "python-was-called -m unmix.pretrained export --quiet" in result.stderr


@pytest.mark.parametrize(
    "configuration",
    [
        '{"training": {"model": {"options": {"bins": 1024, "high_band": "none"}}}}',  # before issue 27: vocals stop at 11 kHz
        '{"training": {"model": {"options": {"bins": 1280, "high_band": "none"}}}}',  # both U-Nets over 1280 bins: 11 % slower
    ],
    ids=["spleeter-band", "both-u-nets-1280"],
)
def test_install_script_replaces_an_older_install(tmp_path, configuration):
    """An install whose high band is not this version's is installed again."""
    copy, installed = _installed_checkout(tmp_path, "#!/bin/sh\necho \"python-was-called $*\" >&2\nexit 0\n", configuration)
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=copy, capture_output=True, text=True, env={**os.environ, "UNMIX_MODELS_DIR": str(tmp_path / "models")}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "python-was-called -m unmix.pretrained install spleeter-2stems" in result.stderr


def test_install_script_installs_when_requirements_change(tmp_path):
    copy = _checkout_with_fake_python(tmp_path, "#!/bin/sh\necho pip-was-called \"$@\" >&2\nexit 0\n")
    (copy / ".venv" / ".unmix-requirements").write_text("stale\n")
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=copy, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pip-was-called -m pip install" in result.stderr and "-r requirements.txt" in result.stderr


def test_install_script_installs_the_pretrained_model_once_and_fails_clearly(tmp_path):
    """Missing: the script runs the install command; when that fails, the script fails with one clear line."""
    script = '#!/bin/sh\necho called "$@" >&2\n[ "$2" = unmix.pretrained ] && exit 1\nexit 0\n'
    copy = _checkout_with_fake_python(tmp_path, script)
    digest = subprocess.run("cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1", shell=True, cwd=copy, capture_output=True, text=True, check=True).stdout.strip()
    (copy / ".venv" / ".unmix-requirements").write_text(digest + "\n")
    environ = {**os.environ, "UNMIX_MODELS_DIR": str(tmp_path / "models")}
    result = subprocess.run(["bash", "scripts/install.sh"], cwd=copy, capture_output=True, text=True, env=environ, timeout=60)
    assert result.returncode == 1
    assert "called -m unmix.pretrained install spleeter-2stems" in result.stderr
    assert "could not install the pretrained model spleeter-2stems" in result.stderr.splitlines()[-1]


def test_the_first_command_installs_no_browser_and_the_test_command_does():
    """Install hygiene (issue 29): chromium is for the web page's browser test only."""
    install = (REPOSITORY / "scripts" / "install.sh").read_text()
    tests = (REPOSITORY / "scripts" / "test.sh").read_text()
    commands = [line for line in install.splitlines() if not line.lstrip().startswith("#")]
    assert not any("chromium" in line or "chromedriver" in line for line in commands)
    assert "apt_install chromium chromium-driver" in tests and tests.index("bash scripts/install.sh") < tests.index("apt_install chromium")
