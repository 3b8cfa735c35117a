"""``unmix-serve`` / ``python -m unmix.web``: flags, the exposure warning, the loopback host check."""

from __future__ import annotations

import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from unmix.web import serve

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(monkeypatch):
    """Run main() with the socket and uvicorn's server replaced: returns what it would have served where."""
    calls = {}

    def listening(host, port):
        calls.update(host=host, port=port)
        return socket.socket()  # unbound: the tests' port 8000 may be another program's

    monkeypatch.setattr(serve, "listening_socket", listening)
    monkeypatch.setattr(serve, "run_server", lambda app, listener, **where: calls.update(app=app, listener=listener))
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


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--port", "0"], "--port must be between 1 and 65535"), (["--max_upload_mb", "0"], "--max_upload_mb must be a positive number"),
     (["--max_upload_mb", "inf"], "--max_upload_mb must be a positive number of megabytes, received inf"),
     (["--max_upload_mb", "nan"], "received nan")],
)  # fmt: skip
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


@pytest.fixture
def port_in_use():
    """A port on 127.0.0.1 that another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


@pytest.mark.parametrize(
    ("flags", "code", "line"),
    [
        (lambda port: ["--port", str(port)], 1,
         lambda port: f"error: cannot listen on 127.0.0.1:{port}: the port is in use (another server?); stop what uses it, or pass --port with a free one"),
        (lambda port: ["--host", "no-such-host.invalid"], 2, lambda port: "error: --host no-such-host.invalid: no such address ("),
        (lambda port: ["--host", "192.0.2.1"], 2, lambda port: "error: --host 192.0.2.1: not an address of this machine ("),
    ],
    ids=["port in use", "unknown host", "another machine's address"],
)  # fmt: skip
def test_an_address_it_cannot_serve_is_one_line_before_any_address_is_printed(flags, code, line, port_in_use, tmp_path, capsys):
    """uvicorn bound only once it started: it exited 3 after "open http://…" named the other server's address."""
    work = tmp_path / "work"
    assert serve.main([*flags(port_in_use), "--workingdir", str(work)]) == code
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(line(port_in_use)), err
    assert not work.exists()  # no job was touched


def test_the_server_serves_on_the_socket_it_bound(tmp_path):
    """The real path: the bound socket answers, and the address printed is the one served."""
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "unmix.web", "--port", str(port), "--workingdir", str(tmp_path / "w")],
                               cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith(f"unmix: open http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the server did not answer"
                time.sleep(0.1)
    finally:
        process.kill()
        process.wait(10)
