"""Optimizers from the training.optimizer section."""

from __future__ import annotations

import dataclasses

import keras
import pytest

from unmix.errors import ConfigurationError
from unmix.training.optimizers import available_optimizers, build_optimizer


def _lr(optimizer: keras.optimizers.Optimizer) -> float:
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("adam", keras.optimizers.Adam),
        ("Adam", keras.optimizers.Adam),
        ("adamw", keras.optimizers.AdamW),
        ("rmsprop", keras.optimizers.RMSprop),
        ("SGD", keras.optimizers.SGD),
    ],
)
def test_names_build_their_optimizer(name, kind) -> None:
    assert type(build_optimizer({"name": name})) is kind


def test_lr_and_learning_rate_are_synonyms() -> None:
    assert _lr(build_optimizer({"name": "adam", "lr": 1e-4})) == pytest.approx(1e-4)
    assert _lr(build_optimizer({"name": "adam", "learning_rate": 3e-4})) == pytest.approx(3e-4)
    assert _lr(build_optimizer({"name": "adam"})) == pytest.approx(1e-3)  # Keras' default


def test_both_learning_rate_keys_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match=r"training\.optimizer: both lr \(0\.1\) and learning_rate \(0\.2\) are given; keep one"):
        build_optimizer({"name": "adam", "lr": 0.1, "learning_rate": 0.2})


def test_clipnorm_weight_decay_momentum() -> None:
    assert build_optimizer({"name": "rmsprop", "clipnorm": 1.0}).clipnorm == 1.0
    assert build_optimizer({"name": "adamw", "weight_decay": 0.01}).weight_decay == pytest.approx(0.01)
    assert build_optimizer({"name": "sgd", "momentum": 0.9}).momentum == pytest.approx(0.9)


def test_dataclass_options_are_accepted() -> None:
    @dataclasses.dataclass(frozen=True)
    class OptimizerOptions:
        name: str = "adam"
        lr: float | None = 5e-4
        learning_rate: float | None = None

    assert _lr(build_optimizer(OptimizerOptions())) == pytest.approx(5e-4)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"name": "adamm"}, r"training\.optimizer\.name: unknown optimizer 'adamm'; known: adam, adamw, rmsprop, sgd; did you mean 'adam'\?"),
        ({"lr": 0.1}, r"training\.optimizer\.name: unknown optimizer None"),
        ({"name": "adam", "learningrate": 0.1}, r"training\.optimizer\.learningrate: unknown option for optimizer 'adam'; .*did you mean 'learning_rate'\?"),
        ({"name": "adam", "weight_decay": 0.1}, r"training\.optimizer\.weight_decay: unknown option for optimizer 'adam'; known: name, lr, learning_rate, clipnorm"),
        ({"name": "adam", "lr": "1e-4"}, r"training\.optimizer\.lr: expected a number; received '1e-4'"),
        ({"name": "adam", "lr": True}, r"training\.optimizer\.lr: expected a number; received True"),
        ({"name": "adam", "lr": 0}, r"training\.optimizer\.lr: expected a positive number; received 0"),
        ({"name": "sgd", "momentum": -0.5}, r"training\.optimizer\.momentum: expected a number >= 0; received -0\.5"),
        ({"name": "adam", "clipnorm": 0.0}, r"training\.optimizer\.clipnorm: expected a positive number"),
    ],
)
def test_bad_options_are_configuration_errors(options, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_optimizer(options)


def test_section_must_be_an_object() -> None:
    with pytest.raises(ConfigurationError, match=r"training\.optimizer: expected an object with a name; received 'adam'"):
        build_optimizer("adam")
    assert available_optimizers() == ["adam", "adamw", "rmsprop", "sgd"]


def test_a_step_decay_multiplies_the_rate_at_each_boundary() -> None:
    """Park et al. 2018: 1e-4, x 0.2 from step 12,000 on (a staircase over optimizer steps)."""
    optimizer = build_optimizer({"name": "adam", "lr": 1e-4, "decay_steps": 12000, "decay_rate": 0.2})
    rates = []
    for step in (0, 11999, 12000, 14999, 24000):
        optimizer.iterations.assign(step)
        rates.append(_lr(optimizer))
    assert rates == pytest.approx([1e-4, 1e-4, 2e-5, 2e-5, 4e-6])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"decay_steps": 100}, r"training\.optimizer\.decay_steps: given without decay_rate; a step decay needs both"),
        ({"decay_rate": 0.5}, r"training\.optimizer\.decay_rate: given without decay_steps"),
        ({"decay_steps": 0, "decay_rate": 0.5}, r"training\.optimizer\.decay_steps: expected a whole number of steps >= 1; received 0"),
        ({"decay_steps": 10.5, "decay_rate": 0.5}, r"training\.optimizer\.decay_steps: expected a whole number of steps >= 1; received 10\.5"),
        ({"decay_steps": 10, "decay_rate": 2}, r"training\.optimizer\.decay_rate: expected a factor in \(0, 1\]; received 2"),
        ({"decay_steps": 10, "decay_rate": 0}, r"training\.optimizer\.decay_rate: expected a positive number; received 0"),
    ],
)
def test_a_bad_step_decay_names_its_key(options, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_optimizer({"name": "adam", "lr": 1e-3, **options})


def test_a_step_decay_needs_the_rate_it_starts_from() -> None:
    with pytest.raises(ConfigurationError, match=r"training\.optimizer\.decay_steps: a step decay needs the learning rate it starts from; set training\.optimizer\.lr"):
        build_optimizer({"name": "adam", "decay_steps": 10, "decay_rate": 0.5})
