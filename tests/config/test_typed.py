"""The rules of the one mapping -> dataclass validator (``unmix.config.typed``), tested once (issue 14).

Configuration sections and model options both go through ``from_mapping``; the last test checks
that they do, so these rules hold for both.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional

import pytest

from unmix.config.typed import from_mapping
from unmix.errors import ConfigurationError


@dataclass(frozen=True)
class Inner:
    size: int = 1


@dataclass(frozen=True)
class Probe:
    DEPRECATED: ClassVar[Mapping[str, str]] = {"old": "use new instead"}

    flag: bool = False
    count: int = 0
    ratio: float = 0.5
    label: str = ""
    maybe: Optional[str] = "x"
    names: tuple[str, ...] = ()
    free: Mapping[str, Any] = field(default_factory=dict)
    inner: Inner = Inner()

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigurationError(f"count must be >= 0; received {self.count}")


ORIGINS = {"probe": Path("/c/probe.jsonc")}


def read(data: Any, origins: Mapping[str, Path] | None = ORIGINS) -> Probe:
    return from_mapping(Probe, data, key_path="probe", origins=origins)


def test_missing_keys_keep_the_defaults() -> None:
    assert read({}) == Probe()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"count": 3.0}, Probe(count=3)),  # a number without a fraction is an integer
        ({"ratio": 2}, Probe(ratio=2.0)),
        ({"flag": True}, Probe(flag=True)),
        ({"maybe": None}, Probe(maybe=None)),
        ({"names": []}, Probe(names=())),
        ({"names": ["a", "b"]}, Probe(names=("a", "b"))),
        ({"inner": {"size": 4}}, Probe(inner=Inner(size=4))),
    ],
)
def test_accepted_values(data: dict, expected: Probe) -> None:
    probe = read(data)
    assert probe == expected
    assert type(probe.count) is int and type(probe.ratio) is float


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"count": 3.5}, r"^probe\.count in /c/probe\.jsonc: expected integer; received 3\.5$"),
        ({"count": True}, r"^probe\.count in .*: expected integer; received True$"),
        ({"count": "3"}, r"^probe\.count in .*: expected integer; received '3'$"),
        ({"ratio": False}, r"^probe\.ratio in .*: expected number; received False$"),
        ({"flag": 1}, r"^probe\.flag in .*: expected true/false; received 1$"),
        ({"label": 5}, r"^probe\.label in .*: expected string; received 5$"),
        ({"maybe": 5}, r"^probe\.maybe in .*: expected string or null; received 5$"),
        ({"names": "a"}, r"^probe\.names in .*: expected list of string; received 'a'$"),
        ({"names": ["a", 2]}, r"^probe\.names\[1\] in .*: expected string; received 2$"),
        ({"free": [1]}, r"^probe\.free in .*: expected object; received \[1\]$"),
        ({"inner": 3}, r"^probe\.inner in .*: expected an object; received 3$"),
        ({"inner": {"size": "big"}}, r"^probe\.inner\.size in .*: expected integer; received 'big'$"),
        ({"cuont": 1}, r"^probe\.cuont in /c/probe\.jsonc: unknown key 'cuont'; known: flag, count, .*; did you mean 'count'\?$"),
        ({"inner": {"zzz": 1}}, r"^probe\.inner\.zzz in .*: unknown key 'zzz'; known: size$"),
        ({"count": -1}, r"^probe in /c/probe\.jsonc: count must be >= 0; received -1$"),  # the dataclass' own check
        ([], r"^probe in .*: expected an object; received \[\]$"),
    ],
)
def test_rejected_values_are_one_line_errors_naming_key_and_file(data: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        read(data)


def test_without_origins_no_file_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"^probe\.count: expected integer; received 'x'$"):
        read({"count": "x"}, origins=None)


def test_free_form_objects_are_kept_read_only() -> None:
    probe = read({"free": {"a": [1, {"b": 2}]}})
    assert isinstance(probe.free, types.MappingProxyType) and probe.free["a"] == (1, {"b": 2})
    with pytest.raises(TypeError):
        probe.free["a"] = 3  # type: ignore[index]


def test_deprecated_key_warns_once_naming_key_and_file_and_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="unmix"):
        probe = read({"old": 1, "count": 2})
    assert probe == Probe(count=2)
    assert [r.getMessage() for r in caplog.records] == ["probe.old in /c/probe.jsonc is deprecated and ignored: use new instead; remove it"]


def test_sections_and_model_options_share_the_rules() -> None:
    from unmix.config.schema import CollectionOptions, build_section
    from unmix.models.hourglass import HourglassOptions
    from unmix.models.registry import options_from_mapping

    assert build_section(CollectionOptions, {"test_data_count": 3.0}, key_path="collection", origins={}).test_data_count == 3
    assert options_from_mapping(HourglassOptions, {"stacks": 3.0}).stacks == 3
    for build in (
        lambda: build_section(CollectionOptions, {"stero": True}, key_path="collection", origins={}),
        lambda: options_from_mapping(HourglassOptions, {"stack": 3}),
    ):
        with pytest.raises(ConfigurationError, match=r"unknown key '\w+'; known: .*; did you mean"):
            build()
