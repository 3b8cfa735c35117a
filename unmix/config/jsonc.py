"""Read JSONC files and resolve their ``"base"`` chain into one merged dict.

commentjson understands ``//`` and ``#`` comments and trailing commas but not
``/* */`` block comments, so those are blanked out here first (keeping line
numbers, so parse errors still point at the right line).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import commentjson

from unmix.errors import ConfigurationError

MASTER_NAME = "master.jsonc"
_LINE = re.compile(r"line (\d+)", re.IGNORECASE)


def strip_block_comments(text: str) -> str:
    """Blank out ``/* … */`` comments outside strings, keeping newlines."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
        elif c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i) or c == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(text[i:end])
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                line = text.count("\n", 0, i) + 1
                raise ConfigurationError(f"unclosed /* comment starting at line {line}")
            out.append(re.sub(r"[^\n]", " ", text[i : end + 2]))
            i = end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_jsonc(path: Path) -> dict[str, Any]:
    """Parse one JSONC file into a dict.

    Raises:
        ConfigurationError: the file is missing, unreadable, binary, not JSONC or not an object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"configuration file not found: {path}") from None
    except OSError as error:
        raise ConfigurationError(f"cannot read configuration file {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"{path}: not a text file (byte {error.start} is not UTF-8); pass a .jsonc configuration, "
            f"e.g. configurations/default-hourglass.jsonc"
        ) from None
    if "\x00" in text:
        raise ConfigurationError(f"{path}: not a text file (it holds NUL bytes); pass a .jsonc configuration, e.g. configurations/default-hourglass.jsonc")
    try:
        data = commentjson.loads(strip_block_comments(text))
    except ConfigurationError as error:
        raise ConfigurationError(f"{path}: {error}") from None
    except Exception as error:  # commentjson wraps lark and json errors in several types
        match = _LINE.search(str(error))
        where = f" near line {match.group(1)}" if match else ""
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise ConfigurationError(f"{path}: not valid JSONC{where} ({first}); check commas, quotes and brackets") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: the top level must be an object {{...}}, received {type(data).__name__}")
    return data


def find_configurations_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``master.jsonc``, else the project's own."""
    for folder in [start, *start.parents]:
        if (folder / MASTER_NAME).is_file():
            return folder
    bundled = Path(__file__).resolve().parents[2] / "configurations"
    if (bundled / MASTER_NAME).is_file():
        return bundled
    raise ConfigurationError(f"no {MASTER_NAME} found above {start} nor in {bundled}: keep configurations/master.jsonc")


def resolve_base(child: Path, base: str, root: Path) -> Path:
    """Look the base up beside the child, then in the configurations root."""
    tried = [child.parent / base, root / base]
    for candidate in tried:
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigurationError(
        f"{child}: base {base!r} not found; tried {tried[0]} and {tried[1]}"
    )


def load_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Return ``[(file, data), …]`` from the master down to ``path``.

    Every chain ends at the root's ``master.jsonc`` without naming it; the
    master itself has no parent. A cycle is an error that prints the chain.
    """
    path = path.resolve()
    root = find_configurations_root(path.parent)
    master = (root / MASTER_NAME).resolve()
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    current: Path | None = path
    while current is not None:
        if current in seen:
            loop = " -> ".join(str(p) for p in [*seen, current])
            raise ConfigurationError(f"configuration inheritance cycle: {loop}")
        seen.append(current)
        data = read_jsonc(current)
        chain.append((current, data))
        base = data.get("base")
        if current == master:
            if base:
                raise ConfigurationError(f"{current}: master.jsonc must not name a base (found {base!r})")
            current = None
        elif base is None or base == "":
            current = master
        elif not isinstance(base, str):
            raise ConfigurationError(f"{current}: 'base' must be a file name string, received {base!r}")
        else:
            current = resolve_base(current, base, root)
    chain.reverse()
    return chain


def deep_merge(parent: dict[str, Any], child: dict[str, Any], origins: dict[str, Path], *, source: Path, prefix: str = "") -> dict[str, Any]:
    """Merge ``child`` over ``parent`` (objects key by key; scalars and lists replace).

    ``origins`` maps each dotted key to the file that set it, for error messages.
    """
    merged = copy.deepcopy(parent)
    for key, value in child.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            _drop_options_of_another_model(dotted, merged[key], value, origins)
            merged[key] = deep_merge(merged[key], value, origins, source=source, prefix=dotted + ".")
        else:
            merged[key] = copy.deepcopy(value)
            _record_origins(value, dotted, source, origins)
    return merged


# Objects whose "options" belong to the object's "name": a child that names another model
# starts from that model's defaults instead of inheriting options the new model does not have.
OPTIONS_FOLLOW_NAME = ("training.model",)


def _drop_options_of_another_model(dotted: str, parent: dict[str, Any], child: dict[str, Any], origins: dict[str, Path]) -> None:
    if dotted not in OPTIONS_FOLLOW_NAME or "name" not in child or child["name"] == parent.get("name"):
        return
    parent.pop("options", None)
    for stale in [k for k in origins if k == f"{dotted}.options" or k.startswith(f"{dotted}.options.")]:
        del origins[stale]


def _record_origins(value: Any, dotted: str, source: Path, origins: dict[str, Path]) -> None:
    for stale in [k for k in origins if k == dotted or k.startswith(dotted + ".")]:
        del origins[stale]
    origins[dotted] = source
    if isinstance(value, dict):
        for key, inner in value.items():
            _record_origins(inner, f"{dotted}.{key}", source, origins)


def merge_chain(chain: list[tuple[Path, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Path]]:
    """Merge a master-first chain; return the merged dict and key origins."""
    merged: dict[str, Any] = {}
    origins: dict[str, Path] = {}
    for source, data in chain:
        merged = deep_merge(merged, data, origins, source=source)
    merged.pop("base", None)
    return merged, origins


def origin_of(key_path: str, origins: dict[str, Path] | Any) -> str:
    """The file that set ``key_path`` (or its nearest parent key), for messages."""
    key = key_path.split("[")[0]
    while key:
        if key in origins:
            return str(origins[key])
        key = key.rpartition(".")[0]
    return "the configuration"
