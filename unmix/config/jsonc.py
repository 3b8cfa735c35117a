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
from unmix.paths import what_is

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


def check_configuration_file(path: Path) -> None:
    """Refuse what is not a configuration file by what it is: missing, a folder, ``/dev/null`` (a device).

    Raises:
        ConfigurationError: ``path`` is not a regular file.
    """
    kind = what_is(path)
    if kind == "not found":
        raise ConfigurationError(f"configuration file not found: {path}")
    if kind != "a file":
        raise ConfigurationError(f"{path} is {kind}, not a configuration file; pass a .jsonc file, e.g. configurations/default-hourglass.jsonc")


def read_jsonc(path: Path) -> dict[str, Any]:
    """Parse one JSONC file into a dict.

    A UTF-8 byte order mark (Windows Notepad writes one) is skipped. A parse error names the
    line and column, never the file's text: a ``base`` can name any file (``/etc/passwd``).

    Raises:
        ConfigurationError: the file is missing, not a file, unreadable, binary, not JSONC or not an object.
    """
    check_configuration_file(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
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
        raise ConfigurationError(_parse_error(path, text, error)) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: the top level must be an object {{...}}, received {type(data).__name__}")
    return data


def _parse_error(path: Path, text: str, error: Exception) -> str:
    """The one line for a file commentjson cannot parse: where, and what to do; no text of the file.

    commentjson's own message holds the whole text ("('Unable to parse text', '…')") or a
    dump of the grammar; the position comes from lark's error, the message or its context.
    """
    line = column = None
    for cause in (error, error.__context__):
        if getattr(cause, "line", None) is not None:
            line, column = cause.line, getattr(cause, "column", None)
            break
    else:
        match = _LINE.search(str(error))
        line = int(match.group(1)) if match else None
    if line is None:
        return f"{path}: not valid JSONC; check commas, quotes and brackets"
    where = f"line {line}" + (f", column {column}" if column is not None else "")
    if column is not None:
        rest = text.splitlines()[line - 1][column - 1 :] if line - 1 < len(text.splitlines()) else ""
        if rest.lstrip("+-").startswith(("NaN", "Infinity")):
            return f"{path}: {where}: NaN and Infinity are not JSON numbers; write a finite number (or null)"
    return f"{path}: not valid JSONC at {where}; check commas, quotes and brackets there"


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
    """Look the base up beside the child, then in the configurations root.

    Raises:
        ConfigurationError: neither is a file; a folder or a device of that name is named as such.
    """
    tried = list(dict.fromkeys([child.parent / base, root / base]))  # one place when the child sits in the root
    for candidate in tried:
        if candidate.is_file():
            return candidate.resolve()
    for candidate in tried:
        kind = what_is(candidate)
        if kind != "not found":
            raise ConfigurationError(f"{child}: base {base!r} is {kind} ({candidate}), not a configuration file; name a .jsonc file")
    raise ConfigurationError(f"{child}: base {base!r} not found; tried {' and '.join(map(str, tried))}")


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
    named_by = ""  # "<child>: base '<name>'", once current is a base
    while current is not None:
        if current in seen:
            loop = " -> ".join(str(p) for p in [*seen, current])
            raise ConfigurationError(f"configuration inheritance cycle: {loop}")
        seen.append(current)
        try:
            data = read_jsonc(current)
        except ConfigurationError as error:
            if named_by:  # say which file named it: the base may be anyone's file
                raise ConfigurationError(f"{named_by} cannot be used: {error}") from None
            raise
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
            named_by = f"{current}: base {base!r}"
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
