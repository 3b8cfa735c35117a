"""The typed sections of a configuration and their validation.

Each section is a frozen dataclass whose fields are the JSONC keys (seed-compatible
names). Validation walks the dataclasses: a wrong type is an error naming the key,
the expected type and the file; an unknown key is a warning with the closest known
key. Free-form subtrees (model options, optimizer settings) are typed ``Mapping``
and validated by the registry that consumes them.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from unmix.config.jsonc import origin_of
from unmix.errors import ConfigurationError, did_you_mean

logger = logging.getLogger(__name__)


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType({k: freeze(v) for k, v in value.items()})


def freeze(value: Any) -> Any:
    """A deeply read-only copy: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, Mapping):
        return _frozen_mapping(value)
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class WeightsOptions:
    folder: str = "weights"
    file: str = "weights.weights.h5"


@dataclass(frozen=True)
class EnvironmentOptions:
    name: str = "unmix"
    output_path: str = "runs"
    log_file: str = "logs.txt"
    plot_folder: str = "plots"
    temp_folder: str = "temp"
    cache_folder: str = "cache"
    weights: WeightsOptions = WeightsOptions()


@dataclass(frozen=True)
class ChannelSplitOptions:
    patterns: tuple[str, ...] = ()
    vocals_channel: int = 1
    instrumental_channel: int = 0


@dataclass(frozen=True)
class CollectionOptions:
    folder: Optional[str] = None
    name: Optional[str] = None
    sample_rate: int = 44100
    stereo: bool = True
    song_limit: float = 0
    validation_ratio: float = 0.2
    validation_songs: tuple[str, ...] = ()
    validation_split_file: Optional[str] = None
    test_data_count: int = 2
    test_frequency: int = 0
    test_save_count: int = 1
    channel_split: ChannelSplitOptions = ChannelSplitOptions()
    # Folders of plain mixtures (no stems), relative to the folder or absolute: training-only, teacher-labelled.
    unlabeled: tuple[str, ...] = ()

    @property
    def n_channels(self) -> int:
        return 2 if self.stereo else 1


@dataclass(frozen=True)
class EpochOptions:
    count: int = 100
    shuffle: bool = True


@dataclass(frozen=True)
class ModelSection:
    name: str = "hourglass"
    options: Mapping[str, Any] = field(default_factory=dict)
    # Weights to start from: a built-in model's name (e.g. "spleeter-2stems") or a weights file.
    pretrained: str = ""


@dataclass(frozen=True)
class AugmentationOptions:
    enabled: bool = False
    remix_probability: float = 0.5
    gain_min: float = 0.25
    gain_max: float = 1.25
    channel_swap: bool = True
    silent_keep_rate: float = 0.1


@dataclass(frozen=True)
class TeacherOptions:
    # A built-in model's name (e.g. "spleeter-2stems") or a run folder; "": no teacher.
    name: str = ""
    # The loss is (1 - weight) * true-stem term + weight * teacher term.
    weight: float = 0.5


@dataclass(frozen=True)
class TrainingOptions:
    batch_size: int = 8
    epoch: EpochOptions = EpochOptions()
    steps_per_epoch: int = 0
    limit_items_per_song: int = 0
    verbose: int = 1
    seed: int = 42
    workers: int = 0
    loss_function: str = "mean_squared_error"
    metrics: tuple[str, ...] = ("mean_pred",)
    optimizer: Mapping[str, Any] = field(default_factory=lambda: {"name": "adam", "lr": 0.001})
    model: ModelSection = ModelSection()
    callbacks: Mapping[str, Any] = field(default_factory=dict)
    augmentation: AugmentationOptions = AugmentationOptions()
    teacher: TeacherOptions = TeacherOptions()
    distribution: str = "none"
    mixed_precision: bool = False
    jit_compile: bool = False


@dataclass(frozen=True)
class TransformOptions:
    size: int = 64
    step: int = 64
    shuffle: bool = True
    normalizer: str = "norm_max"
    save_audio: bool = False
    save_image: bool = False


@dataclass(frozen=True)
class TransformationOptions:
    name: str = "train_window_predict_mask"
    fft_window: int = 1536
    hop_length: int = 384
    window: str = "hann"
    overlap: float = 0.5
    wiener_iterations: int = -1
    # Models with several target outputs: ratio masks m_k = (e_k^p + eps/K) / (sum_j e_j^p + eps).
    mask_exponent: float = 2.0
    # Arithmetic of the network at separation: float32, bfloat16, or auto (bfloat16 on CPUs with native bf16).
    precision: str = "float32"
    # Windows per model call at separation; 0: 4 x training.batch_size.
    batch_size: int = 0
    # Blocks separated at once on threads (one block's STFT beside another's network); each adds a block of memory.
    workers: int = 2
    options: TransformOptions = TransformOptions()
    normalizers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetaOptions:
    """Written into a run folder's configuration: it is already resolved."""

    resolved: bool = False
    source: str = ""
    unmix_version: str = ""


@dataclass(frozen=True)
class Sections:
    environment: EnvironmentOptions = EnvironmentOptions()
    collection: CollectionOptions = CollectionOptions()
    training: TrainingOptions = TrainingOptions()
    transformation: TransformationOptions = TransformationOptions()
    meta: MetaOptions = MetaOptions()


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return f"{_type_name(inner[0])} or null"
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if origin in (Mapping, dict) or annotation is Mapping:
        return "object"
    if dataclasses.is_dataclass(annotation):
        return "object"
    return {int: "integer", float: "number", bool: "true/false", str: "string"}.get(annotation, str(annotation))


def _check(value: Any, annotation: Any) -> Any:
    """Return the value coerced to the annotation, or raise TypeError."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        if value is None:
            return None
        inner = [a for a in typing.get_args(annotation) if a is not type(None)][0]
        return _check(value, inner)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError
        item = typing.get_args(annotation)[0]
        return tuple(_check(v, item) for v in value)
    if origin in (Mapping, dict) or annotation is Mapping:
        if not isinstance(value, Mapping):
            raise TypeError
        return _frozen_mapping(value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise TypeError
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise TypeError
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise TypeError
        return value
    raise TypeError


def build_section(cls: type, data: Mapping[str, Any], *, key_path: str, origins: Mapping[str, Path]) -> Any:
    """Build dataclass ``cls`` from ``data``, validating every known key.

    Raises:
        ConfigurationError: a value has the wrong type (names key, expected type, file).
    """
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key_path} must be an object in {origin_of(key_path, origins)}, received {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{key_path}.{key}" if key_path else key
        if key not in hints:
            if key == "base":
                continue
            hint = did_you_mean(key, names)
            logger.warning("unknown configuration key %s in %s (ignored)%s", dotted, origin_of(dotted, origins), hint)
            continue
        annotation = hints[key]
        if dataclasses.is_dataclass(annotation):
            values[key] = build_section(annotation, value, key_path=dotted, origins=origins)
            continue
        try:
            values[key] = _check(value, annotation)
        except TypeError:
            raise ConfigurationError(
                f"{dotted} in {origin_of(dotted, origins)} must be {_type_name(annotation)}, received {value!r}"
            ) from None
    return cls(**values)


def known_keys(cls: type = Sections, prefix: str = "") -> list[str]:
    """Every dotted key the schema knows (for documentation and suggestions)."""
    keys = []
    for f in dataclasses.fields(cls):
        dotted = f"{prefix}{f.name}"
        keys.append(dotted)
        annotation = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(annotation):
            keys.extend(known_keys(annotation, dotted + "."))
    return keys

