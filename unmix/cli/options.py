"""Every flag of ``train.py``, ``predict.py`` and ``evaluate.py``, declared once.

Each flag has one name, one meaning, one type and one default, here (as Spleeter's
``options.py``); a command picks the flags it takes with :func:`add`. The seed's flags keep
the seed's spelling and meaning: ``--run_folder``, ``--workingdir``, ``--sample_rate``,
``--song``, ``--songs`` (a folder of songs), ``--youtube``, ``--weights`` (a weights file,
with the ``--configuration`` it was trained with) and ``--configuration``. Every other flag is
snake_case too. An older spelling (``--prepare-only``) is still accepted and hidden from
``--help``; an older *meaning* under a seed name (``train.py --weights``, ``evaluate.py
--songs test``) still works and says on one stderr line which flag replaces it.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from unmix.errors import ConfigurationError

SONG_SETS = ("test", "validation", "all")
ORACLES = ("irm", "ibm", "mixture")
PROTOCOLS = ("standard", "mir1k")
PRECISIONS = ("float32", "bfloat16", "auto")
RUNTIMES = ("auto", "tensorflow", "openvino")  # unmix.separation.exported.RUNTIMES (a test keeps them equal)


@dataclass(frozen=True)
class Flag:
    """One command-line flag.

    Attributes:
        name: the flag as typed, e.g. ``--run_folder``.
        help: what it means, the same in every command that takes it.
        options: ``add_argument`` keywords: ``type``, ``default``, ``action``, ``choices``, ``metavar``.
        aliases: older spellings, accepted and hidden from ``--help``.
    """

    name: str
    help: str
    options: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        return self.name.removeprefix("--")


_DECLARED = (
    # The seed's flags (seed README: Training and Prediction parameters).
    Flag("--configuration", "a .jsonc configuration file", {"metavar": "FILE"}),
    Flag("--workingdir", "the working folder: it holds cache/ and runs/, and receives outputs that have no run folder (default: the current folder)", {"metavar": "FOLDER"}),
    Flag("--run_folder", "a training run folder (runs/<date>-<name>, or a built-in model's): its configuration and best weights", {"metavar": "RUN_FOLDER"}),
    Flag("--weights", "a weights file (.weights.h5, or a whole .keras model), with the --configuration it was trained with", {"metavar": "FILE"}),
    Flag("--sample_rate", "sample rate the model runs at, in Hz (default: the configuration's)", {"type": int}),
    Flag("--song", "a song file (repeatable)", {"action": "append", "default": [], "metavar": "FILE"}),
    Flag("--songs", "a folder of songs, searched recursively (repeatable)", {"action": "append", "default": [], "metavar": "FOLDER"}),
    Flag("--youtube", "a YouTube link to download and separate (repeatable)", {"action": "append", "default": [], "metavar": "URL"}),
    # Shared by several commands.
    Flag("--cpu", "run on the CPU even when a GPU is visible", {"action": "store_true"}),
    Flag("--list_models", "list the models this command can use, and stop", {"action": "store_true"}, aliases=("--list-models",)),
    Flag("--model", "a built-in model by name (see predict.py --list_models)", {"metavar": "NAME"}),
    # train.py
    Flag("--resume", "continue a stopped or killed run from its last checkpoint", {"metavar": "RUN_FOLDER"}),
    Flag("--initial_weights", "initialise the model from these weights (.weights.h5) before training", {"metavar": "FILE"}),
    Flag("--prepare_only", "decode and cache the collection, then stop", {"action": "store_true"}, aliases=("--prepare-only",)),
    Flag("--check", "validate the configuration as training would (names, ranges), print it merged, and stop", {"action": "store_true"}),
    # predict.py
    Flag("--output", "output folder (default: the run's predictions/ or the working folder)", {"metavar": "FOLDER"}),
    Flag("--format", "audio format of the stems (default: %(default)s)", {"default": "wav"}),
    Flag("--bit_depth", "bits per sample of WAV and FLAC stems: 16 or 24 (integer), 32 (float, WAV only) (default: float WAV, 24-bit FLAC)", {"type": int}),
    Flag("--filename", "file name template with {song}, {stem}, {ext} (default: %(default)s)"),
    Flag("--stems", "comma-separated stems to write (default: %(default)s)"),
    Flag("--batch_size", "windows per model call (default: the configuration's batch size × 4)", {"type": int}),
    Flag("--overlap", "fraction of a window shared with the next, 0 ≤ x < 1 (default: the configuration's transformation.overlap)", {"type": float}),
    Flag("--wiener", "multichannel Wiener post-filter iterations (0 soft masks; default: the configuration's, off unless it says so)", {"type": int, "metavar": "ITERATIONS"}),
    Flag("--runtime", "what runs the network: auto (the network exported to ONNX and run by OpenVINO when it was exported and no GPU is visible, else TensorFlow), tensorflow, or openvino (exports it first if needed)", {"choices": RUNTIMES, "default": "auto"}),
    Flag("--precision", "the network's arithmetic (default: the configuration's transformation.precision; auto = bfloat16 on CPUs with native bf16)", {"choices": PRECISIONS}),
    # python3 -m unmix.catalog
    Flag("--engine", "where songs are separated: local (this process, the default) or ray (a Ray actor pool)", {"default": "local"}),
    Flag("--address", "with --engine ray: a running Ray cluster, auto or HOST:PORT (default: start a local instance on 127.0.0.1 and stop it at the end)", {"metavar": "ADDRESS"}),
    Flag("--workers", "with --engine ray: actors in the pool, each with the model loaded once (default: %(default)s)", {"type": int, "default": 1, "metavar": "N"}),
    Flag("--gpus_per_worker", "with --engine ray: GPUs each actor declares (default: %(default)s, CPU only)", {"type": float, "default": 0.0, "metavar": "X"}),
    Flag("--retries", "further tries of a song that failed or whose worker died, before it is recorded as failed (default: %(default)s)", {"type": int, "default": 1, "metavar": "N"}),
    # evaluate.py
    Flag("--checkpoint", "with --run_folder: score this checkpoint (a path, or a file name in the run's weights/) instead of the best one", {"metavar": "FILE"}),
    Flag("--oracle", "score an oracle instead of a model: irm (ceiling), ibm, mixture (floor)", {"type": str.lower, "choices": ORACLES}),
    Flag("--collection", "score every song of this collection folder instead of the configured collection's", {"metavar": "FOLDER"}),
    Flag("--split", "which songs of the configured collection: test (default), validation or all", {"choices": SONG_SETS}),
    Flag("--test_data_count", "test songs: recompute the split with N test songs; otherwise score the first N songs", {"type": int, "metavar": "N"}),
    Flag("--metric", "museval (default, BSSEval v4), mir_eval (v3) or global", {"default": "museval"}),
    Flag("--protocol", "standard (default): --metric of vocals + instrumental at the collection's rate; mir1k: Park et al. 2018's MIR-1K "
         "protocol: the mixture is the mean of a clip's channels, each clip is scored whole at 16 kHz (BSSEval v3), NSDR and the "
         "length-weighted GNSDR, GSIR, GSAR; with --collection, every .wav/.flac under it is a clip (left accompaniment, right voice)",
         {"choices": PROTOCOLS, "default": "standard"}),
    Flag("--baseline", "also compare song by song with an earlier evaluation of the same songs: its tracks.csv, or the folder it printed after 'scores:'", {"metavar": "TRACKS"}),
    # The default is evaluation.band_snr.DEFAULT_EDGE_HZ (a test keeps them equal); importing it would slow --help.
    Flag("--high_band_edge", "the high-band SNR scores each stem's STFT bins above this frequency, in Hz (default: %(default)g)", {"type": float, "default": 11025.0, "metavar": "HZ"}),
    # Every command.
    Flag("--verbose", "show debug lines (and tracebacks on errors)", {"action": "store_true"}),
    Flag("--quiet", "show only warnings and errors", {"action": "store_true"}),
)
FLAGS: dict[str, Flag] = {flag.name: flag for flag in _DECLARED}


@dataclass(frozen=True)
class Bounds:
    """The values a numeric flag takes: finite, ``low <= value <= high`` (strict with ``above_low``, ``below_high``), whole or not."""

    low: float
    high: float
    words: str
    whole: bool = True
    above_low: bool = False
    below_high: bool = False

    def accepts(self, value: float) -> bool:
        if not math.isfinite(value) or (self.whole and value != int(value)):
            return False
        return (value > self.low if self.above_low else value >= self.low) and (value < self.high if self.below_high else value <= self.high)


# Every numeric flag's range (argparse has already refused what is not a number of its type:
# "nan" or "1e30" for an int). The bounds are those of the configuration key a flag overrides
# (unmix.config.validate.RULES); each lies far beyond what can be meant.
BOUNDS: dict[str, Bounds] = {
    "--sample_rate": Bounds(8000, 384000, "a whole number of Hz from 8000 to 384000 (e.g. 44100)"),
    "--batch_size": Bounds(1, 4096, "a whole number of windows from 1 to 4096"),
    "--overlap": Bounds(0, 1, "in [0, 1)", whole=False, below_high=True),
    "--wiener": Bounds(-1, 100, "-1 (off), 0 (soft masks) or a count from 1 to 100"),
    "--workers": Bounds(1, 256, "a whole number of actors from 1 to 256"),
    "--gpus_per_worker": Bounds(0, 64, "a number of GPUs from 0 (CPU only) to 64", whole=False),
    "--retries": Bounds(0, 100, "a whole number from 0 (no retry) to 100"),
    "--test_data_count": Bounds(1, 1_000_000, "a whole number of songs from 1 to 1000000"),
    "--high_band_edge": Bounds(0, 192000, "a frequency in Hz above 0 and at most 192000 (the highest Nyquist frequency)", whole=False, above_low=True),
    # unmix-serve
    "--port": Bounds(1, 65535, "between 1 and 65535"),
    "--max_upload_mb": Bounds(0, math.inf, "a positive number of megabytes", whole=False, above_low=True),
}


def check_numbers(args: argparse.Namespace, *names: str) -> None:
    """Check the numeric flags ``names`` that were given against :data:`BOUNDS`, before any work.

    Raises:
        ConfigurationError: ``"--overlap must be in [0, 1), received 1.5"``: the first value out of range.
    """
    for name in names:
        value = getattr(args, name.removeprefix("--"))
        bounds = BOUNDS[name]
        if value is not None and not bounds.accepts(value):
            raise ConfigurationError(f"{name} must be {bounds.words}, received {value}")


def add(container: Any, *names: str, note: str | None = None, **options: Any) -> None:
    """Add the declared flags ``names`` to a parser or an argument group.

    Args:
        container: an ``ArgumentParser``, argument group or mutually exclusive group.
        names: declared flag names (``"--run_folder"``).
        note: what the flag does in this command, appended to its help in parentheses
            (the meaning stays the declared one).
        options: ``add_argument`` keywords that fill in what only the command knows
            (``default`` of ``--filename``, ``choices`` of ``--format``); never ``type`` or ``action``.

    Raises:
        KeyError: an undeclared name (a bug: declare the flag here first).
    """
    assert not {"type", "action"} & set(options), "a flag's type and action are declared once, in FLAGS"
    for name in names:
        flag = FLAGS[name]
        keywords = {**flag.options, **options}
        text = f"{flag.help} ({note})" if note else flag.help
        container.add_argument(flag.name, dest=flag.dest, help=text, **keywords)
        for alias in flag.aliases:
            container.add_argument(alias, dest=flag.dest, help=argparse.SUPPRESS, **{**keywords, "default": argparse.SUPPRESS})


def add_logging_flags(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` and ``--quiet``, which exclude each other."""
    add(parser.add_mutually_exclusive_group(), "--verbose", "--quiet")


def add_deprecated(container: Any, old: str, *, new: str, command: str, choices: Sequence[str] | None = None, hint: str = "") -> None:
    """Accept ``old`` (hidden from ``--help``) as the flag ``new``, with a one-line warning on stderr.

    For a seed name whose other meaning moved to a new flag in one command: ``train.py
    --weights FILE`` still initialises training, and says to write ``--initial_weights FILE``.

    Args:
        container: the parser or group that holds ``new``.
        old: the flag as it used to be written in ``command``.
        new: the declared flag that now carries that meaning.
        command: the command's name, for the warning.
        choices: the values ``old`` took; another value is a usage error naming ``new``.
        hint: appended to that usage error (what to give for the seed's meaning instead).
    """
    flag = FLAGS[new]
    container.add_argument(
        old, dest=flag.dest, help=argparse.SUPPRESS, default=argparse.SUPPRESS, action=_Deprecated,
        metavar=flag.options.get("metavar"), replacement=new, command=command, accepted=tuple(choices or ()), hint=hint,
    )  # fmt: skip


class _Deprecated(argparse.Action):
    """Stores the value under the new flag's name after a one-line ``warning:`` on stderr."""

    def __init__(self, option_strings: list[str], dest: str, *, replacement: str, command: str, accepted: tuple[str, ...], hint: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.replacement, self.command, self.accepted, self.hint = replacement, command, accepted, hint

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        if self.accepted and values not in self.accepted:
            parser.error(f"{option_string} {values}: {self.command} takes {self.replacement} {'|'.join(self.accepted)} for that{self.hint}")
        warn_deprecated(f"{self.command} {option_string} {values}", f"{self.replacement} {values}")
        setattr(namespace, self.dest, values)


def warn_deprecated(old: str, new: str) -> None:
    """One stderr line: ``old`` still works, ``new`` is how to write it now."""
    sys.stderr.write(f"warning: {old} is deprecated: write {new}\n")
