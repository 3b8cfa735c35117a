"""What a separation writes: the stem names, the output formats and bit depths, song names and file-name templates.

The one definition of each, so the command line, the batch runner and the separator check stems,
formats and templates the same way (and before any model loads). Pure Python: no TensorFlow.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from unmix.audio.writer import WRITABLE_EXTENSIONS, bit_depth_subtypes, written_layout
from unmix.errors import ConfigurationError

#: The stems of a two-stem separation; ``instrumental`` is always ``mixture - vocals``.
STEMS = ("vocals", "instrumental")
#: Output formats: exactly what the audio writer can write.
FORMATS = tuple(extension.lstrip(".") for extension in WRITABLE_EXTENSIONS)
#: Bits per sample of WAV and FLAC stems: 16 and 24 are integer PCM, 32 is float (WAV only).
BIT_DEPTHS = tuple(sorted({depth for extension in WRITABLE_EXTENSIONS for depth in bit_depth_subtypes(extension)}))
TEMPLATE_FIELDS = ("song", "stem", "ext")
DEFAULT_TEMPLATE = "{song}/{stem}.{ext}"


def song_name_of(path: Path) -> str:
    """The ``{song}`` of a file: its name without the extension (and without ``.stem`` of ``x.stem.mp4``)."""
    path = Path(path)
    return path.name[: -len(path.suffix)].removesuffix(".stem") if path.suffix else path.name


def parse_stems(text: str, *, key: str = "--stems") -> tuple[str, ...]:
    """``"vocals,instrumental"`` → ``("vocals", "instrumental")``, checked.

    Raises:
        ConfigurationError: an empty list or an unknown stem, naming ``key``.
    """
    stems = tuple(s.strip() for s in str(text).split(",") if s.strip())
    return check_stems(stems, key=key, received=repr(text))


def check_stems(stems: Sequence[str], *, key: str = "stems", received: str | None = None) -> tuple[str, ...]:
    """The stems as a tuple, each known and none twice.

    Raises:
        ConfigurationError: an empty list, an unknown or a repeated stem.
    """
    stems = tuple(stems)
    unknown = [stem for stem in stems if stem not in STEMS]
    if not stems or unknown or len(set(stems)) != len(stems):
        received = received or (", ".join(stems) or "none")
        raise ConfigurationError(f"{key}: expected {' and/or '.join(STEMS)} (each once), received {received}")
    return stems


def check_format(file_format: str) -> str:
    """The output format, one of :data:`FORMATS`.

    Raises:
        ConfigurationError: an unknown format.
    """
    if file_format not in FORMATS:
        raise ConfigurationError(f"unknown output format {file_format!r}; expected one of {', '.join(FORMATS)}")
    return file_format


def subtype_of(file_format: str, bit_depth: int | None) -> str | None:
    """The sample format (libsndfile subtype) of ``bit_depth``-bit stems in ``file_format``.

    Args:
        file_format: one of :data:`FORMATS`.
        bit_depth: one of :data:`BIT_DEPTHS`, or None for the format's default (float WAV,
            24-bit FLAC, 320 kbit/s MP3).

    Returns:
        "PCM_16", "PCM_24" or "FLOAT"; None when ``bit_depth`` is None.

    Raises:
        ConfigurationError: an unknown format, any bit depth for mp3, or 32 for FLAC (no float).
    """
    check_format(file_format)
    if bit_depth is None:
        return None
    subtypes = bit_depth_subtypes(f".{file_format}")
    if not subtypes:
        raise ConfigurationError(f"--bit_depth {bit_depth}: {file_format} has no bit depth (it is 320 kbit/s); drop --bit_depth, or write --format wav or flac")
    if bit_depth not in subtypes:
        if bit_depth == 32:
            raise ConfigurationError(f"--bit_depth 32: {file_format.upper()} has no float samples; use --bit_depth 24, or --format wav for 32-bit float")
        raise ConfigurationError(f"--bit_depth {bit_depth}: expected one of {', '.join(map(str, subtypes))} for {file_format}")
    return subtypes[bit_depth]


def format_note(file_format: str, *, sample_rate: int, n_channels: int) -> str | None:
    """One line saying what ``file_format`` forces on the stems of a song with this rate and channel count.

    None when the stems keep both, as WAV and FLAC always do. MP3 has at most two channels and
    48 kHz, so a 6-channel or 96 kHz song cannot keep its layout there; saying so is the promise.
    """
    rate, channels = written_layout(f"x.{check_format(file_format)}", sample_rate=sample_rate, n_channels=n_channels)
    if (rate, channels) == (sample_rate, n_channels):
        return None
    changes = []
    if channels != n_channels:
        changes.append(f"{'stereo' if channels == 2 else f'{channels} channels'} (a downmix of the song's {n_channels} channels)")
    if rate != sample_rate:
        changes.append(f"at {rate} Hz (the song has {sample_rate} Hz)")
    return f"{file_format.upper()} holds at most 2 channels at up to 48000 Hz: the stems are {' '.join(changes)}; choose wav or flac to keep the song's"


def check_template(template: str, stems: Sequence[str]) -> None:
    """Reject a file name template that names unknown fields or writes every stem to one file.

    Raises:
        ConfigurationError: unknown field, bad syntax, an absolute path or ``..``, or no
            ``{stem}`` while several stems are written.
    """
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ConfigurationError(f"--filename {template!r}: {error}; use fields {{song}}, {{stem}}, {{ext}}") from None
    unknown = sorted(names - set(TEMPLATE_FIELDS))
    if unknown:
        raise ConfigurationError(f"--filename {template!r}: unknown field {{{unknown[0]}}}; use {{song}}, {{stem}} and {{ext}}")
    if len(stems) > 1 and "stem" not in names:
        raise ConfigurationError(f"--filename {template!r} has no {{stem}}: every stem would be written to the same file")
    if Path(template).is_absolute() or ".." in Path(template).parts:
        raise ConfigurationError(f"--filename {template!r} must be a relative path inside the output folder")


def stem_paths(output_dir: Path, song: str, *, template: str, stems: Sequence[str], file_format: str) -> dict[str, Path]:
    """Where each stem of ``song`` is written.

    Raises:
        ConfigurationError: unknown format or stem, or a bad template (see :func:`check_template`).
    """
    check_format(file_format)
    stems = check_stems(stems)
    check_template(template, stems)
    return {stem: Path(output_dir) / template.format(song=song, stem=stem, ext=file_format) for stem in stems}


@dataclass(frozen=True)
class OutputSpec:
    """Where and how a batch of songs is written.

    Attributes:
        folder: the folder the file name template is relative to.
        file_format: one of :data:`FORMATS`.
        filename: template with ``{song}``, ``{stem}`` and ``{ext}``.
        stems: the stems to write.
        bit_depth: bits per sample of WAV and FLAC stems (:data:`BIT_DEPTHS`); None keeps the
            format's default.

    Raises:
        ConfigurationError: an unknown format or stem, a bad template, or a bit depth the format
            has not (see :func:`subtype_of`).
    """

    folder: Path
    file_format: str = "wav"
    filename: str = DEFAULT_TEMPLATE
    stems: tuple[str, ...] = STEMS
    bit_depth: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", Path(self.folder))
        object.__setattr__(self, "stems", check_stems(self.stems))
        stem_paths(self.folder, "song", template=self.filename, stems=self.stems, file_format=self.file_format)
        subtype_of(self.file_format, self.bit_depth)
