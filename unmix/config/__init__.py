"""Load a configuration: JSONC chain → merge → env values → validated, immutable ``Config``.

TensorFlow-free so that the configuration check and ``--help`` are instant.

Example:
    >>> config = load("configurations/default-hourglass.jsonc")
    >>> config.get("training.batch_size")
    4
    >>> config.training.batch_size
    4
"""

from __future__ import annotations

import dataclasses
import json
import logging
from types import MappingProxyType
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unmix.config.env import EnvReference, ignored_variables, load_environment, resolve
from unmix.config.jsonc import check_configuration_file, load_chain, merge_chain, origin_of, read_jsonc
from unmix.config.secrets import redacted, secret_keys
from unmix.config.schema import (
    CollectionOptions,
    EnvironmentOptions,
    Sections,
    TrainingOptions,
    TransformationOptions,
    build_section,
    freeze,
    without_deprecated,
)
from unmix.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_MISSING = object()
logger = logging.getLogger(__name__)

__all__ = ["Config", "load", "load_resolved", "PROJECT_ROOT"]


@dataclass(frozen=True)
class Config:
    """A merged, resolved and validated configuration (immutable).

    ``data`` is the resolved tree, deeply read-only (what ``configuration.jsonc`` of a run holds);
    ``sections`` the typed view, always derived from ``data`` when the object is made, so the
    two cannot disagree: derive a changed copy with ``replace``. Pass this object (or one
    section of it) explicitly. ``origins`` maps each dotted key to the file that set it, so
    that a check made later (``unmix.config.validate``) can name the file to fix. ``secrets``
    maps each key that read a secret with env() (``unmix.config.secrets``) to its reference:
    ``to_json`` writes the reference instead of the value.

    Raises:
        ConfigurationError: ``data`` does not validate (see ``unmix.config.typed``).
    """

    data: Mapping[str, Any]
    path: Path
    name: str
    environ: Mapping[str, str]
    origins: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    secrets: Mapping[str, EnvReference] = field(default_factory=lambda: MappingProxyType({}))
    sections: Sections = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tree = {key: value for key, value in thaw(self.data).items() if key != "base"}
        sections = build_section(Sections, tree, key_path="", origins=self.origins)
        object.__setattr__(self, "data", freeze(without_deprecated(Sections, tree)))
        object.__setattr__(self, "sections", sections)
        object.__setattr__(self, "origins", MappingProxyType(dict(self.origins)))
        object.__setattr__(self, "secrets", MappingProxyType(dict(self.secrets)))
        object.__setattr__(self, "environ", MappingProxyType(dict(self.environ)))

    def replace(self, key: str, value: Any) -> Config:
        """A copy with the dotted ``key`` of the tree set to ``value``; tree and sections rebuilt together.

        A mapping is merged over the present value key by key (as a child configuration
        would be); anything else replaces it. Origins are kept: a message about a replaced
        key still names the file that set it before.

        Example:
            >>> other = config.replace("collection", {"folder": "/songs", "test_data_count": 0})

        Raises:
            ConfigurationError: the result does not validate.
        """
        data = thaw(self.data)
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigurationError(f"{key}: {part} is not an object in {self.origin(key)}; cannot replace {last}")
        if isinstance(value, Mapping) and isinstance(node.get(last), dict):
            node[last] = _merged(node[last], thaw(value))
        else:
            node[last] = thaw(value)
        kept = {k: r for k, r in self.secrets.items() if k != key and not k.startswith(f"{key}.")}  # a value given here is no env() secret
        return dataclasses.replace(self, data=data, secrets=kept)

    def origin(self, key: str) -> str:
        """The file that set ``key`` (or its nearest parent key), for messages."""
        return origin_of(key, self.origins) if self.origins else str(self.path)

    @property
    def environment(self) -> EnvironmentOptions:
        return self.sections.environment

    @property
    def collection(self) -> CollectionOptions:
        return self.sections.collection

    @property
    def training(self) -> TrainingOptions:
        return self.sections.training

    @property
    def transformation(self) -> TransformationOptions:
        return self.sections.transformation

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """Dotted access, e.g. ``config.get("training.batch_size")``.

        Raises:
            ConfigurationError: the key is absent and no default was given.
        """
        node: Any = self.data
        for part in key.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif default is _MISSING:
                raise ConfigurationError(f"configuration key {key} is not set in {self.path}")
            else:
                return default
        return thaw(node)

    def to_json(self) -> str:
        """The resolved tree as JSON text, marked resolved so it reloads without re-merging.

        A secret (``secrets``) is written as its env() reference, never in clear.
        """
        from unmix import __version__

        data = thaw(self.data)
        for key, reference in self.secrets.items():
            *parents, last = key.split(".")
            node: Any = data
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict) and last in node:
                node[last] = redacted(reference)
        data["meta"] = {"resolved": True, "source": str(self.path), "unmix_version": __version__}
        header = "// Resolved unmix configuration: loaded as it is, never merged again.\n"
        return header + json.dumps(data, indent=4, sort_keys=False) + "\n"


def _merged(present: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(present)
    for key, value in update.items():
        merged[key] = _merged(merged[key], value) if isinstance(value, Mapping) and isinstance(merged.get(key), dict) else value
    return merged


def thaw(value: Any) -> Any:
    """A plain, mutable (JSON-serialisable) copy of a frozen configuration tree."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [thaw(v) for v in value]
    return value


def load(
    path: str | Path,
    *,
    working_directory: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load a configuration file with its ``base`` chain ending at ``master.jsonc``.

    A resolved run configuration (``meta.resolved`` true) is loaded as it is. A
    variable that master.jsonc reads but a child hard-codes over (it would be
    ignored silently) is a warning naming the value that won and its file.

    Args:
        path: the ``.jsonc`` file.
        working_directory: where a ``.env`` is looked for first (default: current directory).
        environ: variables to use instead of ``os.environ`` (tests).

    Raises:
        ConfigurationError: any problem with the files, values or environment variables.
    """
    path = Path(path)
    check_configuration_file(path)
    working_directory = Path.cwd() if working_directory is None else Path(working_directory)
    variables = load_environment(working_directory=working_directory, project_root=PROJECT_ROOT, environ=environ)
    own = read_jsonc(path)
    if isinstance(own.get("meta"), Mapping) and own["meta"].get("resolved") is True:
        return load_resolved(path, environ=variables)
    chain = load_chain(path)
    merged, origins = merge_chain(chain)
    for message in ignored_variables(chain[0][1], merged, environ=variables, origins=origins):
        logger.warning("%s", message)
    resolved = resolve(merged, environ=variables, key_path="", origins=origins)
    return Config(
        data=resolved, path=path.resolve(), name=path.name.removesuffix(".jsonc"), environ=variables, origins=origins,
        secrets=secret_keys(merged, variables),
    )  # fmt: skip


def load_resolved(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load a run folder's ``configuration.jsonc`` as written (no merge); only its redacted credentials read the environment."""
    path = Path(path)
    written = read_jsonc(path)
    origins = {key: path for key in written}
    variables = dict(environ or {})
    # Secrets are written as env('NAME', null) (Config.to_json, unmix.runfolder.redact_credentials): read them again.
    data = resolve(written, environ=variables, key_path="", origins=origins)
    # unmix wrote this file, not the user: a key an earlier version wrote and this one no longer
    # reads (a run folder or an installed model from before) is dropped without a warning.
    data = without_deprecated(Sections, data)
    meta = data.get("meta", {}) if isinstance(data.get("meta"), Mapping) else {}
    name = Path(str(meta.get("source", path))).name.removesuffix(".jsonc")
    return Config(data=data, path=path.resolve(), name=name, environ=variables, origins=origins, secrets=secret_keys(written, variables))


def require_collection_folder(collection: CollectionOptions) -> Path:
    """The folder of the ``collection`` section, which training and evaluation need.

    Raises:
        ConfigurationError: it is not set, or does not exist; the message says what to set.
    """
    folder = collection.folder
    if not folder:
        raise ConfigurationError(
            "collection.folder is not set: set UNMIX_COLLECTION_DIR to your song collection folder "
            "(in the environment or a .env file), or set collection.folder in the configuration"
        )
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigurationError(f"collection folder not found: {path} (from collection.folder / UNMIX_COLLECTION_DIR)")
    return path
