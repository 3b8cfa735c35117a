"""The typed sections of a configuration and their validation.

Each section is a frozen dataclass whose fields are the JSONC keys (seed-compatible
names). ``build_section`` reads them with the one validator, ``unmix.config.typed``
(its docstring has the rules): a wrong type or an unknown key is an error naming the
key, the file and (for a key) the closest known one; a key a section lists in
``DEPRECATED`` loads with a warning. Free-form subtrees (model options, optimizer
settings, callbacks) are typed ``Mapping`` and validated by whoever consumes them.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional

from unmix.errors import ConfigurationError
from unmix.config.typed import freeze, from_mapping, without_deprecated  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class WeightsOptions:
    folder: str = "weights"
    file: str = "weights.weights.h5"


@dataclass(frozen=True)
class EnvironmentOptions:
    DEPRECATED: ClassVar[Mapping[str, str]] = {
        "temp_folder": "nothing writes temporary files there (YouTube downloads go to the system's temporary folder)",
    }

    name: str = "unmix"
    output_path: str = "runs"
    log_file: str = "logs.txt"
    plot_folder: str = "plots"
    cache_folder: str = "cache"
    weights: WeightsOptions = WeightsOptions()


@dataclass(frozen=True)
class ChannelSplitOptions:
    """Which files hold voice and accompaniment in separate channels (MIR-1K): ``collection.channel_split``.

    The one type for it: ``unmix.data.layouts.discover`` takes this section as it is.

    Args:
        patterns: globs relative to the collection root, e.g. ``"mir-1k/**/*.flac"``; ``*``
            stays inside one folder, ``**/`` spans any number of folders (also none). Empty:
            no channel-split songs.
        vocals_channel: channel of the voice (MIR-1K: 1, the right channel).
        instrumental_channel: channel of the accompaniment (MIR-1K: 0).

    Raises:
        ConfigurationError: a single string instead of a list of patterns, or channels that
            are negative or equal.
    """

    patterns: tuple[str, ...] = ()
    vocals_channel: int = 1
    instrumental_channel: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.patterns, str):
            raise ConfigurationError(f"channel-split patterns must be a list of globs; received patterns={self.patterns!r}")
        object.__setattr__(self, "patterns", tuple(self.patterns))
        channels = (self.vocals_channel, self.instrumental_channel)
        if any(not isinstance(c, int) or c < 0 for c in channels) or channels[0] == channels[1]:
            raise ConfigurationError(
                f"channel-split channels must be two different channel numbers >= 0; received "
                f"vocals_channel={self.vocals_channel}, instrumental_channel={self.instrumental_channel}"
            )


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
    # Folders of instrumentals without vocals, relative to the folder or absolute: training-only, remixed under the collection's vocals.
    accompaniments: tuple[str, ...] = ()
    # The training mixture of a song's two stems: "sum", or "mean" (a channel-split file's mono downmix, as Park et al. mixed MIR-1K).
    mixture: str = "sum"

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
    # Hz: the teacher's targets below it, the true stems' above. None: the band the teacher's
    # network separates (Spleeter: 11025 Hz; its vocals are silent above), else the whole band.
    max_frequency: Optional[float] = None


@dataclass(frozen=True)
class HighBandLossOptions:
    # Hz: the loss counts the bins above it `weight` times (a quiet band, e.g. a voice's air above 11 kHz).
    frequency: float = 11025.0
    # How many times each bin above `frequency` counts; 1: every bin alike (the plain loss).
    weight: float = 1.0


@dataclass(frozen=True)
class TrainingOptions:
    batch_size: int = 8
    epoch: EpochOptions = EpochOptions()
    steps_per_epoch: int = 0
    limit_items_per_song: int = 0
    # Training windows: "grid" (every window, transformation.options.step apart) or "random" (one crop per song and pass at a random frame, Park et al.).
    sampling: str = "grid"
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
    high_band_loss: HighBandLossOptions = HighBandLossOptions()
    distribution: str = "none"
    mixed_precision: bool = False
    jit_compile: bool = False


@dataclass(frozen=True)
class TransformOptions:
    DEPRECATED: ClassVar[Mapping[str, str]] = {
        "shuffle": "training.epoch.shuffle shuffles the windows of every song each epoch",
        "save_audio": "the seed's debug dumps of training windows are gone",
        "save_image": "the seed's debug dumps of training windows are gone",
    }

    size: int = 64
    step: int = 64
    normalizer: str = "norm_max"
    # Stems the model predicts, stacked on its output channels in this order (Park et al.: instrumental, vocals).
    targets: tuple[str, ...] = ("vocals",)
    # A mask output: "sigmoid" (in [0, 1]) or "linear" (unbounded; separation clips negatives, Park et al.).
    mask_activation: str = "sigmoid"
    # What norm_max / norm_min_max scale by: each window's mix ("window") or the whole song's ("song", Park et al.).
    normalizer_scope: str = "window"


@dataclass(frozen=True)
class TransformationOptions:
    DEPRECATED: ClassVar[Mapping[str, str]] = {
        "normalizers": "set transformation.options.normalizer to \"zmuv\"; its statistics are computed and stored in the run folder",
    }

    name: str = "train_window_predict_mask"
    fft_window: int = 1536
    hop_length: int = 384
    window: str = "hann"
    overlap: float = 0.5
    wiener_iterations: int = -1
    # Models with several target outputs: ratio masks m_k = (e_k^p + eps/K) / (sum_j e_j^p + eps).
    mask_exponent: float = 2.0
    # Models with several targets: "ratio" masks of all (the instrumental is the input minus the rest) or "direct" (each its own, Park et al.).
    combination: str = "ratio"
    # Overlapping windows at separation: "taper" (a Hann blend) or "middle" (each frame from the window it is central in, Park et al.).
    stitching: str = "taper"
    # Arithmetic of the network at separation: float32, bfloat16, or auto (bfloat16 on CPUs with native bf16).
    precision: str = "float32"
    # Windows per model call at separation; 0: 4 x training.batch_size.
    batch_size: int = 0
    # Blocks separated at once on threads (one block's STFT beside another's network); each adds a block of memory.
    workers: int = 2
    # Seconds of audio per block at separation (rounded up to at least 8 windows): memory grows with it, and a
    # shorter block transforms more context frames again (a window of them on each side of every boundary).
    block_seconds: float = 30.0
    options: TransformOptions = TransformOptions()


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


def build_section(cls: type, data: Mapping[str, Any], *, key_path: str, origins: Mapping[str, Path]) -> Any:
    """Build the section dataclass ``cls`` from ``data`` by the rules of ``unmix.config.typed``.

    Raises:
        ConfigurationError: an unknown key or a value of the wrong type (names key, expected type, file).
    """
    return from_mapping(cls, data, key_path=key_path, origins=origins)


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

