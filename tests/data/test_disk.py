"""Recognising a full disk (plain errno 28 and h5py's wrapping) and refusing a write that would not fit."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from unmix.data import disk
from unmix.data.disk import ensure_space, h5_size, is_no_space, no_space_message

H5PY_TEXT = "Can't close file (file write failed: time = Wed Dec  2 05:31:27 2026\n, filename = '/x.h5', errno = 28, error message = 'No space left on device')"


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        OSError(H5PY_TEXT),  # h5py without an errno
        RuntimeError("Disable slist on flush dest failure failed (file write failed: errno = 28, error message = 'No space left on device')"),
    ],
)
def test_full_disks_are_recognised(error: BaseException) -> None:
    assert is_no_space(error)


def test_a_full_disk_behind_another_error_is_recognised() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as cause:
            raise ValueError("while saving") from cause
    except ValueError as error:
        assert is_no_space(error)


@pytest.mark.parametrize("error", [OSError(errno.EACCES, "Permission denied"), ValueError("errno = 28,"), None])
def test_other_errors_are_not_a_full_disk(error) -> None:
    assert not is_no_space(error)


def test_ensure_space_refuses_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda folder: shutil._ntuple_diskusage(10**9, 10**9 - 2 * 10**6, 2 * 10**6))
    ensure_space(tmp_path / "small.h5", 1000)  # 2 MB free: 1 kB and the spare MiB fit, 1 MB and the spare MiB do not
    with pytest.raises(OSError) as caught:
        ensure_space(tmp_path / "big.h5", h5_size(10**6, n_datasets=2))
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "big.h5")


def test_no_space_message_is_one_line() -> None:
    assert no_space_message("/r/w.h5", then="go on") == "no space left on device while writing /r/w.h5; free space, then go on"
