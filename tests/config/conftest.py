"""Fixtures for the configuration tests: a throw-away configurations/ tree, no stray .env."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


TINY_MASTER = """
// A small master for tests: a few known keys and env values with defaults.
{
    "environment": {"name": "master", "output_path": "runs"},
    "collection": {
        "folder": "env('UNMIX_COLLECTION_DIR', null)",
        "sample_rate": "int(env('UNMIX_SAMPLE_RATE', 44100))",
        "song_limit": "float(env('UNMIX_SONG_LIMIT', 0))",
    },
    "training": {
        "batch_size": 8,
        "metrics": ["mean_pred", "mae"],
        "optimizer": {"name": "adam", "lr": 0.001},
        "model": {"name": "hourglass", "options": {"stacks": 4, "hg_module": {"filters": 256, "dropoutfactor": 0.0}}},
    },
}
"""


@pytest.fixture(autouse=True)
def hermetic(hermetic_environment, monkeypatch: pytest.MonkeyPatch) -> None:
    """No UNMIX_* variable or developer .env (the root conftest), and unmix records reach caplog."""
    # log.setup() (run by in-process CLI tests) stops propagation, which hides records from caplog.
    monkeypatch.setattr(logging.getLogger("unmix"), "propagate", True)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write("configurations/x.jsonc", text)`` writes a dedented file under tmp_path."""

    def _write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def configurations(tmp_path: Path, write: Callable[[str, str], Path]) -> Path:
    """A tmp ``configurations/`` folder holding only the tiny master.jsonc."""
    write("configurations/master.jsonc", TINY_MASTER)
    return tmp_path / "configurations"
