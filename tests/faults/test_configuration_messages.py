"""Configuration files that are not what they should be: one clear line each (issue 29, minor 17).

A BOM-prefixed configuration (as Windows Notepad saves it) and a ``NaN`` were refused with a dump
of the file's text; ``base: /etc/passwd`` quoted that file; a base that is a folder said "not
found; tried X and X"; ``--configuration /dev/null`` or a folder said "not found".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unmix.cli import train
from unmix.cli.common import EXIT_OK, EXIT_USAGE

FOREIGN = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def _check(configuration: Path | str, work: Path, capsys) -> tuple[int, str]:
    code = train.main(["--configuration", str(configuration), "--workingdir", str(work), "--check"])
    return code, capsys.readouterr().err


def test_a_configuration_saved_with_a_byte_order_mark_is_read(tmp_path, training_environment, kit, capsys) -> None:
    plain = kit.child_configuration(tmp_path / "plain.jsonc", {"training": {"batch_size": 3}})
    with_bom = tmp_path / "notepad.jsonc"
    with_bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    code, err = _check(with_bom, tmp_path / "work", capsys)
    assert (code, err) == (EXIT_OK, "")


def _nan(tmp_path: Path, kit) -> tuple[Path, str]:
    path = tmp_path / "nan.jsonc"
    path.write_text('{"base": "mini/dummy.jsonc",\n  "training": {"optimizer": {"lr": NaN}}}\n')
    return path, f"error: {path}: line 2, column 36: NaN and Infinity are not JSON numbers; write a finite number (or null)"


def _foreign_base(tmp_path: Path, kit) -> tuple[Path, str]:
    foreign = tmp_path / "passwd"
    foreign.write_text(FOREIGN)
    child = kit.child_configuration(tmp_path / "child.jsonc", {})
    child.write_text(json.dumps({"base": str(foreign)}))
    return child, f"error: {child}: base {str(foreign)!r} cannot be used: {foreign}: not valid JSONC at line 1, column 1; check commas, quotes and brackets there"


def _folder_base(tmp_path: Path, kit) -> tuple[Path, str]:
    (tmp_path / "folder").mkdir()
    child = tmp_path / "child.jsonc"
    child.write_text(json.dumps({"base": "folder"}))
    return child, f"error: {child}: base 'folder' is a folder ({tmp_path / 'folder'}), not a configuration file; name a .jsonc file"


def _device(tmp_path: Path, kit) -> tuple[str, str]:
    return "/dev/null", "error: /dev/null is a character device, not a configuration file; pass a .jsonc file, e.g. configurations/default-hourglass.jsonc"


def _folder(tmp_path: Path, kit) -> tuple[Path, str]:
    return tmp_path, f"error: {tmp_path} is a folder, not a configuration file; pass a .jsonc file, e.g. configurations/default-hourglass.jsonc"


CASES = {"a NaN literal": _nan, "a base that is another program's file": _foreign_base, "a base that is a folder": _folder_base,
         "--configuration /dev/null": _device, "--configuration a folder": _folder}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_file_that_is_no_configuration_is_one_clear_line(case, tmp_path, training_environment, kit, capsys) -> None:
    configuration, expected = CASES[case](tmp_path, kit)
    code, err = _check(configuration, tmp_path / "work", capsys)
    assert code == EXIT_USAGE
    assert kit.one_line(err) == expected
    assert "root:" not in err and "Unable to parse" not in err  # never the file's text, never the parser's dump
