"""env('NAME'[, default]) values, their casts, and .env files (issue 2: env values)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from unmix.config import load
from unmix.config.env import EnvReference, load_environment, parse, resolve
from unmix.errors import ConfigurationError


def _resolve(value: str, environ: dict[str, str]) -> object:
    return resolve(value, environ=environ, key_path="section.key", origins={"section": Path("file.jsonc")})


@pytest.mark.parametrize(
    ("expression", "variable", "expected"),
    [
        ("env('V')", "text", "text"),
        ("int(env('V'))", "12", 12),
        ("int(env('V'))", " -3 ", -3),
        ("float(env('V'))", "0.25", 0.25),
        ("float(env('V'))", "2", 2.0),
        ("bool(env('V'))", "true", True),
        ("bool(env('V'))", "Yes", True),
        ("bool(env('V'))", "1", True),
        ("bool(env('V'))", "off", False),
        ("bool(env('V'))", "0", False),
        ("str(env('V'))", "007", "007"),
        ('int(env("V"))', "5", 5),
        ("  int ( env ( 'V' ) )  ", "6", 6),
    ],
)
def test_typed_forms_convert_the_variable(expression: str, variable: str, expected: object) -> None:
    result = _resolve(expression, {"V": variable})
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("env('V', 'fallback')", "fallback"),
        ("env('V', null)", None),
        ("env('V', None)", None),
        ("int(env('V', null))", None),
        ("int(env('V', 3))", 3),
        ("int(env('V', 3.0))", 3),
        ("float(env('V', 2))", 2.0),
        ("float(env('V', -1.5e-3))", -1.5e-3),
        ("bool(env('V', false))", False),
        ("bool(env('V', True))", True),
        ("bool(env('V', 'yes'))", True),
        ("str(env('V', 5))", "5"),
        ("env('V', 'it\\'s')", "it's"),
    ],
)
def test_defaults_apply_when_the_variable_is_missing(expression: str, expected: object) -> None:
    result = _resolve(expression, {})
    assert result == expected
    assert type(result) is type(expected)


def test_a_set_variable_beats_the_default() -> None:
    assert _resolve("int(env('V', 3))", {"V": "4"}) == 4


def test_an_empty_variable_is_set() -> None:
    assert _resolve("env('V', 'fallback')", {"V": ""}) == ""


def test_parse_returns_the_reference() -> None:
    assert parse("int(env('UNMIX_X', 7))") == EnvReference("UNMIX_X", True, 7, "int")
    assert parse("env('UNMIX_X')") == EnvReference("UNMIX_X", False, None, None)
    assert parse("plain text") is None
    assert parse("environment") is None


def test_resolve_descends_into_objects_and_lists() -> None:
    value = {"a": ["int(env('A'))", {"b": "env('B', 'x')"}], "c": 1.5, "d": None}
    assert resolve(value, environ={"A": "1"}, key_path="", origins={}) == {"a": [1, {"b": "x"}], "c": 1.5, "d": None}


def test_missing_variable_names_variable_key_path_and_file(configurations: Path, write) -> None:
    child = write("configurations/child.jsonc", '{"collection": {"name": "env(\'UNMIX_REQUIRED\')"}}')
    with pytest.raises(ConfigurationError, match=r"UNMIX_REQUIRED is not set \(needed by collection\.name in .*child\.jsonc\)"):
        load(child, environ={})


def test_missing_variable_in_a_list_names_the_index(configurations: Path, write) -> None:
    child = write("configurations/child.jsonc", '{"training": {"metrics": ["mae", "env(\'UNMIX_METRIC\')"]}}')
    with pytest.raises(ConfigurationError, match=r"UNMIX_METRIC .*training\.metrics\[1\] in .*child\.jsonc"):
        load(child, environ={})


def test_bad_conversion_names_variable_key_path_and_file(configurations: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"UNMIX_SONG_LIMIT='abc' is not a valid float for collection\.song_limit in .*master\.jsonc"):
        load(configurations / "master.jsonc", environ={"UNMIX_SONG_LIMIT": "abc"})


def test_bad_conversion_in_the_shipped_configuration() -> None:
    shipped = Path(__file__).resolve().parents[2] / "configurations" / "default-hourglass.jsonc"
    with pytest.raises(ConfigurationError, match=r"UNMIX_SONG_LIMIT='abc' .*collection\.song_limit in .*configurations/master\.jsonc"):
        load(shipped, environ={"UNMIX_SONG_LIMIT": "abc"})


@pytest.mark.parametrize(
    ("expression", "variable", "match"),
    [
        ("int(env('V'))", "1.5", "V='1.5' is not a valid int"),
        ("int(env('V'))", "", "V='' is not a valid int"),
        ("bool(env('V'))", "maybe", "V='maybe' is not a valid bool"),
        ("float(env('V'))", "fast", "V='fast' is not a valid float"),
    ],
)
def test_bad_conversions(expression: str, variable: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match + r" for section\.key in file\.jsonc: "):
        _resolve(expression, {"V": variable})


def test_bad_bool_says_what_is_accepted() -> None:
    with pytest.raises(ConfigurationError, match="expected true/false, yes/no, on/off or 1/0"):
        _resolve("bool(env('V'))", {"V": "maybe"})


def test_bad_default_conversion() -> None:
    with pytest.raises(ConfigurationError, match="V=2.5 is not a valid int"):
        _resolve("int(env('V', 2.5))", {})


def test_resolution_happens_after_merge(configurations: Path, write) -> None:
    """A parent's variable that a child overrides is never needed."""
    write("configurations/parent.jsonc", '{"collection": {"folder": "env(\'UNMIX_NEVER_SET\')"}}')
    child = write("configurations/child.jsonc", '{"base": "parent.jsonc", "collection": {"folder": "/music"}}')
    assert load(child, environ={}).collection.folder == "/music"
    with pytest.raises(ConfigurationError, match=r"UNMIX_NEVER_SET .*collection\.folder in .*parent\.jsonc"):
        load(configurations / "parent.jsonc", environ={})


def test_code_stays_a_plain_string_and_never_runs(configurations: Path, write, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    code = f"__import__('os').system('touch {marker}')"
    child = write(
        "configurations/child.jsonc",
        '{"collection": {"name": "%s"}, "environment": {"name": "str(env(\'UNMIX_CODE\'))"}}' % code,
    )
    config = load(child, environ={"UNMIX_CODE": code})
    assert config.collection.name == code
    assert config.environment.name == code
    assert parse(code) is None
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "env(UNMIX_X)",
        "env('UNMIX_X'",
        "int(env('UNMIX_X')",
        "env('UNMIX_X', 'a', 'b')",
        "env('UNMIX_X',)",
        "env('UNMIX_X') + 1",
        "env()",
        "env(1)",
        "float(env('UNMIX_X', __import__('os')))",
        "env('UNMIX_X', os.system('true'))",
        "int(env('UNMIX_X')) if True else 0",
    ],
)
def test_malformed_env_expressions(text: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ConfigurationError, match=r"malformed env\(\) value"):
        parse(text)
    assert not marker.exists()


def test_malformed_env_expression_names_key_path_and_file(configurations: Path, write) -> None:
    child = write("configurations/child.jsonc", '{"collection": {"name": "env(UNMIX_X)"}}')
    with pytest.raises(ConfigurationError, match=r"malformed env\(\) value 'env\(UNMIX_X\)'.*collection\.name in .*child\.jsonc"):
        load(child, environ={})


# === .env files ===
def _dotenv(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".env").write_text(text, encoding="utf-8")


def test_dotenv_in_the_working_directory(tmp_path: Path) -> None:
    _dotenv(tmp_path / "work", "UNMIX_A=from-work\n# a comment\nexport UNMIX_B='quoted value'\n")
    variables = load_environment(working_directory=tmp_path / "work", project_root=tmp_path / "project", environ={})
    assert variables == {"UNMIX_A": "from-work", "UNMIX_B": "quoted value"}


def test_dotenv_in_the_project_root(tmp_path: Path) -> None:
    _dotenv(tmp_path / "project", "UNMIX_A=from-project\n")
    variables = load_environment(working_directory=tmp_path / "work", project_root=tmp_path / "project", environ={})
    assert variables == {"UNMIX_A": "from-project"}


def test_precedence_real_environment_then_working_directory_then_project(tmp_path: Path) -> None:
    _dotenv(tmp_path / "project", "UNMIX_ALL=project\nUNMIX_TWO=project\nUNMIX_ONE=project\n")
    _dotenv(tmp_path / "work", "UNMIX_ALL=work\nUNMIX_TWO=work\n")
    variables = load_environment(
        working_directory=tmp_path / "work", project_root=tmp_path / "project", environ={"UNMIX_ALL": "real"}
    )
    assert variables == {"UNMIX_ALL": "real", "UNMIX_TWO": "work", "UNMIX_ONE": "project"}


def test_os_environ_is_the_default_and_is_never_modified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _dotenv(tmp_path / "work", "UNMIX_FROM_FILE=file\nUNMIX_BOTH=file\n")
    monkeypatch.setenv("UNMIX_BOTH", "real")
    variables = load_environment(working_directory=tmp_path / "work", project_root=tmp_path / "project")
    assert variables["UNMIX_BOTH"] == "real"
    assert variables["UNMIX_FROM_FILE"] == "file"
    assert "UNMIX_FROM_FILE" not in os.environ


def test_load_reads_dotenv_from_the_working_directory(configurations: Path, tmp_path: Path) -> None:
    _dotenv(tmp_path / "work", "UNMIX_SAMPLE_RATE=22050\n")
    config = load(configurations / "master.jsonc", working_directory=tmp_path / "work", environ={})
    assert config.collection.sample_rate == 22050
    config = load(configurations / "master.jsonc", working_directory=tmp_path / "work", environ={"UNMIX_SAMPLE_RATE": "16000"})
    assert config.collection.sample_rate == 16000


def test_load_reads_dotenv_from_the_project_root(configurations: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import unmix.config

    _dotenv(tmp_path / "project", "UNMIX_SAMPLE_RATE=8000\n")
    monkeypatch.setattr(unmix.config, "PROJECT_ROOT", tmp_path / "project")
    config = load(configurations / "master.jsonc", working_directory=tmp_path / "work", environ={})
    assert config.collection.sample_rate == 8000
