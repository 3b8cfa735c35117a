"""The run folder: the one module that knows its file names.

A run folder holds everything inference needs (the resolved configuration,
normalizer statistics and weights) and everything a researcher needs to trust a
run (results, accuracies, environment, logs, plots)::

    runs/<YYYYmmdd-HHMMSS>-<configuration name>/
        configuration.jsonc  environment.json  logs.txt  results.csv
        accuracy_<collection>.csv  model.keras  model.h5  model.json
        weights/  plots/  predictions/  evaluation/  tensorboard/
"""

from __future__ import annotations

import datetime as dt
import errno
import getpass
import importlib.metadata
import json
import logging
import os
import platform
import re
import shutil
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from unmix.errors import ConfigurationError, ModelError, TrainingError, UnmixError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from unmix.config import Config

CONFIGURATION = "configuration.jsonc"
ENVIRONMENT = "environment.json"
RESULTS = "results.csv"
MODEL_KERAS = "model.keras"
MODEL_H5 = "model.h5"
MODEL_JSON = "model.json"
ZMUV_STATS = "zmuv.json"
BACKUP = "backup"
# Keras' BackupAndRestore names these inside backup/.
BACKUP_WEIGHTS = "latest.weights.h5"
BACKUP_METADATA = "training_metadata.json"
BEST = "best.json"
_EPOCH = re.compile(r"(\d+)")
# environment.json records UNMIX_* variables; one whose name holds one of these words is a credential.
SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD")
REDACTED = "<redacted>"
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class RunFolder:
    """A training run's folder; create one with ``create`` or open one with ``open``."""

    def __init__(self, path: Path, *, log_file: str = "logs.txt", plot_folder: str = "plots", weights_folder: str = "weights") -> None:
        self.path = Path(path)
        self._log_file = log_file
        self._plot_folder = plot_folder
        self._weights_folder = weights_folder
        self.log_handler: Any = None

    # === Creation ===
    @classmethod
    def create(cls, *, working_directory: Path, output_path: str, configuration_name: str, now: dt.datetime | None = None, **names: str) -> "RunFolder":
        """Make ``<working_directory>/<output_path>/<stamp>-<name>``, unique even within one second.

        Raises:
            ConfigurationError: the folder cannot be created (not writable, or a file
                is in the way); the message names it and says to pass another --workingdir.
            TrainingError: the disk is full.
        """
        stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        parent = Path(working_directory) / output_path
        base = f"{stamp}-{configuration_name}"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            for attempt in range(1, 1000):
                candidate = parent / (base if attempt == 1 else f"{base}-{attempt}")
                try:
                    candidate.mkdir()
                except FileExistsError:
                    continue
                folder = cls(candidate, **names)
                for sub in (folder.weights, folder.plots, folder.predictions):
                    sub.mkdir(exist_ok=True)
                return folder
        except OSError as error:
            raise unwritable(parent, error) from None
        raise ConfigurationError(f"cannot create a run folder under {parent}: too many runs named {base}")

    @classmethod
    def open(cls, path: str | Path) -> "RunFolder":
        """Open an existing run folder (e.g. for --resume, predict or evaluate).

        Raises:
            ConfigurationError: the folder or its configuration.jsonc is missing.
        """
        path = Path(path)
        if not (path / CONFIGURATION).is_file():
            raise ConfigurationError(f"not a run folder: {path} has no {CONFIGURATION}")
        return cls(path)

    # === File names ===
    @property
    def configuration(self) -> Path:
        return self.path / CONFIGURATION

    @property
    def environment(self) -> Path:
        return self.path / ENVIRONMENT

    @property
    def logs(self) -> Path:
        return self.path / self._log_file

    @property
    def results(self) -> Path:
        return self.path / RESULTS

    @property
    def weights(self) -> Path:
        return self.path / self._weights_folder

    @property
    def plots(self) -> Path:
        return self.path / self._plot_folder

    @property
    def predictions(self) -> Path:
        return self.path / "predictions"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def backup(self) -> Path:
        return self.path / BACKUP

    @property
    def backup_weights(self) -> Path:
        return self.backup / BACKUP_WEIGHTS

    @property
    def backup_metadata(self) -> Path:
        return self.backup / BACKUP_METADATA

    @property
    def model_keras(self) -> Path:
        return self.path / MODEL_KERAS

    @property
    def model_h5(self) -> Path:
        return self.path / MODEL_H5

    @property
    def model_json(self) -> Path:
        return self.path / MODEL_JSON

    @property
    def zmuv_stats(self) -> Path:
        return self.path / ZMUV_STATS

    @property
    def best_record(self) -> Path:
        return self.weights / BEST

    def accuracy(self, collection_name: str) -> Path:
        return self.path / f"accuracy_{collection_name}.csv"

    def evaluation(self, collection_name: str) -> Path:
        return self.path / "evaluation" / collection_name

    # === Content ===
    def write_configuration(self, text: str) -> None:
        atomic_write_text(self.configuration, text)

    def write_environment(self, info: Mapping[str, Any]) -> None:
        atomic_write_text(self.environment, json.dumps(info, indent=4, default=str) + "\n")

    def update_environment(self, **fields: Any) -> None:
        info = json.loads(self.environment.read_text()) if self.environment.is_file() else {}
        info.update(fields)
        self.write_environment(info)

    def best_weights(self) -> Path:
        """The weights to separate with: the best checkpoint by the monitored loss.

        ``weights/best.json`` (written at each improvement) names it; without it,
        the checkpoint with the highest epoch (checkpoints are written only on
        improvement); without checkpoints, the final weights.

        Raises:
            ModelError: the run has no weights at all.
        """
        problem = None
        if self.best_record.is_file():
            try:
                named = self.weights / json.loads(self.best_record.read_text())["file"]
            except (ValueError, KeyError, TypeError, OSError):
                problem = f"{self.best_record} cannot be read"
            else:
                if named.is_file():
                    return named
                problem = f"{self.best_record} names {named.name}, which is missing"
        checkpoints = [p for p in self.weights.glob("*.weights.h5") if p.name.startswith("callback_weights_")]
        finals = sorted(self.weights.glob("*.weights.h5"))
        if not checkpoints and not finals:
            raise ModelError(f"run folder {self.path} has no weights in {self.weights}: train it first, or pass --weights")
        chosen = max(checkpoints, key=_checkpoint_epoch) if checkpoints else finals[0]
        if problem is not None:  # never a silent fallback to other weights than the best
            logger.warning("%s: using %s instead (the latest checkpoint); pass --weights to choose", problem, chosen.name)
        return chosen


def _checkpoint_epoch(path: Path) -> int:
    """The epoch in ``callback_weights_<epoch>.weights.h5`` (-1 without one).

    The suffix is cut first: the "5" of ".h5" is not an epoch.
    """
    numbers = _EPOCH.findall(path.name.removesuffix(".weights.h5"))
    return int(numbers[-1]) if numbers else -1


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a kill never leaves half a file.

    Raises:
        OSError: the write failed (a full disk, say); the temporary is removed and
            the error names ``path`` (a failed ``write`` names no file by itself).
    """
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        if error.filename is None:
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def unwritable(path: Path, error: OSError) -> UnmixError:
    """The one line for a run folder that cannot be written: a full disk, or a folder to change."""
    if error.errno in _NO_SPACE:
        return TrainingError(f"no space left on device while writing {error.filename or path}; free space, then train again")
    return ConfigurationError(
        f"cannot write the run folder under {path}: {error.strerror or error} ({error.filename or path}); "
        f"pass a writable --workingdir"
    )


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_info(path: Path) -> dict[str, Any]:
    """Repository, branch, commit and dirty flag of the unmix code; empty outside a checkout."""
    try:
        import git

        repository = git.Repo(path, search_parent_directories=True)
        try:
            branch = repository.active_branch.name
        except TypeError:
            branch = ""
        try:
            commit = repository.head.commit.hexsha
        except ValueError:
            commit = ""
        return {"repository": repository.working_tree_dir, "branch": branch, "commit": commit, "dirty": repository.is_dirty()}
    except Exception:  # no git binary, no repository, detached worktree …
        return {"repository": "", "branch": "", "commit": "", "dirty": None}


def environment_info(*, configuration_file: Path, working_directory: Path, run_folder: Path, collection_folder: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """What ``environment.json`` records. Only ``UNMIX_*`` variables, never the whole environment."""
    devices = None
    if "tensorflow" in sys.modules:
        devices = [d.name for d in sys.modules["tensorflow"].config.list_physical_devices()]
    return {
        "time": dt.datetime.now().isoformat(timespec="seconds"),
        "configuration_file": str(configuration_file),
        "working_directory": str(working_directory),
        "run_folder": str(run_folder),
        "collection_folder": collection_folder or "",
        "user": _user(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in ("unmix", "tensorflow", "tensorflow-cpu", "keras", "numpy", "librosa")},
        "devices": devices,
        "git": git_info(Path(__file__).resolve().parent),
        "variables": recorded_variables(environ),
    }


def recorded_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``UNMIX_*`` variables for environment.json, credentials (TOKEN, KEY, SECRET, PASSWORD in the name) redacted."""
    return {
        name: REDACTED if any(word in name.upper() for word in SECRET_WORDS) else value
        for name, value in sorted(environ.items())
        if name.startswith("UNMIX_")
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return ""


def start_run(config: "Config", *, working_directory: Path) -> RunFolder:
    """Create a run folder for ``config`` and write its configuration, environment and log.

    The logs.txt handler stays attached to the ``unmix`` logger; the caller
    removes it (``unmix.log.remove_handler``) when the run ends.
    """
    from unmix import log

    environment = config.environment
    folder = RunFolder.create(
        working_directory=working_directory,
        output_path=environment.output_path,
        configuration_name=config.name,
        log_file=environment.log_file,
        plot_folder=environment.plot_folder,
        weights_folder=environment.weights.folder,
    )
    try:
        folder.write_configuration(config.to_json())
        folder.write_environment(
            environment_info(
                configuration_file=config.path,
                working_directory=working_directory.resolve(),
                run_folder=folder.path.resolve(),
                collection_folder=config.collection.folder,
                environ=config.environ,
            )
        )
        folder.log_handler = log.add_log_file(folder.logs)
    except OSError as error:  # nothing of the run exists yet: leave no half-made folder behind
        shutil.rmtree(folder.path, ignore_errors=True)
        raise unwritable(folder.path.parent, error) from None
    return folder
