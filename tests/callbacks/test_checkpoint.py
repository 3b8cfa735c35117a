"""Which way a monitored key improves comes from what it is, never from its spelling."""

from __future__ import annotations

import pytest

from unmix.config.validate import METRIC_MODES, monitor_mode
from unmix.errors import ConfigurationError
from unmix.training.metrics import available_metrics


@pytest.mark.parametrize("monitor", ["loss", "val_loss", "vocals_loss", "val_instrumental_loss"])
def test_a_loss_improves_downwards(monitor: str) -> None:
    assert monitor_mode(monitor) == "min"


def test_an_explicit_mode_wins() -> None:
    assert monitor_mode("val_loss", "max") == "max" and monitor_mode("val_mean_pred", "min") == "min"


@pytest.mark.parametrize("monitor", ["val_mean_pred", "max_pred", "val_acc", "sdr"])
def test_auto_refuses_a_key_of_no_known_direction(monitor: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^training\.callbacks\.early_stopping\.monitor: .* set training\.callbacks\.early_stopping\.mode to"):
        monitor_mode(monitor, key="training.callbacks.early_stopping")


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"model_checkpoint\.mode: Received: 'up'"):
        monitor_mode("val_loss", "up")


def test_every_registered_metric_declares_a_direction() -> None:
    assert set(METRIC_MODES) == set(available_metrics()), "add the new metric's direction to METRIC_MODES"
