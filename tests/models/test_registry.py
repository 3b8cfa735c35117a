"""The model registry: lookup, option parsing and its errors, multi-output helpers."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.models import (
    available_models,
    build_model,
    options_class,
    options_from_mapping,
    prediction_model,
    register_model,
)
from unmix.models.hourglass import HourglassOptions, ModuleOptions
from unmix.models.unet import UnetOptions

SHAPE = (9, 4, 2)


def test_available_models_lists_every_model_with_a_description() -> None:
    models = available_models()
    assert set(models) == {"dummy", "hourglass", "unet", "leakyrelu", "largeleakyrelu", "mask", "rnn", "spleeter"}
    assert all(isinstance(text, str) and text for text in models.values())


def test_names_are_case_insensitive() -> None:
    assert build_model("DuMMy", None, input_shape=SHAPE).name == "dummy"
    assert options_class("HOURGLASS") is HourglassOptions


def test_unknown_model_lists_known_names_and_suggests() -> None:
    with pytest.raises(ConfigurationError, match=r"training\.model\.name: unknown model 'hourglas'; known: dummy, hourglass, .*did you mean 'hourglass'\?"):
        build_model("hourglas", None, input_shape=SHAPE)
    with pytest.raises(ConfigurationError, match=r"training\.model\.name: unknown model 'zzz'; known: .*rnn, spleeter, unet$"):
        options_class("zzz")


def test_options_from_mapping_fills_defaults_and_nests() -> None:
    options = options_from_mapping(HourglassOptions, {"stacks": 6, "hg_module": {"filters": 512}})
    assert options.stacks == 6 and options.hourglasses == 1
    assert options.hg_module == ModuleOptions(filters=512)
    assert options_from_mapping(HourglassOptions, None) == HourglassOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.stacks = 3  # type: ignore[misc]


def test_ints_are_accepted_for_floats_and_lists_become_tuples() -> None:
    options = options_from_mapping(UnetOptions, {"dropout": 0, "filters": [4, 8]})
    assert options.dropout == 0.0 and isinstance(options.dropout, float)
    assert options.filters == (4, 8)


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"stack": 4}, r"training\.model\.options\.stack: unknown key 'stack'; known: .*stacks.*; did you mean 'stacks'\?"),
        ({"zzz": 4}, r"training\.model\.options\.zzz: unknown key 'zzz'; known: stacks, hourglasses, [^;]*$"),
        ({"hg_module": {"filter": 8}}, r"training\.model\.options\.hg_module\.filter: unknown key 'filter'; known: .*filters.*; did you mean 'filters'\?"),
        ({"stacks": "4"}, r"^training\.model\.options\.stacks: expected integer; received '4'$"),
        ({"stacks": True}, r"^training\.model\.options\.stacks: expected integer; received True$"),
        ({"stacks": 4.5}, r"^training\.model\.options\.stacks: expected integer; received 4\.5$"),
        ({"hg_module": 8}, r"^training\.model\.options\.hg_module: expected an object; received 8$"),
        ({"hg_module_end": {"batchnormalization": "yes"}}, r"hg_module_end\.batchnormalization: expected true/false; received 'yes'"),
    ],
)
def test_bad_options_are_configuration_errors(mapping, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_model("hourglass", mapping, input_shape=SHAPE)


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"filters": []}, r"training\.model\.options\.filters: expected a non-empty list of integers \(one per level\); received \[\]"),
        ({"filters": [4, "8"]}, r"training\.model\.options\.filters\[1\]: expected integer; received '8'"),
        ({"filters": 4}, r"training\.model\.options\.filters: expected list of integer; received 4"),
        ({"filters": [4, 0]}, r"training\.model\.options\.filters\[1\]: expected a positive integer; received 0"),
    ],
)
def test_bad_list_options(mapping, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_model("unet", mapping, input_shape=SHAPE)


def test_options_must_be_a_mapping() -> None:
    with pytest.raises(ConfigurationError, match=r"training\.model\.options: expected an object; received \[1\]"):
        build_model("dummy", [1], input_shape=SHAPE)


def test_options_instance_is_used_as_is() -> None:
    model = build_model("unet", UnetOptions(filters=(2, 2)), input_shape=SHAPE)
    assert len([layer for layer in model.layers if isinstance(layer, keras.layers.Conv2DTranspose)]) == 2


@pytest.mark.parametrize("shape", [(9, 4), (0, 4, 2), (9.0, 4, 2)])
def test_bad_input_shape(shape) -> None:
    with pytest.raises(ConfigurationError, match=r"model dummy: input_shape must be \(n_bins, n_frames, n_channels\)"):
        build_model("dummy", None, input_shape=shape)


def test_bad_output_kind() -> None:
    with pytest.raises(ConfigurationError, match=r"output must be one of mask, linear_mask, magnitude; received 'phase'"):
        build_model("dummy", None, input_shape=SHAPE, output="phase")


@pytest.mark.parametrize(
    ("name", "mapping", "match"),
    [
        ("rnn", {"hidden_size": 5}, r"hidden_size: must be even when bidirectional .*received 5"),
        ("rnn", {"layers": 0}, r"training\.model\.options\.layers: expected a positive integer"),
        ("mask", {"dropout": -0.1}, r"training\.model\.options\.dropout: expected a dropout rate in \[0, 1\)"),
        ("mask", {"filter_factor": 0}, r"training\.model\.options\.filter_factor: expected a positive"),
        ("leakyrelu", {"dropout": 1.0}, r"training\.model\.options\.dropout: expected a dropout rate"),
        ("unet", {"dropout": 2.0}, r"training\.model\.options\.dropout: expected a dropout rate"),
        ("unet", {"kernel_size": 0}, r"training\.model\.options\.kernel_size: expected a positive"),
        ("dummy", {"size": 1}, r"training\.model\.options\.size: unknown key 'size'; known: \(none\)$"),
    ],
)
def test_model_specific_validation(name, mapping, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_model(name, mapping, input_shape=SHAPE)


def test_several_targets_need_a_model_that_stacks_them() -> None:
    with pytest.raises(ConfigurationError, match=r"^transformation\.options\.targets: model dummy predicts one target; received 2 \(models with several: hourglass\)$"):
        build_model("dummy", None, input_shape=SHAPE, n_targets=2)


def test_rnn_may_run_one_way() -> None:
    model = build_model("rnn", {"hidden_size": 3, "layers": 1, "bidirectional": False}, input_shape=SHAPE)
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]


def test_registering_twice_or_without_dataclass_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"model 'Dummy' is registered twice"):
        register_model("Dummy", options=HourglassOptions, description="x")
    with pytest.raises(ValueError, match=r"options of model 'other' must be a dataclass"):
        register_model("other", options=dict, description="x")
    assert "other" not in available_models()


def test_prediction_model_is_the_final_output() -> None:
    single = build_model("dummy", None, input_shape=SHAPE)
    stacked = build_model(
        "hourglass", {"stacks": 1, "hourglasses": 3, "initial_filters": 1, "hg_module": {"filters": 1}}, input_shape=SHAPE
    )
    assert prediction_model(single) is single
    final = prediction_model(stacked)
    assert len(final.outputs) == 1 and final.outputs[0] is stacked.outputs[-1]
    x = np.random.default_rng(0).random((1, *SHAPE), dtype=np.float32)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(final(x)), keras.ops.convert_to_numpy(stacked(x)[-1])
    )
