"""Every shipped configuration honours the seed's UNMIX_* variables, or says which value won (fault injection 6).

Before, configurations/mini/*.jsonc hard-coded sample_rate, song_limit, test_data_count,
test_frequency and limit_items_per_song, so UNMIX_SONG_LIMIT and UNMIX_LIMIT_ITEMS_PER_SONG
were silently ignored there.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from unmix.config import load

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIGURATIONS = REPOSITORY / "configurations"
SHIPPED = sorted(str(p.relative_to(CONFIGURATIONS)) for p in CONFIGURATIONS.rglob("*.jsonc"))
# variable: (the key master.jsonc sets from it, the text to set, the value expected)
SEED_VARIABLES = {
    "UNMIX_COLLECTION_DIR": ("collection.folder", "/songs/elsewhere", "/songs/elsewhere"),
    "UNMIX_SAMPLE_RATE": ("collection.sample_rate", "22050", 22050),
    "UNMIX_SONG_LIMIT": ("collection.song_limit", "3", 3.0),
    "UNMIX_TEST_FREQUENCY": ("collection.test_frequency", "7", 7),
    "UNMIX_TEST_DATA_COUNT": ("collection.test_data_count", "5", 5),
    "UNMIX_LIMIT_ITEMS_PER_SONG": ("training.limit_items_per_song", "9", 9),
}
# Files that keep a value on purpose (the sample rate a model was trained at), for themselves and
# the configurations based on them: loading them with the variable set must say which value won.
PINNED = {
    "UNMIX_SAMPLE_RATE": {"final/hourglass.jsonc", "pretrained/default.jsonc", "default-spleeter.jsonc", "papers/hourglass-mir1k.jsonc"},
}

# Some configurations require the collection folder (no default): every load gets one.
BASE_ENVIRONMENT = {"UNMIX_COLLECTION_DIR": "/songs/default"}

pytestmark = pytest.mark.usefixtures("hermetic_environment")


def test_every_shipped_configuration_is_covered() -> None:
    assert "master.jsonc" in SHIPPED and any(name.startswith("mini/") for name in SHIPPED)


@pytest.mark.parametrize("variable", sorted(SEED_VARIABLES))
@pytest.mark.parametrize("name", SHIPPED)
def test_seed_variable_takes_effect_or_is_reported(name: str, variable: str, tmp_path: Path, caplog) -> None:
    key, text, expected = SEED_VARIABLES[variable]
    with caplog.at_level(logging.WARNING, logger="unmix.config"):
        config = load(CONFIGURATIONS / name, environ={**BASE_ENVIRONMENT, variable: text}, working_directory=tmp_path)
    ignored = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{variable}=")]
    origin = Path(config.origin(key))
    if origin.is_relative_to(CONFIGURATIONS) and str(origin.relative_to(CONFIGURATIONS)) in PINNED.get(variable, ()):
        assert config.get(key) != expected
        (message,) = ignored
        assert f"is ignored: {key} is " in message and f"set by {origin};" in message and f"env('{variable}'" in message
    else:
        assert config.get(key) == expected, f"{name}: {variable}={text} did not set {key}"
        assert ignored == []


def test_without_the_variables_nothing_is_reported(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="unmix.config"):
        for name in SHIPPED:
            load(CONFIGURATIONS / name, environ=BASE_ENVIRONMENT, working_directory=tmp_path)
    assert [r.getMessage() for r in caplog.records if "is ignored" in r.getMessage()] == []
