"""JSONC parsing and the "base" inheritance chain (issue 2: inheritance)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from unmix.config import load
from unmix.config.jsonc import deep_merge, load_chain, merge_chain, read_jsonc, strip_block_comments
from unmix.errors import ConfigurationError


@pytest.fixture
def chain(configurations: Path, write) -> Path:
    """master ← parent (implicit master) ← final/child (base in the root) ← final/grandchild (base beside)."""
    write(
        "configurations/parent.jsonc",
        """
        {
            "environment": {"name": "parent"},
            "training": {"batch_size": 4, "metrics": ["sdr"], "model": {"options": {"stacks": 6}}}
        }
        """,
    )
    write(
        "configurations/final/child.jsonc",
        """
        {
            "base": "parent.jsonc",
            "training": {"optimizer": {"lr": 0.0001}, "model": {"options": {"hg_module": {"filters": 64}}}}
        }
        """,
    )
    return write(
        "configurations/final/grandchild.jsonc",
        """
        {
            "base": "child.jsonc",
            "training": {"metrics": ["sdr", "sir"], "model": {"options": {"hg_module": {"dropoutfactor": 0.2}}}}
        }
        """,
    )


def test_three_level_chain_ends_at_the_implicit_master(chain: Path, configurations: Path) -> None:
    files = [path for path, _ in load_chain(chain)]
    assert files == [
        (configurations / "master.jsonc").resolve(),
        (configurations / "parent.jsonc").resolve(),
        (configurations / "final" / "child.jsonc").resolve(),
        chain.resolve(),
    ]


def test_child_overrides_scalar_list_and_nested_object(chain: Path) -> None:
    config = load(chain, environ={})
    training = config.get("training")
    assert training["batch_size"] == 4  # scalar from the parent beats the master's 8
    assert training["metrics"] == ["sdr", "sir"]  # a list replaces, never concatenates
    assert training["optimizer"] == {"name": "adam", "lr": 0.0001}  # nested object merged key by key
    assert training["model"] == {
        "name": "hourglass",
        "options": {"stacks": 6, "hg_module": {"filters": 64, "dropoutfactor": 0.2}},
    }
    assert config.data["environment"] == {"name": "parent", "output_path": "runs"}
    assert "base" not in config.data
    assert config.name == "grandchild"


def test_a_child_list_replaces_a_longer_parent_list(configurations: Path, write) -> None:
    child = write("configurations/short.jsonc", '{"training": {"metrics": []}}')
    assert load(child, environ={}).training.metrics == ()


def test_a_child_may_replace_an_object_with_a_scalar_and_back() -> None:
    origins: dict = {}
    merged = deep_merge({"a": {"b": 1}, "c": 2}, {"a": 5, "c": {"d": 1}}, origins, source=Path("child.jsonc"))
    assert merged == {"a": 5, "c": {"d": 1}}
    assert origins == {"a": Path("child.jsonc"), "c": Path("child.jsonc"), "c.d": Path("child.jsonc")}


def test_a_child_naming_another_model_drops_the_parents_model_options() -> None:
    parent = {"training": {"model": {"name": "rnn", "options": {"hidden_size": 128, "layers": 2}}}}
    child = {"training": {"model": {"name": "unet", "options": {"filters": [8, 16]}}}}
    origins = {"training.model.options.hidden_size": Path("parent.jsonc")}
    merged = deep_merge(parent, child, origins, source=Path("child.jsonc"))
    assert merged["training"]["model"] == {"name": "unet", "options": {"filters": [8, 16]}}
    assert "training.model.options.hidden_size" not in origins


def test_a_child_naming_another_model_without_options_gets_its_defaults() -> None:
    parent = {"training": {"model": {"name": "rnn", "options": {"hidden_size": 128}}}}
    merged = deep_merge(parent, {"training": {"model": {"name": "unet"}}}, {}, source=Path("child.jsonc"))
    assert merged["training"]["model"] == {"name": "unet"}


def test_a_child_keeping_the_model_merges_its_options_key_by_key() -> None:
    parent = {"training": {"model": {"name": "rnn", "options": {"hidden_size": 128, "layers": 2}}}}
    for child_model in ({"name": "rnn", "options": {"layers": 3}}, {"options": {"layers": 3}}):
        merged = deep_merge(parent, {"training": {"model": child_model}}, {}, source=Path("child.jsonc"))
        assert merged["training"]["model"] == {"name": "rnn", "options": {"hidden_size": 128, "layers": 3}}


def test_optimizer_settings_still_merge_when_the_optimizer_changes() -> None:
    parent = {"training": {"optimizer": {"name": "adam", "lr": 0.001, "clipnorm": 1.0}}}
    merged = deep_merge(parent, {"training": {"optimizer": {"name": "sgd"}}}, {}, source=Path("child.jsonc"))
    assert merged["training"]["optimizer"] == {"name": "sgd", "lr": 0.001, "clipnorm": 1.0}


def test_merge_does_not_modify_its_inputs() -> None:
    parent = {"training": {"optimizer": {"lr": 1}}}
    child = {"training": {"optimizer": {"name": "sgd"}}}
    deep_merge(parent, child, {}, source=Path("x"))
    assert parent == {"training": {"optimizer": {"lr": 1}}}
    assert child == {"training": {"optimizer": {"name": "sgd"}}}


def test_base_beside_the_child_wins_over_the_root(configurations: Path, write) -> None:
    write("configurations/parent.jsonc", '{"training": {"batch_size": 1}}')
    write("configurations/final/parent.jsonc", '{"training": {"batch_size": 2}}')
    child = write("configurations/final/child.jsonc", '{"base": "parent.jsonc"}')
    assert load(child, environ={}).training.batch_size == 2


def test_base_is_found_in_the_configurations_root(configurations: Path, write) -> None:
    write("configurations/parent.jsonc", '{"training": {"batch_size": 1}}')
    child = write("configurations/final/deeper/child.jsonc", '{"base": "parent.jsonc"}')
    assert load(child, environ={}).training.batch_size == 1


def test_missing_base_lists_both_paths_tried(configurations: Path, write) -> None:
    child = write("configurations/final/child.jsonc", '{"base": "nowhere.jsonc"}')
    with pytest.raises(ConfigurationError, match="nowhere.jsonc") as caught:
        load(child, environ={})
    message = str(caught.value)
    assert str(configurations / "final" / "nowhere.jsonc") in message
    assert str(configurations / "nowhere.jsonc") in message
    assert "\n" not in message


def test_cycle_is_an_error_that_prints_the_chain(configurations: Path, write) -> None:
    a = write("configurations/a.jsonc", '{"base": "b.jsonc"}')
    write("configurations/b.jsonc", '{"base": "c.jsonc"}')
    write("configurations/c.jsonc", '{"base": "a.jsonc"}')
    with pytest.raises(ConfigurationError, match="cycle") as caught:
        load(a, environ={})
    message = str(caught.value)
    assert re.search(r"a\.jsonc -> .*b\.jsonc -> .*c\.jsonc -> .*a\.jsonc", message), message


def test_a_file_naming_itself_is_a_cycle(configurations: Path, write) -> None:
    me = write("configurations/me.jsonc", '{"base": "me.jsonc"}')
    with pytest.raises(ConfigurationError, match=r"cycle: .*me\.jsonc -> .*me\.jsonc"):
        load(me, environ={})


def test_master_must_not_name_a_base(configurations: Path, write) -> None:
    write("configurations/other.jsonc", "{}")
    write("configurations/master.jsonc", '{"base": "other.jsonc"}')
    child = write("configurations/child.jsonc", "{}")
    with pytest.raises(ConfigurationError, match="master.jsonc must not name a base"):
        load(child, environ={})


def test_base_must_be_a_string(configurations: Path, write) -> None:
    child = write("configurations/child.jsonc", '{"base": 3}')
    with pytest.raises(ConfigurationError, match="'base' must be a file name string, received 3"):
        load(child, environ={})


def test_naming_master_explicitly_is_the_same_as_the_implicit_master(configurations: Path, write) -> None:
    explicit = write("configurations/explicit.jsonc", '{"base": "master.jsonc"}')
    implicit = write("configurations/implicit.jsonc", "{}")
    assert load(explicit, environ={}).data == load(implicit, environ={}).data


def test_the_master_alone_loads(configurations: Path) -> None:
    merged, _ = merge_chain(load_chain(configurations / "master.jsonc"))
    assert merged["training"]["batch_size"] == 8


def test_block_line_and_hash_comments_and_trailing_commas(tmp_path: Path, write) -> None:
    path = write(
        "c.jsonc",
        """
        /* a block comment
           over two lines */
        {
            "a": 1, // a line comment
            # a hash comment
            "b": "keep /* this */ and // this",
            "c": [1, 2, 3,],
            "d": {"e": true,}, /* trailing */
        }
        """,
    )
    assert read_jsonc(path) == {"a": 1, "b": "keep /* this */ and // this", "c": [1, 2, 3], "d": {"e": True}}


def test_block_comments_keep_line_numbers() -> None:
    text = '/* one\ntwo\nthree */ {"a": "/* not a comment */"}'
    stripped = strip_block_comments(text)
    assert stripped.count("\n") == text.count("\n")
    assert '"/* not a comment */"' in stripped


def test_unclosed_block_comment_names_file_and_line(tmp_path: Path, write) -> None:
    path = write("c.jsonc", '{\n  "a": 1\n  /* never closed\n}\n')
    with pytest.raises(ConfigurationError, match=r"c\.jsonc: unclosed /\* comment starting at line 3"):
        read_jsonc(path)


def test_syntax_error_names_file_and_line(tmp_path: Path, write) -> None:
    path = write("broken.jsonc", '{\n    "a": 1,\n    "b": 2\n    "c": 3\n}\n')
    with pytest.raises(ConfigurationError, match=r"broken\.jsonc: not valid JSONC at line 4, column 5; check commas, quotes and brackets there$") as caught:
        read_jsonc(path)
    assert "\n" not in str(caught.value)


def test_syntax_error_in_a_parent_names_the_parent(configurations: Path, write) -> None:
    write("configurations/parent.jsonc", '{\n  "training": {\n    "batch_size": 4,,\n  }\n}\n')
    child = write("configurations/child.jsonc", '{"base": "parent.jsonc"}')
    with pytest.raises(ConfigurationError, match=r"child\.jsonc: base 'parent\.jsonc' cannot be used: .*parent\.jsonc: not valid JSONC at line 3"):
        load(child, environ={})


def test_top_level_must_be_an_object(tmp_path: Path, write) -> None:
    path = write("list.jsonc", "[1, 2]")
    with pytest.raises(ConfigurationError, match="top level must be an object"):
        read_jsonc(path)


def test_missing_configuration_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="configuration file not found: .*absent.jsonc"):
        load(tmp_path / "absent.jsonc", environ={})
    with pytest.raises(ConfigurationError, match="configuration file not found"):
        read_jsonc(tmp_path / "absent.jsonc")
