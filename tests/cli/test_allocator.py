"""keep_freed_memory: the separating commands set glibc's allocator to reuse freed pages."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from unmix.cli import common


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_settings_and_big_arrays_still_work() -> None:
    assert common.keep_freed_memory() is True
    # Arrays far above glibc's 32 MB mmap threshold now come from the heap: allocate, free, reuse.
    for _ in range(3):
        big = np.ones((64, 1024, 1024), dtype=np.float32)
        assert float(big.sum()) == 64 * 1024 * 1024
        del big


def test_without_glibc_nothing_changes(monkeypatch) -> None:
    def no_libc(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(common.ctypes, "CDLL", no_libc)
    assert common.keep_freed_memory() is False


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_the_separating_commands_set_it_first(monkeypatch, command) -> None:
    import importlib

    module = importlib.import_module(f"unmix.cli.{command}")
    called = []
    monkeypatch.setattr(module, "keep_freed_memory", lambda: called.append(True) or True)
    with pytest.raises(SystemExit):
        module.main(["--help"])
    assert called == [True]
