"""Loading a separation model: the configured network, its weights, its statistics, its targets.

The forward pass becomes one traced graph for every batch size, so a song of any length runs
the same compiled function. A model with named outputs (``{"vocals": …, "instrumental": …}``)
predicts one estimate per target; any other model predicts the vocals.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unmix.errors import ConfigurationError, ModelError, first_line
from unmix.separation.kernel import Predict


@dataclass(frozen=True)
class LoadedRun:
    """What a run folder says a separator needs: the resolved configuration, the weights, the statistics."""

    config: Any
    weights: Path
    stats: Any


def open_run(path: str | Path, *, weights: str | Path | None = None) -> LoadedRun:
    """The resolved configuration, the weights (the best unless ``weights`` names one) and the statistics of a run.

    Raises:
        ConfigurationError: not a run folder, or a bad configuration.
        ModelError: no weights.
    """
    from unmix.config import load_resolved
    from unmix.runfolder import RunFolder

    folder = RunFolder.open(path)
    config = load_resolved(folder.configuration)
    chosen = Path(weights) if weights is not None else folder.best_weights()
    return LoadedRun(config=config, weights=chosen, stats=load_stats(folder.zmuv_stats))


def stats_beside(weights: Path) -> Any:
    """Statistics of loose weights: a ``zmuv.json`` beside them, or their run's (``RunFolder.zmuv_stats_of_weights``)."""
    from unmix.runfolder import RunFolder

    found = RunFolder.zmuv_stats_of_weights(weights)
    return None if found is None else load_stats(found)


def load_stats(path: Path) -> Any:
    """ZMUV statistics from ``path``, or None when there is no such file."""
    if not path.is_file():
        return None
    from unmix.dsp.normalizers import ZmuvStats

    return ZmuvStats.from_json(path)


PRECISIONS = ("float32", "bfloat16", "auto")
# CPU flags of native bfloat16 matrix arithmetic (AVX-512 BF16, AMX): oneDNN runs bf16 convolutions
# on them about 1.5x faster than float32; elsewhere bf16 is emulated and slower.
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def check_precision(precision: str) -> str:
    """``precision`` itself when it is one of :data:`PRECISIONS`, else ``ConfigurationError``."""
    if precision not in PRECISIONS:
        raise ConfigurationError(f"transformation.precision (or --precision) must be one of {', '.join(PRECISIONS)}; received {precision!r}")
    return precision


def resolve_precision(precision: str) -> str:
    """``"float32"`` or ``"bfloat16"``: ``"auto"`` is bfloat16 on a CPU with native bf16 and no visible GPU.

    Raises:
        ConfigurationError: an unknown precision.
    """
    if check_precision(precision) != "auto":
        return precision
    import keras

    if keras.backend.backend() != "tensorflow":
        return "float32"
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float32"
    return "bfloat16" if native_bf16() else "float32"


def native_bf16() -> bool:
    """Whether this CPU has native bfloat16 arithmetic (its ``/proc/cpuinfo`` flags; False where there is none)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").split()
    except OSError:
        return False
    return any(flag in flags for flag in _BF16_FLAGS)


def with_precision(model: Any, precision: str) -> Any:
    """The model itself (float32), or a copy computing in bfloat16 with the same weights (kept in float32)."""
    if precision == "float32":
        return model
    import keras

    policy = keras.DTypePolicy("mixed_bfloat16")

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        config["dtype"] = policy
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    del model
    import gc

    gc.collect()  # the float32 copy's variables: a Spleeter-size model holds 79 MB
    return copy


def load_model(
    weights: str | Path | None, model_section: Any, *, input_shape: tuple[int, ...], output: str, precision: str = "float32",
    configuration: str | Path | None = None, n_targets: int = 1,
) -> Any:  # fmt: skip
    """Build the configured model (or load a ``.keras`` file) and load the weights; keep its predictions only.

    Args:
        weights: ``.weights.h5`` or ``.keras``; None keeps the model untrained.
        model_section: the configuration's ``training.model``.
        input_shape: ``(n_bins, size, n_channels)`` of one window.
        output: the representation's model output ("mask", "linear_mask" or "magnitude").
        precision: ``"float32"``, ``"bfloat16"`` or ``"auto"`` (see :func:`resolve_precision`).
        configuration: the file ``model_section`` comes from, named when the weights do not fit it.
        n_targets: targets the model stacks on its output channels.

    Raises:
        ModelError: a missing weights file, an unknown suffix, or weights that do not fit.
        ConfigurationError: an unknown precision.
    """
    from unmix.tensorflow_import import import_tensorflow_quietly

    import_tensorflow_quietly()  # its start-up lines once, filtered by TF_CPP_MIN_LOG_LEVEL; only here, where TensorFlow is needed
    precision = resolve_precision(precision)
    import keras

    from unmix.models.registry import build_model, load_matching_weights, prediction_model, refuse_code_layers

    if weights is not None:
        weights = Path(weights)
        if not weights.is_file():
            raise ModelError(f"weights file not found: {weights}")
    unreadable = "the file is damaged or not a Keras weights file: copy or download it again"
    try:
        if weights is not None and weights.suffix == ".keras":  # a whole model: the configuration builds nothing
            refuse_code_layers(weights)
            try:
                model = keras.saving.load_model(weights, compile=False, safe_mode=True)
            except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as error:
                raise ModelError(f"cannot read model {weights}: {first_line(error)}; {unreadable}") from None
        else:
            model = build_model(model_section.name, model_section.options, input_shape=input_shape, output=output, n_targets=n_targets)
            if weights is not None:
                load_matching_weights(
                    model, weights, model_name=model_section.name,
                    target=f"configuration {configuration}" if configuration else f"the configured model {model_section.name}",
                    advice="give the configuration the weights were trained with (a run folder's configuration.jsonc)",
                )  # fmt: skip
    except OSError as error:  # h5py's or zipfile's: the file is no weights file at all
        raise ModelError(f"cannot read weights {weights}: {first_line(error)}; {unreadable}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ModelError(f"cannot load weights {weights} into model {model_section.name}: {first_line(error)}; check that --configuration matches the weights") from None
    return with_precision(prediction_model(model), precision)


def targets_of(model: Any, *, stacked: tuple[str, ...] = ("vocals",)) -> tuple[str, ...]:
    """The target names of a Keras model: its output keys when they are named, else ``stacked``
    (the representation's targets, stacked on the output channels)."""
    output = getattr(model, "output", None)
    return tuple(output) if isinstance(output, Mapping) else tuple(stacked)


def keras_predict(model: Any) -> Predict:
    """The model's forward pass as one graph for every batch size (traced once, never retraced)."""
    import keras

    named = isinstance(getattr(model, "output", None), Mapping)

    def as_numpy(y: Any) -> Any:
        return {name: np.asarray(value) for name, value in y.items()} if named else np.asarray(y)

    if keras.backend.backend() != "tensorflow":
        return lambda x: as_numpy(model.predict_on_batch(x))
    import tensorflow as tf

    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]

    def forward(x: Any) -> Any:
        y = model(x, training=False)  # a bfloat16 model answers in bfloat16: cast back inside the graph
        return {name: tf.cast(v, tf.float32) for name, v in y.items()} if named else tf.cast(y, tf.float32)

    graph = tf.function(forward, input_signature=signature, autograph=False)

    def predict(x: np.ndarray) -> Any:
        return as_numpy(graph(x))

    return predict
