"""Known-answer tests of the shared "unknown name" message (unmix.errors)."""

import pytest

from unmix.errors import ConfigurationError, UnmixError, did_you_mean, unknown_name


def test_unknown_name_with_a_close_match() -> None:
    error = unknown_name("training.model.name", "model", "hourglas", ["dummy", "hourglass", "unet"])
    assert isinstance(error, ConfigurationError) and isinstance(error, UnmixError)
    assert str(error) == (
        "training.model.name: unknown model 'hourglas'; known: dummy, hourglass, unet; did you mean 'hourglass'?"
    )


def test_unknown_name_without_a_close_match_has_no_suggestion() -> None:
    error = unknown_name("metric", "metric", "zzz", ("museval", "mir_eval", "global"))
    assert str(error) == "metric: unknown metric 'zzz'; known: museval, mir_eval, global"


def test_unknown_name_matches_ignoring_case_and_reports_the_original_spelling() -> None:
    error = unknown_name("training.loss_function", "loss", "l11LOSS", ["L11_loss", "L22_loss_weighted"])
    assert str(error) == (
        "training.loss_function: unknown loss 'l11LOSS'; known: L11_loss, L22_loss_weighted; did you mean 'L11_loss'?"
    )


def test_unknown_name_keeps_the_given_order_and_accepts_any_iterable() -> None:
    error = unknown_name("oracle", "oracle", "irn", iter(["irm", "ibm", "mixture"]))
    assert str(error) == "oracle: unknown oracle 'irn'; known: irm, ibm, mixture; did you mean 'irm'?"


def test_unknown_name_of_a_non_string_and_of_an_empty_set() -> None:
    assert str(unknown_name("training.optimizer.name", "optimizer", None, ["adam", "sgd"])) == (
        "training.optimizer.name: unknown optimizer None; known: adam, sgd"
    )
    assert str(unknown_name("training.model.options.size", "option", "size", [])) == (
        "training.model.options.size: unknown option 'size'; known: (none)"
    )


def test_unknown_name_is_returned_not_raised() -> None:
    with pytest.raises(ConfigurationError, match=r"^x: unknown thing 'b'; known: a$"):
        raise unknown_name("x", "thing", "b", ["a"])


@pytest.mark.parametrize(
    ("name", "known", "expected"),
    [
        ("learningrate", ["name", "lr", "learning_rate", "clipnorm"], "; did you mean 'learning_rate'?"),
        ("STACK", ["stacks", "hourglasses"], "; did you mean 'stacks'?"),
        ("adamm", ["Adam", "SGD"], "; did you mean 'Adam'?"),
        ("zzzzzz", ["stacks", "hourglasses"], ""),
        ("a", [], ""),
        (None, ["adam"], ""),
    ],
)
def test_did_you_mean(name: object, known: list[str], expected: str) -> None:
    assert did_you_mean(name, known) == expected
