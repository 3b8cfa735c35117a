"""The run folder: the one module that knows its file names.

A run folder holds everything inference needs (the resolved configuration,
normalizer statistics and weights) and everything a researcher needs to trust a
run (results, accuracies, environment, logs, plots)::

    runs/<YYYYmmdd-HHMMSS>-<configuration name>/
        configuration.jsonc  environment.json  logs.txt  results.csv
        accuracy_<collection>.csv  model.keras  model.h5  model.json
        weights/  plots/  predictions/  evaluation/  tensorboard/
        train.lock  (the training process's pid while one trains the run; empty after)
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import hashlib
import importlib.metadata
import io
import json
import logging
import math
import platform
import re
import shutil
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unmix.atomic import atomic_write_text, is_no_space, no_space_message
from unmix.config.secrets import REDACTED, is_secret_name, looks_secret
from unmix.errors import ConfigurationError, ModelError, TrainingError, UnmixError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from unmix.config.schema import EnvironmentOptions

CONFIGURATION = "configuration.jsonc"
ENVIRONMENT = "environment.json"
RESULTS = "results.csv"
TENSORBOARD = "tensorboard"
MODEL_KERAS = "model.keras"
MODEL_H5 = "model.h5"
MODEL_JSON = "model.json"
ZMUV_STATS = "zmuv.json"
BACKUP = "backup"
# Keras' BackupAndRestore names these inside backup/.
BACKUP_WEIGHTS = "latest.weights.h5"
BACKUP_METADATA = "training_metadata.json"
BEST = "best.json"
TRAIN_LOCK = "train.lock"
_EPOCH = re.compile(r"(\d+)")


class RunFolder:
    """A training run's folder; create one with ``create`` or open one with ``open``."""

    def __init__(
        self, path: Path, *, log_file: str = "logs.txt", plot_folder: str = "plots", weights_folder: str = "weights",
        results_file: str = RESULTS, results_separator: str = ";", tensorboard_folder: str = TENSORBOARD,
    ) -> None:  # fmt: skip
        self.path = Path(path)
        self._log_file = log_file
        self._plot_folder = plot_folder
        self._weights_folder = weights_folder
        self._results_file = results_file
        self.results_separator = results_separator
        self._tensorboard_folder = tensorboard_folder
        self.log_handler: Any = None

    @staticmethod
    def names(environment: "EnvironmentOptions", callbacks: Mapping[str, Any]) -> dict[str, str]:
        """The configurable names of a run's files: ``environment`` and ``training.callbacks``.

        Pass them to ``create`` and to ``open``: a run resumed under other names than it was
        created with would look for its results and weights elsewhere.
        """
        csv_logger, board = callbacks.get("csv_logger", {}), callbacks.get("tensorboard", {})
        return {
            "log_file": environment.log_file,
            "plot_folder": environment.plot_folder,
            "weights_folder": environment.weights.folder,
            "results_file": csv_logger.get("file", RESULTS),
            "results_separator": csv_logger.get("separator", ";"),
            "tensorboard_folder": board.get("folder", TENSORBOARD),
        }

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
    def open(cls, path: str | Path, **names: str) -> "RunFolder":
        """Open an existing run folder (e.g. for --resume, predict or evaluate).

        ``names`` (from ``RunFolder.names``) are the run's configured file names.

        Raises:
            ConfigurationError: the folder or its configuration.jsonc is missing.
        """
        path = Path(path)
        if not (path / CONFIGURATION).is_file():
            raise ConfigurationError(f"not a run folder: {path} has no {CONFIGURATION}")
        return cls(path, **names)

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
        """The per-epoch log (Keras' CSVLogger appends to it)."""
        return self.path / self._results_file

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
        return self.path / self._tensorboard_folder

    @property
    def backup(self) -> Path:
        return self.path / BACKUP

    @property
    def train_lock(self) -> Path:
        """Held by the process that trains the run (``unmix.data.lock.exclusive``), so a second one is refused."""
        return self.path / TRAIN_LOCK

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

    def prediction(self, epoch: int, song: str, stem: str) -> Path:
        """A separated test song written during training: ``predictions/<epoch>_<song>_<stem>.wav``."""
        return self.predictions / f"{epoch}_{song}_{stem}.wav"

    @staticmethod
    def zmuv_stats_of_weights(weights: Path) -> Path | None:
        """The ZMUV statistics of a loose weights file: ``zmuv.json`` beside it, or that of the
        run whose weights folder holds it (one folder up); None when neither exists."""
        weights = Path(weights)
        for candidate in (weights.parent / ZMUV_STATS, weights.parent.parent / ZMUV_STATS):
            if candidate.is_file():
                return candidate
        return None

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

    # === Resume ===
    def backup_epoch(self) -> int:
        """How many epochs the resume backup holds (``backup/training_metadata.json``); 0 without one.

        Raises:
            ValueError: the file is not ``{"epoch": <whole number >= 0>}``; the message says how.
            OSError: it cannot be read.
        """
        if not self.backup_metadata.is_file():
            return 0
        try:
            epoch = json.loads(self.backup_metadata.read_text(encoding="utf-8")).get("epoch")
        except (UnicodeDecodeError, ValueError, AttributeError):
            raise ValueError('not the JSON object {"epoch": N} that Keras writes (truncated or edited?)') from None
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"its epoch is {epoch!r}, expected a whole number >= 0")
        return epoch

    def write_backup_epoch(self, epoch: int) -> None:
        """Record that the backup weights hold ``epoch`` epochs, in the form Keras' BackupAndRestore reads."""
        atomic_write_text(self.backup_metadata, json.dumps({"epoch": int(epoch), "batch": 0}))

    def keep_results_until(self, epochs: int) -> dict[str, list[float]]:
        """Drop the results rows of epochs the backup does not hold; return the losses kept, by column.

        On resume, rows of epochs after the backup were lost in the interruption and are
        trained again; a row cut short (a kill or a full disk while it was written) goes too.
        Rows are Keras' CSVLogger's: a header, then one row per 0-based epoch.
        """
        if not self.results.is_file():
            return {}
        with self.results.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter=self.results_separator))
        if not rows:
            return {}
        header = rows[0]
        body = [row for row in rows[1:] if len(row) == len(header) and row[0].isdigit() and int(row[0]) < epochs]
        if len(body) != len(rows) - 1:
            logger.info("%s: removed %d row(s) of epochs lost in the interruption", self.results.name, len(rows) - 1 - len(body))
            text = io.StringIO()
            csv.writer(text, delimiter=self.results_separator).writerows([header, *body])
            atomic_write_text(self.results, text.getvalue())
        return {key: [_number(row[i]) for row in body] for i, key in enumerate(header) if "loss" in key}

    def best_weights(self, *, choose_flag: str = "--weights") -> Path:
        """The weights to separate with: the best checkpoint by the monitored loss.

        ``weights/best.json`` (written at each improvement) names it; without it,
        the checkpoint with the highest epoch (checkpoints are written only on
        improvement); without checkpoints, the final weights.

        Args:
            choose_flag: the caller's flag that picks other weights, named by the
                fallback warning and the error (evaluate.py's is ``--checkpoint``).

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
            raise ModelError(f"run folder {self.path} has no weights in {self.weights}: train it first, or pass {choose_flag}")
        chosen = max(checkpoints, key=_checkpoint_epoch) if checkpoints else finals[0]
        if problem is not None:  # never a silent fallback to other weights than the best
            logger.warning("%s: using %s instead (the latest checkpoint); pass %s to choose", problem, chosen.name, choose_flag)
        return chosen

    def identity(self, weights: Path | None = None) -> str:
        """sha256 (hex) over the best weights (or ``weights``), the configuration and the statistics: what a separation depends on.

        Two folders with the same identity separate alike; a retrained, re-configured (a wider
        band, say) or re-normalised model has another. The teacher cache and the catalog's
        receipts key on it.

        Raises:
            ModelError: the run has no weights (see ``best_weights``).
        """
        digest = hashlib.sha256()
        for path in (Path(weights) if weights is not None else self.best_weights(), self.configuration, self.zmuv_stats):
            digest.update(path.name.encode())
            if path.is_file():
                with path.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
        return digest.hexdigest()


def _checkpoint_epoch(path: Path) -> int:
    """The epoch in ``callback_weights_<epoch>.weights.h5`` (-1 without one).

    The suffix is cut first: the "5" of ".h5" is not an epoch.
    """
    numbers = _EPOCH.findall(path.name.removesuffix(".weights.h5"))
    return int(numbers[-1]) if numbers else -1


def _number(text: str) -> float:
    """A results cell as a float ("NA", Keras' mark of a missing value, and other text: NaN)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def unwritable(path: Path, error: OSError) -> UnmixError:
    """The one line for a run folder that cannot be written: a full disk, or a folder to change."""
    if is_no_space(error):
        return TrainingError(no_space_message(error.filename or path, then="train again"))
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
        "collection_folder": REDACTED if looks_secret(collection_folder) else collection_folder or "",
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
    """The ``UNMIX_*`` variables for environment.json, credentials (TOKEN, KEY, SECRET, PASSWORD in the name, or a URL with a password) redacted."""
    return {
        name: REDACTED if is_credential(name) or looks_secret(value) else value
        for name, value in sorted(environ.items())
        if name.startswith("UNMIX_")
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return ""


def start_run(
    environment: "EnvironmentOptions", *, callbacks: Mapping[str, Any], name: str, configuration: str, source: Path,
    collection_folder: str | None, environ: Mapping[str, str], working_directory: Path,
) -> RunFolder:  # fmt: skip
    """Create a run folder and write its configuration, environment and log.

    Args:
        environment: the configuration's ``environment`` section (where, and the file names).
        callbacks: ``training.callbacks`` (the names of results.csv and the TensorBoard folder).
        name: the configuration's name (the folder is ``<stamp>-<name>``).
        configuration: the resolved configuration as JSONC text (``Config.to_json``); values
            taken from credential variables are redacted (``redact_credentials``).
        source: the configuration file it was loaded from.
        collection_folder: the collection, for environment.json.
        environ: the variables the configuration saw (``UNMIX_*`` go into environment.json).
        working_directory: receives ``<environment.output_path>/``.

    The logs.txt handler stays attached to the ``unmix`` logger; the caller
    removes it (``unmix.log.remove_handler``) when the run ends.
    """
    from unmix import log

    folder = RunFolder.create(
        working_directory=working_directory, output_path=environment.output_path, configuration_name=name,
        **RunFolder.names(environment, callbacks),
    )  # fmt: skip
    try:
        folder.write_configuration(redact_credentials(configuration, environ))
        folder.write_environment(
            environment_info(
                configuration_file=source,
                working_directory=working_directory.resolve(),
                run_folder=folder.path.resolve(),
                collection_folder=collection_folder,
                environ=environ,
            )
        )
        folder.log_handler = log.add_log_file(folder.logs)
    except OSError as error:  # nothing of the run exists yet: leave no half-made folder behind
        shutil.rmtree(folder.path, ignore_errors=True)
        raise unwritable(folder.path.parent, error) from None
    return folder


def is_credential(name: str) -> bool:
    """Whether a variable holds a credential: an ``UNMIX_*`` name with TOKEN, KEY, SECRET or PASSWORD in it."""
    return name.startswith("UNMIX_") and is_secret_name(name)


def redact_credentials(configuration: str, environ: Mapping[str, str]) -> str:
    """The run's configuration text with every value of a credential variable replaced by its reference.

    A value equal to a set credential variable (``is_credential``; e.g. a key written as
    ``env('UNMIX_HUB_TOKEN')``) is written as ``"env('UNMIX_HUB_TOKEN', null)"``, never in
    clear. Reloading the run's configuration (``unmix.config.load_resolved``) reads the
    variable again: resuming with it set gets the same value back; without it (a predict on
    another machine) the key is null. Leading ``//`` comment lines are kept as they are.
    """
    secrets = {value: name for name, value in sorted(environ.items()) if is_credential(name) and value}
    if not secrets:
        return configuration
    lines = configuration.splitlines(keepends=True)
    header = "".join(line for line in lines if line.lstrip().startswith("//"))
    data = json.loads("".join(line for line in lines if not line.lstrip().startswith("//")))

    def redact(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: redact(value) for key, value in node.items()}
        if isinstance(node, list):
            return [redact(value) for value in node]
        if isinstance(node, str) and node in secrets:
            return f"env('{secrets[node]}', null)"
        return node

    return header + json.dumps(redact(data), indent=4) + "\n"
