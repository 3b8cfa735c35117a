"""Stems, formats, song names and file-name templates: one definition, checked before any model loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from unmix.audio.writer import WRITABLE_EXTENSIONS
from unmix.errors import ConfigurationError
from unmix.separation.outputs import BIT_DEPTHS, FORMATS, STEMS, OutputSpec, check_template, parse_stems, song_name_of, stem_paths, subtype_of


def test_formats_are_what_the_writer_writes():
    assert FORMATS == ("wav", "flac", "mp3")
    assert tuple(f".{f}" for f in FORMATS) == WRITABLE_EXTENSIONS
    assert STEMS == ("vocals", "instrumental")


def test_song_names():
    assert song_name_of(Path("x/My Song.mp3")) == "My Song"
    assert song_name_of(Path("track.stem.mp4")) == "track"
    assert song_name_of(Path("a.b.wav")) == "a.b"


def test_templates():
    assert stem_paths(Path("out"), "s", template="{song}/{stem}.{ext}", stems=("vocals",), file_format="mp3") == {"vocals": Path("out/s/vocals.mp3")}
    check_template("{song}.{ext}", ("vocals",))
    with pytest.raises(ConfigurationError, match="unknown field {name}"):
        check_template("{name}/{stem}.{ext}", ("vocals",))
    with pytest.raises(ConfigurationError, match="no {stem}"):
        check_template("{song}.{ext}", ("vocals", "instrumental"))
    with pytest.raises(ConfigurationError, match="relative path inside the output folder"):
        check_template("../{song}/{stem}.{ext}", ("vocals",))
    with pytest.raises(ConfigurationError, match="--filename '{song'"):
        check_template("{song", ("vocals",))
    with pytest.raises(ConfigurationError, match="unknown output format 'ogg'"):
        stem_paths(Path("out"), "s", template="{stem}", stems=("vocals",), file_format="ogg")
    with pytest.raises(ConfigurationError, match="expected vocals and/or instrumental"):
        stem_paths(Path("out"), "s", template="{stem}", stems=("drums",), file_format="wav")


def test_parse_stems():
    assert parse_stems("vocals, instrumental") == ("vocals", "instrumental")
    assert parse_stems("instrumental") == ("instrumental",)
    for text in ("", "drums", "vocals,vocals"):
        with pytest.raises(ConfigurationError, match="--stems: expected vocals and/or instrumental"):
            parse_stems(text)


def test_output_spec_checks_everything_at_construction(tmp_path):
    spec = OutputSpec(folder=str(tmp_path), stems=["vocals"])
    assert spec.folder == tmp_path and spec.stems == ("vocals",) and spec.file_format == "wav"
    with pytest.raises(ConfigurationError, match="no {stem}"):
        OutputSpec(folder=tmp_path, filename="{song}.{ext}")
    with pytest.raises(ConfigurationError, match="unknown output format"):
        OutputSpec(folder=tmp_path, file_format="aiff")
    assert OutputSpec(folder=tmp_path).bit_depth is None
    with pytest.raises(ConfigurationError, match="FLAC has no float samples"):
        OutputSpec(folder=tmp_path, file_format="flac", bit_depth=32)


def test_bit_depths_name_soundfile_subtypes():
    assert BIT_DEPTHS == (16, 24, 32)
    assert [subtype_of("wav", depth) for depth in (None, *BIT_DEPTHS)] == [None, "PCM_16", "PCM_24", "FLOAT"]
    assert [subtype_of("flac", depth) for depth in (None, 16, 24)] == [None, "PCM_16", "PCM_24"]
    assert subtype_of("mp3", None) is None


@pytest.mark.parametrize(
    ("file_format", "bit_depth", "match"),
    [("flac", 32, r"^--bit_depth 32: FLAC has no float samples; use --bit_depth 24, or --format wav for 32-bit float$"),
     ("mp3", 24, r"^--bit_depth 24: mp3 has no bit depth"),
     ("wav", 8, r"^--bit_depth 8: expected one of 16, 24, 32 for wav$"),
     ("ogg", 16, r"unknown output format 'ogg'")],
)  # fmt: skip
def test_bit_depths_a_format_has_not(file_format, bit_depth, match):
    with pytest.raises(ConfigurationError, match=match):
        subtype_of(file_format, bit_depth)
