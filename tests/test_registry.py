"""The one registry class (issue 14): one lookup rule, one error, one duplicate check for every kind of name."""

from __future__ import annotations

import pytest

from unmix.errors import ConfigurationError
from unmix.registry import Registry, normalise


@pytest.fixture
def registry() -> Registry[int]:
    names: Registry[int] = Registry("colour", key="paint.colour")
    names.add("Dark-Red", 1, aliases=("maroon",))
    names.register("blue")(2)
    return names


@pytest.mark.parametrize("spelling", ["Dark-Red", "dark_red", " DARK-RED ", "maroon", "Maroon"])
def test_one_normalisation_rule_for_names_and_aliases(registry: Registry[int], spelling: str) -> None:
    assert registry.get(spelling) == 1 and spelling in registry


def test_normalise_is_strip_lower_and_dash_as_underscore() -> None:
    assert normalise(" L11-Loss ") == "l11_loss"


def test_register_returns_the_decorated_object() -> None:
    names: Registry[object] = Registry("thing", key="x")

    @names.register("f")
    def f() -> None: ...

    assert names.get("F") is f


def test_listing_is_sorted_in_registered_spelling_without_aliases(registry: Registry[int]) -> None:
    assert registry.names() == ["Dark-Red", "blue"]
    assert list(registry.items()) == [("Dark-Red", 1), ("blue", 2)]
    assert len(registry) == 2


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("blu", r"^paint\.colour: unknown colour 'blu'; known: Dark-Red, blue; did you mean 'blue'\?$"),
        ("zzzz", r"^paint\.colour: unknown colour 'zzzz'; known: Dark-Red, blue$"),
        (None, r"^paint\.colour: unknown colour None; known: Dark-Red, blue$"),
    ],
)
def test_unknown_name_is_one_line_with_known_names_and_a_suggestion(registry: Registry[int], name, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        registry.get(name)
    assert name not in registry


@pytest.mark.parametrize(("name", "aliases"), [("dark_red", ()), ("MAROON", ()), ("green", ("blue",)), ("green", ("Dark Red".replace(" ", "-"),))])
def test_a_name_or_alias_taken_twice_is_a_programming_error(registry: Registry[int], name: str, aliases: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"registered twice"):
        registry.add(name, 3, aliases=aliases)


def test_every_registry_of_unmix_is_a_registry() -> None:
    from unmix.dsp.normalizers import NORMALIZERS
    from unmix.models.registry import MODELS
    from unmix.pipeline.representations.registry import REPRESENTATIONS
    from unmix.training.losses import LOSSES
    from unmix.training.metrics import METRICS
    from unmix.training.optimizers import OPTIMIZERS

    registries = {"model": MODELS, "loss": LOSSES, "metric": METRICS, "optimizer": OPTIMIZERS, "representation": REPRESENTATIONS, "normalizer": NORMALIZERS}
    for kind, found in registries.items():
        assert isinstance(found, Registry) and found.kind == kind and len(found) > 0
    # One rule: a dash reads as an underscore in every kind of name.
    assert LOSSES.get("l11-loss") is LOSSES.get("L11_loss")
    assert MODELS.get("Hour-Glass".replace("-", "")) is MODELS.get("hourglass")
    assert NORMALIZERS.get("norm-max") is NORMALIZERS.get("norm_max")
    assert METRICS.get("MEAN-PRED") is METRICS.get("mean_pred")
