"""evaluate.py end to end through main(argv): oracles, a tiny model's run folder, exit codes."""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.cli import evaluate
from unmix.cli.common import EXIT_OK, EXIT_USAGE

SAMPLE_RATE = 8000
SONGS = ("Alpha", "Bravo", "Charlie")


pytestmark = pytest.mark.usefixtures("hermetic_environment")


def write_configuration(path: Path, collection: Path | str, **collection_options) -> Path:
    """A tiny configuration: 8 kHz, FFT 256, hop 64, windows of 8 frames, the dummy model."""
    document = {
        "collection": {"folder": str(collection), "sample_rate": SAMPLE_RATE, "validation_ratio": 0.0,
                       "test_data_count": 1, **collection_options},
        "training": {"model": {"name": "dummy", "options": {}}, "batch_size": 2},
        "transformation": {"fft_window": 256, "hop_length": 64, "options": {"size": 8, "step": 8}},
    }  # fmt: skip
    path.write_text("// test configuration\n" + json.dumps(document, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path, tone, rng):
    """Three 1.2 s songs (unmix layout) and a configuration pointing at them."""
    root = tmp_path / "tiny"
    for index, name in enumerate(SONGS):
        folder = root / name
        folder.mkdir(parents=True)
        vocals = tone(frequency_hz=700 + 200 * index, duration_s=1.2, sample_rate=SAMPLE_RATE)
        instrumental = tone(frequency_hz=200, duration_s=1.2, sample_rate=SAMPLE_RATE, amplitude=0.2)
        instrumental += 0.02 * rng.standard_normal(instrumental.shape).astype(np.float32)
        soundfile.write(folder / f"vocals_{name}.wav", vocals.T, SAMPLE_RATE, subtype="FLOAT")
        soundfile.write(folder / f"instrumental_{name}.wav", instrumental.T, SAMPLE_RATE, subtype="FLOAT")
    return write_configuration(tmp_path / "tiny.jsonc", root)


def test_oracle_on_every_song_of_a_configured_collection(tiny, tmp_path, capsys):
    work = tmp_path / "work"
    code = evaluate.main(["--configuration", str(tiny), "--oracle", "IRM", "--metric", "global", "--split", "all",
                          "--workingdir", str(work), "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out.startswith("oracle-irm on 3 all song(s) of tiny: global")
    assert "median over songs" in out and "vocals (mean)" in out
    for name in SONGS:
        assert f"\n{name} " in out
    folder = work / "evaluation" / "tiny" / "oracle-irm_global_all"
    assert sorted(p.name for p in (folder / "test").iterdir()) == [f"{n}.json" for n in SONGS]
    assert (folder / "sdr.png").is_file() and (folder / "tracks.csv").is_file()
    with (work / "evaluation" / "tiny" / "accuracy_tiny.csv").open() as handle:
        (row,) = list(csv.DictReader(handle, delimiter=";"))
    assert row["type"] == "all-oracle-irm" and row["metric"] == "global" and float(row["voc_sdr"]) > 10


def test_mixture_floor_scores_below_the_irm_ceiling_on_the_test_song(tiny, tmp_path, capsys):
    sdr = {}
    for oracle in ("mixture", "irm"):
        assert evaluate.main(["--configuration", str(tiny), "--oracle", oracle, "--metric", "global",
                              "--workingdir", str(tmp_path), "--quiet"]) == EXIT_OK  # fmt: skip
        out = capsys.readouterr().out
        assert f"oracle-{oracle} on 1 test song(s)" in out
        vocals_line = next(line for line in out.splitlines() if line.startswith("vocals "))
        sdr[oracle] = float(vocals_line.split()[1])
    assert sdr["mixture"] + 10 < sdr["irm"]


def test_another_collection_is_scored_whole_and_limited_by_test_data_count(tiny, tmp_path, capsys):
    code = evaluate.main(["--configuration", str(tiny), "--oracle", "ibm", "--metric", "global", "--collection",
                          str(tmp_path / "tiny"), "--test_data_count", "2", "--workingdir", str(tmp_path), "--quiet"])  # fmt: skip
    assert code == EXIT_OK
    assert "oracle-ibm on 2 all song(s) of tiny" in capsys.readouterr().out


def test_bad_metric_is_a_usage_error_with_a_suggestion(tiny, tmp_path, capsys):
    code = evaluate.main(["--configuration", str(tiny), "--oracle", "irm", "--metric", "mir-eval",
                          "--workingdir", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "error: metric: unknown metric 'mir-eval'; known: museval, mir_eval, global; did you mean 'mir_eval'?" in err
    assert not (tmp_path / "cache").exists()  # nothing was prepared


def test_a_configuration_without_oracle_is_a_usage_error(tiny, tmp_path, capsys):
    assert evaluate.main(["--configuration", str(tiny), "--workingdir", str(tmp_path)]) == EXIT_USAGE
    assert "--configuration alone scores nothing: add --weights W (trained with it) or --oracle" in capsys.readouterr().err


def test_missing_run_folder_is_a_usage_error(tmp_path, capsys):
    assert evaluate.main(["--run_folder", str(tmp_path / "nope")]) == EXIT_USAGE
    assert "not a run folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["--run_folder", "r", "--configuration", "c"], ["--configuration", "c", "--collection", "d", "--split", "all"],
     ["--configuration", "c", "--oracle", "wiener"], ["--configuration", "c", "--oracle", "irm", "--weights", "w.h5"],
     ["--run_folder", "r", "--oracle", "irm", "--weights", "w.h5"]],
)  # fmt: skip
def test_parser_errors_exit_2(argv):
    with pytest.raises(SystemExit) as caught:
        evaluate.main(argv)
    assert caught.value.code == EXIT_USAGE


def test_oracles_never_import_tensorflow(tiny, tmp_path):
    import subprocess

    code = (
        "import sys; from unmix.cli import evaluate; "
        f"rc = evaluate.main(['--configuration', {str(tiny)!r}, '--oracle', 'irm', '--metric', 'global', "
        f"'--workingdir', {str(tmp_path)!r}, '--quiet']); "
        "assert rc == 0, rc; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], env=environ,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_a_run_folder_with_a_tiny_model_scores_its_test_song(tiny, tmp_path, capsys, dummy_run):
    folder, model = dummy_run(tmp_path / "runs" / "tiny-run", tiny, weights_file="callback_weights_03.weights.h5")
    run = folder.path

    code = evaluate.main(["--run_folder", str(run), "--metric", "global", "--workingdir", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert out.startswith("model on 1 test song(s) of tiny: global")
    assert (run / "evaluation" / "tiny" / "model_global" / "tracks.csv").is_file()
    with (run / "accuracy_tiny.csv").open() as handle:
        (row,) = list(csv.DictReader(handle, delimiter=";"))
    assert row["epoch"] == "3" and row["type"] == "test"

    # An earlier checkpoint, by name inside weights/: its epoch goes into a second accuracy row.
    model.save_weights(run / "weights" / "callback_weights_01.weights.h5")
    argv = ["--run_folder", str(run), "--metric", "global", "--workingdir", str(tmp_path), "--quiet"]
    assert evaluate.main([*argv, "--checkpoint", "callback_weights_01.weights.h5"]) == EXIT_OK
    with (run / "accuracy_tiny.csv").open() as handle:
        assert [row["epoch"] for row in csv.DictReader(handle, delimiter=";")] == ["3", "1"]
    capsys.readouterr()
    assert evaluate.main([*argv, "--checkpoint", "callback_weights_09.weights.h5"]) == EXIT_USAGE
    assert "--checkpoint: no file callback_weights_09.weights.h5" in capsys.readouterr().err

    # The old spelling of --checkpoint (--weights with --run_folder) still works, with one warning line.
    assert evaluate.main([*argv, "--weights", "callback_weights_01.weights.h5"]) == EXIT_OK
    deprecations = [line for line in capsys.readouterr().err.splitlines() if "deprecated" in line]
    assert deprecations == [
        "warning: evaluate.py --run_folder RUN --weights callback_weights_01.weights.h5 is deprecated: write --checkpoint callback_weights_01.weights.h5"
    ]
    with (run / "accuracy_tiny.csv").open() as handle:
        assert [row["epoch"] for row in csv.DictReader(handle, delimiter=";")] == ["3", "1", "1"]

    # --weights W --configuration C (the seed's meaning): the same weights, scored from their configuration.
    weights = run / "weights" / "callback_weights_03.weights.h5"
    work = tmp_path / "loose"
    code = evaluate.main(["--weights", str(weights), "--configuration", str(folder.configuration), "--metric", "global", "--workingdir", str(work), "--quiet"])
    assert code == EXIT_OK, capsys.readouterr()
    assert (work / "evaluation" / "tiny" / "model_global" / "tracks.csv").is_file()
    assert f"accuracy row: {work / 'evaluation' / 'tiny' / 'accuracy_tiny.csv'}" in capsys.readouterr().out


@pytest.mark.shared_data
@pytest.mark.slow
def test_irm_beats_the_mixture_on_two_musdb_valid_songs(shared_data, tmp_path, capsys):
    """The published ordering (MIX floor < IRM ceiling) holds on real music, museval v4 at 11025 Hz."""
    musdb = shared_data / "musdb18-7"
    picked = tmp_path / "musdb-valid-2"
    picked.mkdir()
    for name in ("ANiMAL - Rockshow", "Actions - One Minute Smile"):  # `valid` in splits.tsv
        (picked / f"{name}.stem.mp4").symlink_to(musdb / "train" / f"{name}.stem.mp4")
    configuration = write_configuration(tmp_path / "musdb.jsonc", musdb, sample_rate=11025,
                                        validation_split_file="splits.tsv")  # fmt: skip
    sdr = {}
    for oracle in ("mixture", "irm"):
        code = evaluate.main(["--configuration", str(configuration), "--oracle", oracle, "--collection", str(picked),
                              "--metric", "museval", "--workingdir", str(tmp_path), "--quiet"])  # fmt: skip
        out = capsys.readouterr().out
        assert code == EXIT_OK, out
        lines = {line.split()[0]: line.split() for line in out.splitlines()
                 if line.startswith(("vocals ", "instrumental ")) and "(mean)" not in line}  # fmt: skip
        sdr[oracle] = (float(lines["vocals"][1]), float(lines["instrumental"][1]))
    assert sdr["mixture"][0] < sdr["irm"][0] - 3
    assert sdr["mixture"][1] < sdr["irm"][1] - 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [([], "nothing to score: give --run_folder RUN (a trained run), --weights W with --configuration C, or --configuration C with --oracle"),
     (["--run_folder", "r", "--configuration", "c"], "not both")],
)  # fmt: skip
def test_the_model_flag_errors_say_what_is_wrong(argv, message, capsys):
    with pytest.raises(SystemExit):
        evaluate.main(argv)
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert message in line
    assert ("not both" in line) == ("--configuration" in argv and "--run_folder" in argv)


def test_baseline_compares_song_by_song(tiny, tmp_path, capsys):
    work = tmp_path / "work"
    common = ["--configuration", str(tiny), "--metric", "global", "--split", "all", "--workingdir", str(work), "--quiet"]
    assert evaluate.main([*common, "--oracle", "mixture"]) == EXIT_OK
    floor = work / "evaluation" / "tiny" / "oracle-mixture_global_all"
    capsys.readouterr()
    assert evaluate.main([*common, "--oracle", "irm", "--baseline", str(floor)]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    start = out.index(f"against {floor / 'tracks.csv'}, song by song (SDR, this minus baseline, 3 songs in both):")
    vocals, instrumental = out[start + 1], out[start + 2]

    def column(folder, name):
        with (folder / "tracks.csv").open() as handle:
            return {row["track"]: float(row[name]) for row in csv.DictReader(handle, delimiter=";")}

    ceiling = work / "evaluation" / "tiny" / "oracle-irm_global_all"
    for line, name in ((vocals, "voc_sdr"), (instrumental, "inst_sdr")):
        before, after = column(floor, name), column(ceiling, name)
        differences = sorted(after[s] - before[s] for s in SONGS)
        assert "better on   3, worse on   0;" in line  # the IRM beats the mixture on every song
        assert f"median difference {differences[1]:+.2f} dB, mean {sum(differences) / 3:+.2f} dB" in line


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "nowhere", r"--baseline .*nowhere: no tracks\.csv there; give the tracks\.csv \(or its folder\) of an earlier evaluate\.py run"),
        (lambda tmp: (tmp / "other.csv", (tmp / "other.csv").write_text("a;b\n1;2\n"))[0], r"other\.csv is not a tracks\.csv of evaluate\.py"),
    ],
)
def test_a_bad_baseline_is_one_line_before_anything_is_scored(tiny, tmp_path, capsys, make, message):
    import re

    code = evaluate.main(["--configuration", str(tiny), "--oracle", "irm", "--metric", "global", "--baseline", str(make(tmp_path)),
                          "--workingdir", str(tmp_path / "work"), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code != EXIT_OK and len(err.splitlines()) == 1 and re.search(message, err), err
    assert not (tmp_path / "work" / "cache").exists()  # nothing was prepared


def test_a_baseline_of_another_metric_names_the_metric_to_pass(tiny, tmp_path, capsys):
    work = tmp_path / "work"
    common = ["--configuration", str(tiny), "--oracle", "mixture", "--split", "all", "--workingdir", str(work), "--quiet"]
    assert evaluate.main([*common, "--metric", "global"]) == EXIT_OK
    capsys.readouterr()
    code = evaluate.main([*common, "--metric", "mir_eval", "--baseline", str(work / "evaluation" / "tiny" / "oracle-mixture_global_all")])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_USAGE and "was scored with global, this evaluation with mir_eval; pass --metric global" in err, err


def test_the_high_band_snr_is_written_printed_and_compared_with_a_baseline(tiny, tmp_path, capsys):
    # The tiny songs are at 8 kHz: no bin lies above the default 11,025 Hz, so the band starts at 500 Hz here.
    work = tmp_path / "work"
    common = ["--configuration", str(tiny), "--metric", "global", "--split", "all", "--high_band_edge", "500", "--workingdir", str(work), "--quiet"]
    assert evaluate.main([*common, "--oracle", "mixture"]) == EXIT_OK
    floor = work / "evaluation" / "tiny" / "oracle-mixture_global_all"
    capsys.readouterr()
    assert evaluate.main([*common, "--oracle", "irm", "--baseline", str(floor)]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    ceiling = work / "evaluation" / "tiny" / "oracle-irm_global_all"

    def column(folder, name):
        with (folder / "tracks.csv").open() as handle:
            return {row["track"]: float(row[name]) for row in csv.DictReader(handle, delimiter=";")}

    assert column(ceiling, "high_band_edge_hz") == dict.fromkeys(SONGS, 500.0)
    assert out[1].split()[-2:] == ["high-band", "SNR"]
    for stem, name in (("vocals", "voc_high_band_snr"), ("instrumental", "inst_high_band_snr")):
        median_line = next(line for line in out if line.startswith(f"{stem} ") and "(mean)" not in line)
        assert float(median_line.split()[-1]) == pytest.approx(float(np.median(list(column(ceiling, name).values()))), abs=0.01)

    start = out.index(f"against {floor / 'tracks.csv'}, song by song (high-band SNR above 500 Hz, this minus baseline, 3 songs in both):")
    for line, name in ((out[start + 1], "voc_high_band_snr"), (out[start + 2], "inst_high_band_snr")):
        before, after = column(floor, name), column(ceiling, name)
        differences = sorted(after[s] - before[s] for s in SONGS)
        assert f"better on {sum(d > 0 for d in differences):>3}, worse on {sum(d < 0 for d in differences):>3};" in line
        assert f"median difference {differences[1]:+.2f} dB, mean {sum(differences) / 3:+.2f} dB" in line
    assert "better on   3, worse on   0;" in out[start + 2]  # the mixture's instrumental holds all the vocals' tones


def test_a_bad_high_band_edge_is_a_usage_error_before_anything_is_prepared(tiny, tmp_path, capsys):
    code = evaluate.main(["--configuration", str(tiny), "--oracle", "irm", "--high_band_edge", "0", "--workingdir", str(tmp_path)])
    assert code == EXIT_USAGE
    assert "error: --high_band_edge must be a frequency in Hz above 0 and at most 192000 (the highest Nyquist frequency), received 0.0" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


def test_the_high_band_edge_flag_defaults_to_the_library_edge():
    from unmix.cli.options import FLAGS
    from unmix.evaluation.band_snr import DEFAULT_EDGE_HZ

    assert FLAGS["--high_band_edge"].options["default"] == DEFAULT_EDGE_HZ
    assert evaluate.build_parser().parse_args(["--configuration", "c"]).high_band_edge == DEFAULT_EDGE_HZ


@pytest.fixture
def mir1k_clips(tmp_path, rng):
    """Two 16 kHz stereo clips laid out as MIR-1K: left accompaniment (noise), right voice (a tone)."""
    root = tmp_path / "mir1k-test"
    root.mkdir()
    for index, name in enumerate(("annar_1_01", "bobon_2_03")):
        t = np.arange(int(1.5 * 16000)) / 16000
        voice = 0.3 * np.sin(2 * np.pi * (440 + 110 * index) * t)
        accompaniment = 0.1 * rng.standard_normal(t.size)
        soundfile.write(root / f"{name}.wav", np.stack([accompaniment, voice], axis=1).astype(np.float32), 16000, subtype="FLOAT")
    return root


def test_the_mir1k_protocol_scores_every_clip_of_a_folder(tiny, mir1k_clips, tmp_path, capsys):
    """The mixture oracle (the floor) has an NSDR of 0 on every clip; tracks.csv holds a row per clip."""
    work = tmp_path / "work"
    code = evaluate.main(["--configuration", str(tiny), "--oracle", "mixture", "--protocol", "mir1k", "--collection", str(mir1k_clips),
                          "--workingdir", str(work), "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    lines = out.splitlines()
    assert lines[0] == "oracle-mixture on 2 all clip(s) of mir1k-test: MIR-1K protocol (dB)"
    vocals = lines[2].split()
    assert vocals[0] == "vocals" and float(vocals[1]) == 0.0, "GNSDR of the mixture itself"
    folder = work / "evaluation" / "mir1k-test" / "oracle-mixture_mir1k"
    with (folder / "tracks.csv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert sorted(r["track"] for r in rows) == ["annar_1_01", "bobon_2_03"] and {r["n_samples"] for r in rows} == {"24000"}
    assert all(abs(float(r["voc_nsdr"])) < 1e-6 and float(r["voc_mixture_sdr"]) > 0 for r in rows)
    assert (folder / "global.csv").is_file()


def test_the_mir1k_protocol_runs_a_model_from_its_run_folder(mir1k_clips, tmp_path, capsys, dummy_run):
    """A (tiny, 8 kHz) model separates the 16 kHz mixture; its stems come back at 16 kHz, whole."""
    configuration = write_configuration(tmp_path / "mono.jsonc", mir1k_clips, stereo=False)
    folder, _ = dummy_run(tmp_path / "runs" / "mono-run", configuration, weights_file="weights.weights.h5", seed=3)
    code = evaluate.main(["--run_folder", str(folder.path), "--protocol", "mir1k", "--collection", str(mir1k_clips),
                          "--workingdir", str(tmp_path), "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    with (folder.path / "evaluation" / "mir1k-test" / "model_mir1k" / "tracks.csv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert len(rows) == 2 and all(math.isfinite(float(r["inst_nsdr"])) for r in rows)


@pytest.mark.parametrize("extra", [["--baseline", "x.csv"], ["--metric", "global"], ["--high_band_edge", "4000"]])
def test_standard_protocol_flags_are_usage_errors_with_mir1k(extra, capsys):
    with pytest.raises(SystemExit) as caught:
        evaluate.main(["--configuration", "c.jsonc", "--oracle", "mixture", "--protocol", "mir1k", *extra])
    assert caught.value.code == EXIT_USAGE
    assert f"{extra[0]} belongs to the standard protocol; --protocol mir1k always scores whole clips" in capsys.readouterr().err


def test_the_test_and_validation_splits_write_to_their_own_folders(tiny, tmp_path, capsys):
    """Both used to write <label>_<metric>/: the second split overwrote the first's tracks.csv."""
    configuration = write_configuration(tmp_path / "split.jsonc", tmp_path / "tiny", validation_ratio=0.5)
    work = tmp_path / "work"
    scored = {}
    for split in ("test", "validation"):
        code = evaluate.main(["--configuration", str(configuration), "--oracle", "irm", "--metric", "global", "--split", split,
                              "--workingdir", str(work), "--quiet"])  # fmt: skip
        assert code == EXIT_OK
        scores = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("scores: "))
        scored[split] = Path(scores.removeprefix("scores: "))
    base = work / "evaluation" / "tiny"  # the collection folder names it
    assert scored == {"test": base / "oracle-irm_global", "validation": base / "oracle-irm_global_validation"}
    tracks = {}
    for split, folder in scored.items():
        with (folder / "tracks.csv").open() as handle:
            tracks[split] = [row["track"] for row in csv.DictReader(handle, delimiter=";")]
        assert sorted(p.stem for p in (folder / "test").iterdir()) == tracks[split]
    assert len(tracks["test"]) == len(tracks["validation"]) == 1 and tracks["test"] != tracks["validation"]


def test_a_bad_batch_size_of_a_run_is_refused_with_its_key_and_file_before_any_song_is_prepared(tiny, tmp_path, capsys, dummy_run):
    document = json.loads(tiny.read_text().split("\n", 1)[1])
    document["training"]["batch_size"] = 0
    (tmp_path / "runs").mkdir()
    folder, _ = dummy_run(tmp_path / "runs" / "bad-batch", document, weights_file="weights.weights.h5")
    code = evaluate.main(["--run_folder", str(folder.path), "--metric", "global", "--workingdir", str(tmp_path / "work"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_USAGE
    assert err == f"error: training.batch_size in {folder.configuration}: received 0; expected a whole number >= 1 and <= 4096"
    assert not (tmp_path / "work" / "cache").exists()  # nothing was prepared


def test_the_fallback_from_an_unreadable_best_json_names_evaluates_flag(tiny, tmp_path, capsys, dummy_run):
    folder, _ = dummy_run(tmp_path / "runs" / "broken-best", tiny, weights_file="callback_weights_02.weights.h5")
    folder.best_record.write_text("{")
    code = evaluate.main(["--run_folder", str(folder.path), "--metric", "global", "--workingdir", str(tmp_path / "work"), "--quiet"])
    assert code == EXIT_OK
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "best.json" in line]
    assert warning.endswith("using callback_weights_02.weights.h5 instead (the latest checkpoint); pass --checkpoint FILE to choose")
