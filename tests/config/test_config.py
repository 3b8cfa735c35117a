"""The Config object: immutable, dotted access, typed sections, the shipped configurations."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import commentjson
import pytest

from unmix.config import Config, load, load_resolved, require_collection_folder, thaw
from unmix.errors import ConfigurationError

SHIPPED = Path(__file__).resolve().parents[2] / "configurations"


@pytest.fixture
def config(configurations: Path) -> Config:
    return load(configurations / "master.jsonc", environ={})


def test_get_dotted_access(config: Config) -> None:
    assert config.get("training.batch_size") == 8
    assert config.get("training.optimizer.lr") == 0.001
    assert config.get("training.model.options.hg_module.filters") == 256
    assert config.get("collection.folder") is None
    assert config.get("training") == thaw(config.data["training"])


def test_get_missing_key_is_an_error_naming_the_key(config: Config) -> None:
    with pytest.raises(ConfigurationError, match=r"configuration key training\.bach_size is not set in .*master\.jsonc"):
        config.get("training.bach_size")
    with pytest.raises(ConfigurationError, match=r"training\.batch_size\.x is not set"):
        config.get("training.batch_size.x")


def test_get_missing_key_with_default(config: Config) -> None:
    assert config.get("training.bach_size", None) is None
    assert config.get("nowhere.at.all", default=3) == 3
    assert config.get("training.batch_size", default=3) == 8


def test_get_returns_copies(config: Config) -> None:
    optimizer = config.get("training.optimizer")
    optimizer["lr"] = 1.0
    metrics = config.get("training.metrics")
    metrics.append("oops")
    assert config.get("training.optimizer.lr") == 0.001
    assert config.get("training.metrics") == ["mean_pred", "mae"]


def test_config_and_sections_are_immutable(config: Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.training.batch_size = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.training.epoch.count = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.training.optimizer["lr"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        config.training.model.options["hg_module"]["filters"] = 1  # type: ignore[index]
    assert isinstance(config.training.metrics, tuple)


def test_typed_sections(config: Config) -> None:
    assert config.training.batch_size == 8
    assert config.training.optimizer == {"name": "adam", "lr": 0.001}
    assert config.collection.sample_rate == 44100
    assert config.collection.n_channels == 2
    assert config.environment.output_path == "runs"
    assert config.transformation.fft_window == 1536  # a schema default the master does not set
    assert config.sections.training is config.training


def test_default_hourglass_configuration() -> None:
    config = load(SHIPPED / "default-hourglass.jsonc", environ={})
    assert config.name == "default-hourglass"
    assert config.environment.name == "default-hourglass"
    assert config.training.batch_size == 4
    assert config.training.loss_function == "L11_loss"
    assert config.training.optimizer["lr"] == 0.0001
    assert config.training.model.name == "hourglass"
    assert config.training.model.options["stacks"] == 4
    assert config.training.epoch.count == 100  # inherited from master.jsonc
    assert config.transformation.options.size == 64
    assert config.collection.folder is None
    assert config.collection.sample_rate == 44100


def test_final_hourglass_finds_its_base_in_the_configurations_root() -> None:
    config = load(SHIPPED / "final" / "hourglass.jsonc", environ={"UNMIX_COLLECTION_DIR": "/songs"})
    assert config.name == "hourglass"
    assert config.training.epoch.count == 100000
    assert config.training.loss_function == "L11_loss"  # from default-hourglass.jsonc
    assert config.training.model.options["stacks"] == 6
    assert config.training.model.options["hg_module"] == {"filters": 256, "batchnormalization": True, "dropoutfactor": 0.2}
    assert config.collection.test_data_count == 5
    assert config.collection.folder == "/songs"


def test_master_defaults_every_variable_but_the_collection(tmp_path: Path) -> None:
    config = load(SHIPPED / "master.jsonc", environ={})
    assert config.collection.folder is None
    with pytest.raises(ConfigurationError, match="collection.folder is not set: set UNMIX_COLLECTION_DIR"):
        require_collection_folder(config.collection)


def test_shipped_variables_override_defaults() -> None:
    environ = {
        "UNMIX_SAMPLE_RATE": "22050",
        "UNMIX_SONG_LIMIT": "0.5",
        "UNMIX_TEST_DATA_COUNT": "7",
        "UNMIX_TEST_FREQUENCY": "3",
        "UNMIX_LIMIT_ITEMS_PER_SONG": "10",
    }
    config = load(SHIPPED / "default-hourglass.jsonc", environ=environ)
    assert config.collection.sample_rate == 22050
    assert config.collection.song_limit == 0.5
    assert config.collection.test_data_count == 7
    assert config.collection.test_frequency == 3
    assert config.training.limit_items_per_song == 10
    final = load(SHIPPED / "final" / "hourglass.jsonc", environ=environ)
    assert final.collection.sample_rate == 44100  # the final model pins 44.1 kHz on purpose
    assert final.collection.test_data_count == 7


def test_require_collection_folder(tmp_path: Path, configurations: Path) -> None:
    config = load(configurations / "master.jsonc", environ={"UNMIX_COLLECTION_DIR": str(tmp_path / "absent")})
    with pytest.raises(ConfigurationError, match="collection folder not found: .*absent"):
        require_collection_folder(config.collection)
    config = load(configurations / "master.jsonc", environ={"UNMIX_COLLECTION_DIR": str(tmp_path)})
    assert require_collection_folder(config.collection) == tmp_path


def test_to_json_is_resolved_and_reloads_without_merging(configurations: Path, write, tmp_path: Path) -> None:
    child = write("configurations/child.jsonc", '{"training": {"batch_size": 2}}')
    config = load(child, environ={"UNMIX_SAMPLE_RATE": "16000"})
    text = config.to_json()
    data = commentjson.loads(text)
    assert data["meta"]["resolved"] is True
    assert data["meta"]["source"] == str(child.resolve())
    assert data["collection"]["sample_rate"] == 16000
    saved = tmp_path / "elsewhere" / "configuration.jsonc"
    saved.parent.mkdir()
    saved.write_text(text)
    again = load_resolved(saved)
    assert again.name == "child"
    assert {k: v for k, v in again.data.items() if k != "meta"} == config.data
    assert dataclasses.replace(again.sections, meta=config.sections.meta) == config.sections
    assert "meta" not in config.data  # to_json never changes the object itself


def test_data_tree_is_deeply_read_only(config: Config) -> None:
    with pytest.raises(TypeError):
        config.data["training"]["batch_size"] = 1  # type: ignore[index]
    assert isinstance(config.data["training"]["metrics"], tuple)
    copy = config.get("training")
    copy["batch_size"] = 1  # get() hands out a private, mutable copy
    assert config.get("training.batch_size") == 8


def test_replace_rebuilds_tree_and_sections_together(config: Config) -> None:
    """Issue 14: ``to_json()`` and ``config.collection`` can no longer disagree."""
    other = config.replace("collection", {"folder": "/songs", "test_data_count": 0, "channel_split": {"vocals_channel": 0, "instrumental_channel": 1}})
    assert other.collection.folder == "/songs" and other.collection.test_data_count == 0
    assert other.collection.channel_split.vocals_channel == 0 and other.collection.channel_split.patterns == ()
    assert other.get("collection.folder") == "/songs" and other.get("collection.sample_rate") == config.collection.sample_rate
    written = commentjson.loads(other.to_json())["collection"]
    assert written["folder"] == "/songs" and written["test_data_count"] == 0 and written["channel_split"]["vocals_channel"] == 0
    assert config.collection.folder is None and config.get("collection.folder") is None  # the original is untouched
    assert other.replace("training.batch_size", 3).training.batch_size == 3


def test_replace_from_a_section_dataclass_round_trips(config: Config) -> None:
    changed = dataclasses.replace(config.collection, folder="/x", validation_songs=("a",))
    other = config.replace("collection", dataclasses.asdict(changed))
    assert other.collection == changed and other.get("collection.validation_songs") == ["a"]


def test_replace_validates_and_sections_cannot_be_replaced_alone(config: Config) -> None:
    with pytest.raises(ConfigurationError, match=r"^collection\.test_data_count in .*: expected integer; received 'x'$"):
        config.replace("collection", {"test_data_count": "x"})
    with pytest.raises(ValueError, match="sections"):
        dataclasses.replace(config, sections=config.sections)
