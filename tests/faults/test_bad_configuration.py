"""Configurations that are wrong in name or range fail before a run folder exists (fault injection 3).

Before, ``--check`` passed all of these; training failed only after the run folder was created
(unknown names), or not at all: ``epoch.count: -3`` trained nothing and exited 0,
``overlap: 1.5`` failed in the accuracy callback after two epochs and exited 0, and a
checkpoint-name typo crashed after epoch 1, losing its weights. Each case runs twice through
``train.main``: with ``--check`` and as a real training, which must give the same line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unmix.cli import train
from unmix.cli.common import EXIT_OK, EXIT_USAGE

CASES = {
    "unknown model": ({"training": {"model": {"name": "hourglas"}}}, "training.model.name", "known: "),
    "unknown model option": ({"training": {"model": {"options": {"stacks": 2}}}}, "training.model.options.stacks", "known: "),
    "unknown loss": ({"training": {"loss_function": "L11_los"}}, "training.loss_function", "known: "),
    "unknown optimizer": ({"training": {"optimizer": {"name": "adamm"}}}, "training.optimizer.name", "known: "),
    "unknown metric": ({"training": {"metrics": ["mean_predd"]}}, "training.metrics", "known: "),
    "unknown representation": ({"transformation": {"name": "train_window_predict_msk"}}, "transformation.name", "known: "),
    "unknown normalizer": ({"transformation": {"options": {"normalizer": "zmvu"}}}, "transformation.options.normalizer", "known: "),
    "unknown strategy": ({"training": {"distribution": "mirored"}}, "training.distribution", "known: "),
    "negative learning rate": ({"training": {"optimizer": {"lr": -1}}}, "training.optimizer.lr", "expected a number > 0"),
    "batch size 0": ({"training": {"batch_size": 0}}, "training.batch_size", "expected a whole number >= 1"),
    "fft window 0": ({"transformation": {"fft_window": 0}}, "transformation.fft_window", "expected an even integer"),
    "hop longer than half a window": ({"transformation": {"hop_length": 200}}, "transformation.hop_length", "expected an integer between 1 and"),
    "validation ratio 1.5": ({"collection": {"validation_ratio": 1.5}}, "collection.validation_ratio", "expected a fraction >= 0 and < 1"),
    "sample rate 0": ({"collection": {"sample_rate": 0}}, "collection.sample_rate", "expected a whole number of Hz from 8000 to 384000"),
    # Absurd sizes and rates (issue 29): --check passed them; training died after creating the run folder, or crawled.
    "sample rate 1": ({"collection": {"sample_rate": 1}}, "collection.sample_rate", "received 1; expected a whole number of Hz from 8000 to 384000"),
    "sample rate 10 MHz": ({"collection": {"sample_rate": 10_000_000}}, "collection.sample_rate", "expected a whole number of Hz from 8000 to 384000"),
    "batch size 1e29": ({"training": {"batch_size": 10**29}}, "training.batch_size", "expected a whole number >= 1 and <= 4096"),
    "fft window 2^30": ({"transformation": {"fft_window": 2**30}}, "transformation.fft_window", "expected an even integer of samples from 16 to 32768"),
    "model window of a million frames": ({"transformation": {"options": {"size": 10**6, "step": 10**6}}}, "transformation.options.size", "<= 4096"),
    "a billion epochs": ({"training": {"epoch": {"count": 10**9}}}, "training.epoch.count", "<= 1000000"),
    "a billion workers": ({"training": {"workers": 10**9}}, "training.workers", "to 256"),
    "a billion separation threads": ({"transformation": {"workers": 10**9}}, "transformation.workers", "from 1 to 256"),
    "separation batch 1e12": ({"transformation": {"batch_size": 10**12}}, "transformation.batch_size", "from 1 to 4096"),
    "learning rate 1e9": ({"training": {"optimizer": {"lr": 1e9}}}, "training.optimizer.lr", "> 0 and <= 10"),
    "a billion Wiener iterations": ({"transformation": {"wiener_iterations": 10**9}}, "transformation.wiener_iterations", "from 1 to 100"),
    "mask exponent 1e6": ({"transformation": {"mask_exponent": 1e6}}, "transformation.mask_exponent", "> 0 and <= 10"),
    "gain 1e30": ({"training": {"augmentation": {"gain_max": 1e30}}}, "training.augmentation.gain_max", "<= 100"),
    "negative epoch count": ({"training": {"epoch": {"count": -3}}}, "training.epoch.count", "expected a whole number of epochs >= 1"),
    "overlap 1.5": ({"transformation": {"overlap": 1.5}}, "transformation.overlap", "expected a fraction of a window >= 0 and < 1"),
    "block of no seconds": ({"transformation": {"block_seconds": 0}}, "transformation.block_seconds", "> 0 and <= 3600"),
    "block of a day": ({"transformation": {"block_seconds": 86400}}, "transformation.block_seconds", "> 0 and <= 3600"),
    "mask exponent 0": ({"transformation": {"mask_exponent": 0}}, "transformation.mask_exponent", "expected a number > 0"),
    "window step above size": ({"transformation": {"options": {"step": 32}}}, "transformation.options.step", "between 1 and size=16"),
    "checkpoint template typo": (
        {"training": {"callbacks": {"model_checkpoint": {"file": "w_{epoch:02d}_{val_los:.4f}.weights.h5"}}}},
        "training.callbacks.model_checkpoint.file", "known: epoch, loss",
    ),
    "checkpoint template format": (
        {"training": {"callbacks": {"model_checkpoint": {"file": "w_{val_loss:02d}.weights.h5"}}}},
        "training.callbacks.model_checkpoint.file", "formats that apply to numbers",
    ),
    "monitor typo": ({"training": {"callbacks": {"early_stopping": {"monitor": "val_los"}}}}, "training.callbacks.early_stopping.monitor", "known: loss"),
    "monitor mode typo": ({"training": {"callbacks": {"early_stopping": {"mode": "up"}}}}, "training.callbacks.early_stopping.mode", 'expected "auto", "min" or "max"'),
    "monitor without direction": (
        {"training": {"callbacks": {"reduce_learningrate": {"monitor": "val_mean_pred"}}}},
        "training.callbacks.reduce_learningrate.monitor", "has no better direction",
    ),
    "weights file suffix": ({"environment": {"weights": {"file": "final.h5"}}}, "environment.weights.file", "ending in .weights.h5"),
    "decay steps 0": ({"training": {"optimizer": {"decay_steps": 0, "decay_rate": 0.2}}}, "training.optimizer.decay_steps", "expected a whole number of steps >= 1"),
    "decay rate 1.5": ({"training": {"optimizer": {"decay_steps": 10, "decay_rate": 1.5}}}, "training.optimizer.decay_rate", "expected a factor > 0 and <= 1"),
    "decay rate alone": ({"training": {"optimizer": {"decay_rate": 0.2}}}, "training.optimizer.decay_rate", "given without decay_steps"),
    "decay beside a plateau": (
        {"training": {"optimizer": {"decay_steps": 10, "decay_rate": 0.2}, "callbacks": {"reduce_learningrate": {"enabled": True}}}},
        "training.optimizer.decay_steps", "no step decay while training.callbacks.reduce_learningrate is enabled",
    ),
    "unknown target": ({"transformation": {"options": {"targets": ["voice"]}}}, "transformation.options.targets", 'a list of distinct stems, "vocals" and/or "instrumental"'),
    "targets for a model of one": ({"transformation": {"options": {"targets": ["instrumental", "vocals"]}}}, "transformation.options.targets", "model dummy predicts one target"),
    "mask activation typo": ({"transformation": {"options": {"mask_activation": "linaer"}}}, "transformation.options.mask_activation", '"sigmoid" (masks in [0, 1]) or "linear"'),
    "negative bins": ({"training": {"model": {"name": "hourglass", "options": {"bins": -1}}}}, "training.model.options.bins", "0 (every bin) or the number of lowest bins"),
    "normalizer scope typo": ({"transformation": {"options": {"normalizer_scope": "clip"}}}, "transformation.options.normalizer_scope", '"window" (each window\'s mix) or "song"'),
    "song scope for zmuv": ({"transformation": {"options": {"normalizer": "zmuv", "normalizer_scope": "song"}}}, "transformation.options.normalizer_scope", "expected 'window' for normalizer 'zmuv'"),
    "sampling typo": ({"training": {"sampling": "crops"}}, "training.sampling", '"grid" (every window) or "random"'),
    "random crops with a window limit": ({"training": {"sampling": "random"}}, "training.sampling", 'while training.limit_items_per_song is 4'),
    "mixture typo": ({"collection": {"mixture": "average"}}, "collection.mixture", '"sum" (vocals + instrumental) or "mean"'),
    "combination typo": ({"transformation": {"combination": "own"}}, "transformation.combination", '"ratio" (ratio masks; the instrumental is the input minus the rest) or "direct"'),
    "stitching typo": ({"transformation": {"stitching": "centre"}}, "transformation.stitching", '"taper" (a Hann blend of overlapping windows) or "middle"'),
    "kernel initializer typo": ({"training": {"model": {"name": "hourglass", "options": {"kernel_initializer": "normal"}}}}, "training.model.options.kernel_initializer", "one of glorot_uniform, lecun_normal, he_normal"),
    # Names inside the run folder (issue 29, minor 13): "../../../x.weights.h5" wrote the final weights into the working folder.
    "weights file outside the run folder": (
        {"environment": {"weights": {"file": "../../../x.weights.h5"}}}, "environment.weights.file", "a name inside the run folder: relative, without '..'",
    ),
    "weights folder absolute": ({"environment": {"weights": {"folder": "/tmp/elsewhere"}}}, "environment.weights.folder", "a name inside the run folder"),
    "log file up by a Windows separator": ({"environment": {"log_file": "..\\logs.txt"}}, "environment.log_file", "a name inside the run folder"),
    "collection name with a path": ({"collection": {"name": "../../up"}}, "collection.name", "one name without '/'"),
    "mask loss on a magnitude representation": ({"transformation": {"name": "window"}}, "training.loss_function", "use a loss such as"),
}


@pytest.mark.parametrize("check", [True, False], ids=["--check", "training"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_configuration_is_one_line_before_any_run_folder(case, check, tmp_path: Path, training_environment: Path, kit, capsys) -> None:
    overrides, key, allowed = CASES[case]
    configuration = kit.child_configuration(tmp_path / "bad.jsonc", overrides)
    work = tmp_path / "work"
    work.mkdir()
    before = {"work": kit.snapshot(work), "collection": kit.snapshot(training_environment), "configuration": kit.snapshot(tmp_path)}
    argv = ["--configuration", str(configuration), "--workingdir", str(work), "--quiet"] + (["--check"] if check else [])
    assert train.main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    line = kit.one_line(captured.err)
    assert line.startswith(f"error: {key} in "), line
    assert str(configuration) in line, line
    assert allowed in line, line
    assert captured.out == ""
    assert not (work / "runs").exists() and not (work / "cache").exists(), "something was created before the check"
    kit.assert_unchanged(before["work"], kit.snapshot(work))
    kit.assert_unchanged(before["collection"], kit.snapshot(training_environment))
    kit.assert_unchanged(before["configuration"], kit.snapshot(tmp_path))


def test_a_good_configuration_passes_the_same_check(tmp_path: Path, training_environment: Path, kit, capsys) -> None:
    configuration = kit.child_configuration(tmp_path / "good.jsonc", {"training": {"callbacks": {"model_checkpoint": {"file": "w_{epoch:02d}_{val_loss:.4f}.weights.h5"}}}})
    assert train.main(["--configuration", str(configuration), "--workingdir", str(tmp_path), "--check"]) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_training_and_check_call_one_function(tmp_path: Path, training_environment: Path, kit, monkeypatch) -> None:
    """--check and training share ``check_configuration``: a rule added there applies to both."""
    from unmix.errors import ConfigurationError
    from unmix.training import checks, trainer

    def refuse(config) -> None:
        raise ConfigurationError("training.seed in x: received 42; expected the test's own rule")

    monkeypatch.setattr(checks, "check_configuration", refuse)
    monkeypatch.setattr(trainer, "check_configuration", refuse)
    configuration = kit.child_configuration(tmp_path / "c.jsonc", {})
    for extra in (["--check"], []):
        assert train.main(["--configuration", str(configuration), "--workingdir", str(tmp_path / "work"), *extra]) == EXIT_USAGE
    assert not (tmp_path / "work" / "runs").exists()
