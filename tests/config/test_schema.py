"""Sections read by the one validator (issue 14; its rules are tested in test_typed.py): wrong types and
unknown keys are errors naming the key and the file, deprecated keys warn."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from unmix.config import load
from unmix.config.schema import CollectionOptions, Sections, build_section, known_keys
from unmix.errors import ConfigurationError


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ('{"training": {"batch_size": "four"}}', r"training\.batch_size in .*child\.jsonc: expected integer; received 'four'"),
        ('{"training": {"batch_size": 2.5}}', r"training\.batch_size in .*: expected integer; received 2\.5"),
        ('{"training": {"batch_size": true}}', r"training\.batch_size in .*: expected integer; received True"),
        ('{"collection": {"stereo": "yes"}}', r"collection\.stereo in .*: expected true/false; received 'yes'"),
        ('{"collection": {"validation_ratio": "0.2"}}', r"collection\.validation_ratio in .*: expected number"),
        ('{"collection": {"name": 5}}', r"collection\.name in .*: expected string or null; received 5"),
        ('{"training": {"metrics": "mae"}}', r"training\.metrics in .*: expected list of string; received 'mae'"),
        ('{"training": {"metrics": ["mae", 3]}}', r"training\.metrics\[1\] in .*: expected string; received 3"),
        ('{"training": {"optimizer": "adam"}}', r"training\.optimizer in .*: expected object; received 'adam'"),
        ('{"training": {"epoch": {"count": "many"}}}', r"training\.epoch\.count in .*: expected integer"),
        ('{"training": 3}', r"training in .*child\.jsonc: expected an object; received 3"),
        ('{"training": {"epoch": []}}', r"training\.epoch in .*: expected an object"),
    ],
)
def test_wrong_type_names_key_expected_type_and_file(configurations: Path, write, override: str, match: str) -> None:
    child = write("configurations/child.jsonc", override)
    with pytest.raises(ConfigurationError, match=match) as caught:
        load(child, environ={})
    assert "\n" not in str(caught.value)


def test_wrong_type_names_the_file_that_set_the_key(configurations: Path, write) -> None:
    write("configurations/parent.jsonc", '{"training": {"batch_size": "four"}}')
    child = write("configurations/child.jsonc", '{"base": "parent.jsonc", "training": {"seed": 1}}')
    with pytest.raises(ConfigurationError, match=r"training\.batch_size in .*parent\.jsonc: expected integer"):
        load(child, environ={})


def test_wrong_type_from_an_env_value_names_the_master(configurations: Path, write) -> None:
    write("configurations/master.jsonc", '{"training": {"batch_size": "env(\'UNMIX_BATCH\', 4)"}}')
    child = write("configurations/child.jsonc", "{}")
    with pytest.raises(ConfigurationError, match=r"training\.batch_size in .*master\.jsonc: expected integer; received 'x'"):
        load(child, environ={"UNMIX_BATCH": "x"})


def test_whole_floats_are_accepted_for_integers(configurations: Path, write) -> None:
    child = write("configurations/child.jsonc", '{"training": {"batch_size": 4.0}, "collection": {"song_limit": 3}}')
    config = load(child, environ={})
    assert config.training.batch_size == 4 and type(config.training.batch_size) is int
    assert config.collection.song_limit == 3.0 and type(config.collection.song_limit) is float


@pytest.mark.parametrize(
    ("override", "unknown", "suggestion"),
    [
        ('{"trainig": {}}', "trainig", "training"),
        ('{"training": {"bach_size": 4}}', "training.bach_size", "batch_size"),
        ('{"training": {"epoch": {"cuont": 4}}}', "training.epoch.cuont", "count"),
        ('{"collection": {"sample_rte": 4}}', "collection.sample_rte", "sample_rate"),
    ],
)
def test_unknown_key_is_an_error_with_did_you_mean(configurations: Path, write, override: str, unknown: str, suggestion: str) -> None:
    child = write("configurations/child.jsonc", override)
    with pytest.raises(ConfigurationError, match=rf"^{re.escape(unknown)} in .*child\.jsonc: unknown key '\w+'; known: .*did you mean '{suggestion}'\?$"):
        load(child, environ={})


def test_unknown_key_without_a_close_match_has_no_suggestion(configurations: Path, write) -> None:
    child = write("configurations/child.jsonc", '{"zzzzzz": 1}')
    with pytest.raises(ConfigurationError, match=r"^zzzzzz in .*child\.jsonc: unknown key 'zzzzzz'; known: environment, collection, [^;]*$"):
        load(child, environ={})


def test_free_form_subtrees_are_not_checked_key_by_key(configurations: Path, write, caplog: pytest.LogCaptureFixture) -> None:
    child = write("configurations/child.jsonc", '{"training": {"model": {"options": {"anything": [1, 2]}}}}')
    with caplog.at_level(logging.WARNING, logger="unmix"):
        config = load(child, environ={})
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert config.training.model.options["anything"] == (1, 2)


SHIPPED = Path(__file__).resolve().parents[2] / "configurations"


@pytest.mark.parametrize("name", sorted(str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob("*.jsonc")))
def test_shipped_configurations_have_no_unknown_or_deprecated_keys(name: str, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    with caplog.at_level(logging.WARNING, logger="unmix"):
        load(SHIPPED / name, environ={"UNMIX_COLLECTION_DIR": str(tmp_path)})
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_build_section_defaults_and_known_keys() -> None:
    options = build_section(CollectionOptions, {"stereo": False}, key_path="collection", origins={})
    assert options == CollectionOptions(stereo=False)
    assert options.n_channels == 1
    keys = known_keys(Sections)
    assert {"training.batch_size", "training.epoch.count", "collection.folder", "transformation.fft_window"} <= set(keys)


SEED_KEYS = {
    "environment.temp_folder": '{"environment": {"temp_folder": "temp"}}',
    "transformation.normalizers": '{"transformation": {"normalizers": {"zmuv": {"enabled": false}}}}',
    "transformation.options.shuffle": '{"transformation": {"options": {"shuffle": true}}}',
    "transformation.options.save_audio": '{"transformation": {"options": {"save_audio": false}}}',
    "transformation.options.save_image": '{"transformation": {"options": {"save_image": false}}}',
}


@pytest.mark.parametrize("key", sorted(SEED_KEYS))
def test_seed_keys_no_longer_read_load_with_one_deprecation_warning(configurations: Path, write, caplog: pytest.LogCaptureFixture, tmp_path: Path, key: str) -> None:
    """Issue 14: every declared key is read; the seed's unread ones went, and still load."""
    child = write("configurations/child.jsonc", SEED_KEYS[key])
    with caplog.at_level(logging.WARNING, logger="unmix"):
        config = load(child, environ={})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and re.match(rf"^{re.escape(key)} in .*child\.jsonc is deprecated and ignored: .+; remove it$", warnings[0]), warnings
    assert config.get(key, None) is None  # not written into a run folder's configuration.jsonc
    resolved = tmp_path / "configuration.jsonc"
    resolved.write_text(config.to_json())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="unmix"):
        load(resolved, environ={})
    assert not caplog.records


@pytest.mark.parametrize("key", sorted(SEED_KEYS))
def test_a_resolved_file_from_an_earlier_version_drops_its_deprecated_keys_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture, key: str) -> None:
    """A run folder or installed model written before a key went: unmix wrote it, so no warning on every predict."""
    import json

    tree = json.loads(SEED_KEYS[key])
    tree["meta"] = {"resolved": True, "source": "old.jsonc"}
    resolved = tmp_path / "configuration.jsonc"
    resolved.write_text(json.dumps(tree))
    with caplog.at_level(logging.WARNING, logger="unmix"):
        config = load(resolved, environ={})
    assert not caplog.records
    assert config.get(key, None) is None
