"""The shipped default-<model> and mini/<model> configurations name valid model options.

Read with commentjson directly (the configuration package has its own tests): each file's model
options must parse into the model's options dataclass, and each mini configuration must build
for its 129-bin (FFT 256), 16-frame stereo windows.
"""

from __future__ import annotations

from pathlib import Path

import commentjson
import keras
import numpy as np
import pytest

from unmix.models import available_models, build_model, options_class, options_from_mapping

CONFIGURATIONS = Path(__file__).resolve().parents[2] / "configurations"


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return commentjson.load(handle)


def _merge(parent: dict, child: dict) -> dict:
    merged = dict(parent)
    for key, value in child.items():
        merged[key] = _merge(parent[key], value) if isinstance(value, dict) and isinstance(parent.get(key), dict) else value
    return merged


@pytest.mark.parametrize("name", sorted(available_models()))
def test_default_configuration_options_parse(name: str) -> None:
    model = _read(CONFIGURATIONS / f"default-{name}.jsonc")["training"]["model"]
    assert model["name"] == name
    options_from_mapping(options_class(name), model["options"])


@pytest.mark.parametrize("name", sorted(available_models()))
def test_mini_configuration_builds_for_its_window(name: str) -> None:
    mini = _read(CONFIGURATIONS / "mini" / f"{name}.jsonc")
    assert mini["base"] == f"default-{name}.jsonc"
    resolved = _merge(_read(CONFIGURATIONS / mini["base"]), mini)
    transformation = resolved["transformation"]
    shape = (transformation["fft_window"] // 2 + 1, transformation["options"]["size"], 2)
    from unmix.dsp.stft import StftOptions
    from unmix.pipeline.representations import TransformOptions, get_representation

    options = {k: v for k, v in transformation["options"].items() if k in ("size", "step", "normalizer")}
    stft = StftOptions(n_fft=transformation["fft_window"], hop_length=transformation["hop_length"])
    output = get_representation(transformation["name"], options=TransformOptions(**options), stft=stft).output_kind
    model = build_model(name, resolved["training"]["model"]["options"], input_shape=shape, output=output)
    x = np.ones((1, *shape), dtype=np.float32)
    for y in keras.tree.flatten(model(x)):  # one array, or one per target (spleeter)
        assert keras.ops.convert_to_numpy(y).shape == (1, *shape)


SHIPPED = sorted(path.relative_to(CONFIGURATIONS).as_posix() for path in CONFIGURATIONS.rglob("*.jsonc"))


@pytest.mark.parametrize("relative", SHIPPED)
def test_every_shipped_configuration_loads_with_valid_model_options(relative: str, tmp_path: Path) -> None:
    """The whole chain, through the real loader: a child that switches models must not inherit stale options."""
    from unmix.config import load, thaw

    config = load(CONFIGURATIONS / relative, environ={"UNMIX_COLLECTION_DIR": str(tmp_path)})
    model = config.training.model
    options_from_mapping(options_class(model.name), thaw(model.options))


def test_the_park_mir1k_configuration_builds_the_papers_sh_4stack(tmp_path: Path) -> None:
    """configurations/papers/hourglass-mir1k.jsonc: 34.18 M parameters (Park et al. 2018), four
    outputs of two stacked targets (accompaniment, voice) on a mono 513-bin, 64-frame window."""
    from unmix.config import load
    from unmix.dsp.stft import StftOptions
    from unmix.pipeline.representations import get_representation
    from unmix.training.checks import check_configuration

    config = load(CONFIGURATIONS / "papers" / "hourglass-mir1k.jsonc", environ={"UNMIX_COLLECTION_DIR": str(tmp_path)})
    check_configuration(config)
    stft = StftOptions.from_section(config.transformation)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    assert representation.targets == ("instrumental", "vocals") and representation.model_output == "linear_mask"
    input_shape = representation.input_shape(config.collection.n_channels)
    assert input_shape == (513, 64, 1)
    model = build_model(
        config.training.model.name, config.training.model.options, input_shape=input_shape,
        output=representation.model_output, n_targets=len(representation.targets),
    )  # fmt: skip
    assert abs(model.count_params() - 34.18e6) <= 0.01e6, model.count_params()
    assert [tuple(output.shape) for output in model.outputs] == [(None, 513, 64, 2)] * 4
