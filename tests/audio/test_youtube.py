"""Downloading with an injected downloader (the tests never touch the network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unmix.audio import youtube
from unmix.errors import AudioError

REPOSITORY = Path(__file__).resolve().parents[2]


def test_download_with_a_fake_downloader(tmp_path):
    calls = []

    def fake(url, directory):
        calls.append((url, directory))
        path = directory / "song [abc].m4a"
        path.write_bytes(b"audio")
        return path

    path = youtube.download("https://www.youtube.com/watch?v=abc", tmp_path / "downloads", downloader=fake)
    assert path == tmp_path / "downloads" / "song [abc].m4a" and path.is_file()
    assert calls == [("https://www.youtube.com/watch?v=abc", tmp_path / "downloads")]


def test_failing_downloader_is_one_line(tmp_path):
    def offline(url, directory):
        raise OSError("ERROR: [Errno -3] Temporary failure in name resolution\nTraceback lines follow")

    url = "https://www.youtube.com/watch?v=abc"
    with pytest.raises(AudioError) as caught:
        youtube.download(url, tmp_path, downloader=offline)
    message = str(caught.value)
    assert message == (
        f"could not download {url}: [Errno -3] Temporary failure in name resolution; check your network connection"
    )
    assert "\n" not in message


def test_downloader_returning_no_file(tmp_path):
    with pytest.raises(AudioError, match=r"could not download .*: the downloader reported .*gone\.m4a"):
        youtube.download("https://example.com/v", tmp_path, downloader=lambda url, directory: directory / "gone.m4a")


def test_yt_dlp_is_imported_lazily():
    code = "import sys, unmix.audio, unmix.audio.youtube; assert 'yt_dlp' not in sys.modules, 'imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(REPOSITORY)})


def test_real_yt_dlp_failure_is_one_line(tmp_path):
    # Port 9 on the loopback refuses at once: yt-dlp's real code path fails as offline would.
    url = "http://127.0.0.1:9/watch?v=abc"
    with pytest.raises(AudioError, match=r"^could not download http://127\.0\.0\.1:9/watch\?v=abc: .*; check your network connection$"):
        youtube.download(url, tmp_path)
