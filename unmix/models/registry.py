"""The model registry: every architecture registers itself here by decorator.

A model module declares a frozen ``Options`` dataclass (its documented defaults) and a builder
``fn(options, *, input_shape, output) -> keras.Model`` decorated with
``@register_model("name", options=Options, description="...")``. ``build_model`` turns the
``training.model`` section of a configuration into a Keras model: it looks the name up
as every registry does (``unmix.registry``), converts the options mapping into the dataclass with
the validator of every configuration section (``unmix.config.typed``: unknown keys and wrong
types are errors naming the key path) and calls the builder for the representation's input shape.
"""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import keras

from unmix.config.typed import from_mapping
from unmix.errors import ConfigurationError, ModelError
from unmix.registry import Registry

OUTPUTS = ("mask", "linear_mask", "magnitude")

Builder = Callable[..., keras.Model]
OptionsT = TypeVar("OptionsT")


@dataclasses.dataclass(frozen=True)
class _Entry:
    name: str
    builder: Builder
    options: type
    description: str
    stacked_targets: bool


# The one decorator-filled registry of models (``unmix.registry``: one lookup rule for every name).
MODELS: Registry[_Entry] = Registry("model", key="training.model.name")


def register_model(name: str, *, options: type, description: str, stacked_targets: bool = False) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name`` (any case, ``-`` for ``_``).

    Args:
        name: the value of ``training.model.name`` that selects the model.
        options: the model's frozen options dataclass; its field defaults are the documented
            defaults.
        description: one line shown by ``train.py --list_models``.
        stacked_targets: the builder takes ``n_targets`` and outputs that many targets stacked
            on the channels (``transformation.options.targets``).

    Returns:
        A decorator that records the builder and returns it unchanged.

    Raises:
        ValueError: when the name is already registered or ``options`` is not a dataclass (a
            programming error, not a user one).
    """
    if name in MODELS:
        raise ValueError(f"model {name!r} is registered twice")
    if not dataclasses.is_dataclass(options):
        raise ValueError(f"options of model {name!r} must be a dataclass; received {options!r}")

    def decorator(builder: Builder) -> Builder:
        MODELS.add(name, _Entry(name=name, builder=builder, options=options, description=description, stacked_targets=stacked_targets))
        return builder

    return decorator


def available_models() -> dict[str, str]:
    """Every registered model name with its one-line description, sorted by name."""
    return {name: entry.description for name, entry in MODELS.items()}


def _lookup(name: str) -> _Entry:
    return MODELS.get(name)


def check_targets(name: str, n_targets: int) -> None:
    """Raise unless the model ``name`` can predict ``n_targets`` targets (more than one: ``stacked_targets``).

    Raises:
        ConfigurationError: an unknown name, or several targets for a model that predicts one.
    """
    entry = _lookup(name)
    if n_targets != 1 and not entry.stacked_targets:
        stacking = ", ".join(name for name, e in MODELS.items() if e.stacked_targets)
        raise ConfigurationError(
            f"transformation.options.targets: model {entry.name} predicts one target; received {n_targets} (models with several: {stacking})"
        )


def options_class(name: str) -> type:
    """The options dataclass of the model registered as ``name``.

    Raises:
        ConfigurationError: for an unknown model name.
    """
    return _lookup(name).options


def options_from_mapping(
    cls: type[OptionsT],
    mapping: Mapping[str, Any] | None,
    *,
    key_path: str = "training.model.options",
    origins: Mapping[str, Path] | None = None,
) -> OptionsT:
    """Build the frozen options dataclass ``cls`` from a configuration mapping.

    The rules are those of every configuration section (``unmix.config.typed``): missing keys
    keep the defaults, unknown keys are errors, ``DEPRECATED`` keys warn, nested dataclass
    fields take nested mappings.

    Args:
        cls: a (frozen) dataclass whose fields carry type annotations bool, int, float, str,
            ``tuple[int, ...]`` or another such dataclass.
        mapping: the options as read from the configuration (``None`` means all defaults).
        key_path: where the mapping sits in the configuration, for messages.
        origins: ``Config.origins``, to name the file in messages (``None``: no file).

    Returns:
        An instance of ``cls``.

    Raises:
        ConfigurationError: on an unknown key (with a "did you mean") or a value of the wrong type.
    """
    return from_mapping(cls, {} if mapping is None else mapping, key_path=key_path, origins=origins)


def build_model(
    name: str,
    options: Mapping[str, Any] | Any | None,
    *,
    input_shape: tuple[int, int, int],
    output: str = "mask",
    n_targets: int = 1,
) -> keras.Model:
    """Build the registered model ``name`` for one input shape.

    Args:
        name: ``training.model.name`` (case-insensitive).
        options: ``training.model.options`` as a mapping, an instance of the model's options
            dataclass, or ``None`` for the defaults.
        input_shape: ``(n_bins, n_frames, n_channels)`` of one window, channels-last; any
            positive bin and frame counts, 1 or 2 channels.
        output: ``"mask"`` (values in [0, 1], sigmoid), ``"linear_mask"`` (no activation) or
            ``"magnitude"`` (non-negative).
        n_targets: targets stacked on the output channels (``transformation.options.targets``);
            more than 1 only for models registered with ``stacked_targets``.

    Returns:
        An uncompiled ``keras.Model`` mapping ``(batch, n_bins, n_frames, n_channels)`` to
        ``(batch, n_bins, n_frames, n_targets * n_channels)`` (several such outputs for models
        with intermediate supervision; see ``prediction_model``).

    Raises:
        ConfigurationError: on an unknown name, bad options, a bad input shape or output kind,
            or several targets for a model that predicts one.
    """
    entry = _lookup(name)
    if isinstance(options, entry.options):
        parsed = options
    else:
        parsed = options_from_mapping(entry.options, options)
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(n, int) and n > 0 for n in shape):
        raise ConfigurationError(
            f"model {entry.name}: input_shape must be (n_bins, n_frames, n_channels) of positive "
            f"integers; received {input_shape!r}"
        )
    if output not in OUTPUTS:
        raise ConfigurationError(
            f"model {entry.name}: output must be one of {', '.join(OUTPUTS)}; received {output!r}"
        )
    check_targets(name, n_targets)
    if n_targets == 1:
        return entry.builder(parsed, input_shape=shape, output=output)
    return entry.builder(parsed, input_shape=shape, output=output, n_targets=n_targets)


def prediction_model(model: keras.Model) -> keras.Model:
    """The model itself, or for several outputs a model sharing its weights with only the last.

    Models with intermediate supervision (stacked hourglasses) output one prediction per module;
    inference uses the final one. A model whose outputs are named targets (a dict, such as
    ``{"vocals": …, "instrumental": …}``) is returned as it is: every output is a prediction.
    """
    if len(model.outputs) == 1 or isinstance(model.output, dict):
        return model
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, model.outputs[-1], name=f"{model.name}_prediction")


def load_matching_weights(model: keras.Model, weights: Path, *, model_name: str, target: str, advice: str) -> None:
    """``model.load_weights(weights)``; weights of another architecture or size are one ``ModelError`` line.

    Keras warns once per layer it cannot match ("Skipping nested container ...") and then
    raises a message cut at a colon, or one that prints whole tensors; neither says what to do.
    The warnings of a load that succeeds are shown as Keras wrote them.

    Args:
        target: what the weights were meant to fit, for the message ("configuration x.jsonc").
        advice: the message's last clause: how to fix it where the weights were given.
    """
    import warnings

    if not Path(weights).name.endswith((".h5", ".keras")):  # Keras' own error names formats, not the flag
        raise ModelError(f"cannot load weights {weights}: expected a .weights.h5 or .keras file")
    refuse_code_layers(weights)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(weights)
        except ValueError as error:
            counted = re.search(r"A total of (\d+) objects could not be loaded", str(error))
            if counted is None and not caught:
                raise
            count = int(counted.group(1)) if counted else 0
            detail = f"{count} layer{'s' if count != 1 else ''}" if counted else "some layers"
            raise ModelError(f"weights {weights} do not match {target}: {detail} of model {model_name} differ in shape or name; {advice}") from None
    for warning in caught:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def refuse_code_layers(path: Path) -> None:
    """Refuse a ``.keras`` file whose model holds a ``Lambda`` layer, before Keras reads it.

    A Lambda layer is Python code (marshalled bytecode); unmix loads models with
    ``safe_mode=True``, where Keras refuses it with a paragraph that ends in "pass
    safe_mode=False", and ``load_weights`` would instead blame a mismatch. Anything else (not a
    ``.keras`` file, not a zip, no ``config.json``) is left to the loader's own message.

    Raises:
        ModelError: one line naming the file, why it is refused and what to give instead.
    """
    if Path(path).suffix != ".keras":
        return
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return
    if _holds_lambda(config):
        raise ModelError(
            f"{path} holds a Lambda layer, which is Python code: unmix never loads code from a model file; "
            "give the model's weights as a .weights.h5 file, or a .keras model built from a configuration (train.py writes both)"
        )


def _holds_lambda(node: Any) -> bool:
    """Whether a Keras model configuration (nested dicts and lists) names a ``Lambda`` layer anywhere."""
    if isinstance(node, Mapping):
        return node.get("class_name") == "Lambda" or any(_holds_lambda(value) for value in node.values())
    if isinstance(node, list):
        return any(_holds_lambda(value) for value in node)
    return False


def copy_layers_by_name(target: keras.Model, source: keras.Model, *, target_name: str, source_name: str) -> int:
    """Copy the weights of every weighted layer of ``target`` from the layer of the same name in ``source``.

    Starts a model from another one that holds its layers and more: Spleeter's vocals U-Net
    alone from Deezer's two U-Nets. Keras' own ``load_weights`` matches layers by position, so
    it cannot skip the layers a smaller model lacks.

    A nested model of ``target`` that ``source`` lacks (a learned high band added to Deezer's
    U-Nets) is a new part: it keeps its initial weights.

    Returns:
        The number of layers copied.

    Raises:
        ModelError: a layer of ``target`` missing from ``source`` or of another shape, named.
    """
    layers = {layer.name: layer for layer in source.layers}
    copied = 0
    for layer in target.layers:
        weights = layer.get_weights()
        if not weights or (isinstance(layer, keras.Model) and layer.name not in layers):
            continue
        match = layers.get(layer.name)
        theirs = match.get_weights() if match is not None else []
        if [w.shape for w in theirs] != [w.shape for w in weights]:
            found = "has no such layer" if match is None else f"has it with shapes {[w.shape for w in theirs]}, not {[w.shape for w in weights]}"
            raise ModelError(f"cannot start {target_name} from {source_name}: layer {layer.name!r}: {source_name} {found}; use the options it was trained with")
        layer.set_weights(theirs)
        copied += 1
    return copied
