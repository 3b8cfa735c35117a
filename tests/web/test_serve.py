"""``unmix-serve`` / ``python -m unmix.web``: flags, the exposure warning, the loopback host check."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from unmix.web import serve

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(monkeypatch):
    """Run main() with uvicorn.run replaced: returns what it would have served."""
    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.update(app=app, **options))
    return calls


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("example.org", False)])
def test_loopback_hosts(host, loopback):
    assert serve.is_loopback(host) is loopback


def test_the_defaults_serve_this_machine_only_without_a_warning(tmp_path, monkeypatch, served, capsys):
    monkeypatch.chdir(tmp_path)
    assert serve.main([]) == 0
    assert served["host"] == "127.0.0.1" and served["port"] == 8000
    assert (tmp_path / "unmix-web" / "jobs").is_dir()
    out, err = capsys.readouterr()
    assert out == "unmix: open http://127.0.0.1:8000/ (jobs in unmix-web; Ctrl-C stops, unfinished jobs resume at the next start)\n"
    assert "warning" not in err
    with TestClient(served["app"], base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/jobs").status_code == 200
    with TestClient(served["app"], base_url="http://rebound.example.com") as client:
        assert client.get("/api/jobs").status_code == 400, "a page from another site reached the API through DNS rebinding"


def test_any_other_address_warns_on_one_line(tmp_path, served, capsys):
    assert serve.main(["--host", "0.0.0.0", "--port", "8765", "--workingdir", str(tmp_path / "w"), "--max_upload_mb", "20", "--model", "fast"]) == 0
    assert served["host"] == "0.0.0.0" and served["port"] == 8765
    err = capsys.readouterr().err
    assert err == "warning: --host 0.0.0.0 is not a loopback address: anyone who can reach this machine on port 8765 can upload files and use its CPU\n"
    with TestClient(served["app"], base_url="http://192.168.1.20:8765") as client:
        options = client.get("/api/options").json()
    assert options["max_upload_mb"] == 20 and options["default_model"] == "fast"


@pytest.mark.parametrize(("argv", "message"), [(["--port", "0"], "--port must be between 1 and 65535"), (["--max_upload_mb", "0"], "--max_upload_mb must be positive")])
def test_bad_flags_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        serve.main(argv)
    assert caught.value.code == 2 and message in capsys.readouterr().err


def test_an_unknown_model_is_exit_2_with_one_line(tmp_path, served, capsys):
    assert serve.main(["--workingdir", str(tmp_path), "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --model: unknown installed model 'nope'; known: ") and err.count("\n") == 1
    assert "app" not in served


def test_python_m_unmix_web_and_the_console_script():
    result = subprocess.run([sys.executable, "-m", "unmix.web", "--help"], cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--max_upload_mb" in result.stdout and "--workingdir" in result.stdout
    scripts = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["unmix-serve"] == "unmix.web.serve:main"
