"""unmix.atomic: the one temporary-fsync-rename writer."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from unmix.atomic import atomic_path, atomic_write_text, target_of, temporaries_of, writer_pid


def test_a_completed_block_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "model.weights.h5"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.endswith("-model.weights.h5")
        assert target_of(temporary) == target and writer_pid(temporary) == os.getpid()
        temporary.write_bytes(b"new")
        assert temporaries_of(target) == [temporary]
    assert target.read_bytes() == b"new" and sorted(p.name for p in target.parent.iterdir()) == ["model.weights.h5"]


def test_a_failed_block_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "best.json"
    atomic_write_text(target, "old")
    with pytest.raises(ValueError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise ValueError("the writer broke")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), RuntimeError("file write failed: errno = 28, error message = 'No space left on device'")])
def test_a_full_disk_names_the_target(tmp_path: Path, error: Exception) -> None:
    target = tmp_path / "weights.weights.h5"
    with pytest.raises(OSError) as caught:
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half")
            raise error
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_names_that_are_no_temporaries() -> None:
    assert target_of(Path("best.json.tmp")) is None and writer_pid(Path(".partial-x-best.json")) is None
