"""The accuracy CSV, the per-track table and museval-compatible JSON files."""

from __future__ import annotations

import csv
import dataclasses
import json
import math

import numpy as np
import pytest

from unmix.errors import DataError
from unmix.evaluation.track_scores import TrackScores, aggregate
from unmix.evaluation.scores_io import (
    ACCURACY_COLUMNS,
    median_table,
    read_track_table,
    write_accuracy_row,
    write_museval_json,
    write_track_table,
)

HEADER = "epoch;type;voc_sdr;voc_sir;voc_sar;voc_isr;inst_sdr;inst_sir;inst_sar;inst_isr;metric"


def _museval_scores() -> TrackScores:
    frames = {
        "vocals": {
            "SDR": np.array([1.234564, np.nan, 3.0]),
            "SIR": np.array([10.0, np.nan, 12.0]),
            "SAR": np.array([2.0, np.nan, 4.0]),
            "ISR": np.array([5.0, np.nan, 7.0]),
        },
        "instrumental": {
            "SDR": np.array([8.0, np.nan, 9.0]),
            "SIR": np.array([20.0, np.nan, 21.0]),
            "SAR": np.array([9.5, np.nan, 9.75]),
            "ISR": np.array([15.0, np.nan, 16.0]),
        },
    }
    return TrackScores("museval", frames, 3, {"vocals": 1, "instrumental": 1}, 1.0, 1.0)


def _mir_eval_scores() -> TrackScores:
    frames = {
        source: {"SDR": np.array([value]), "SIR": np.array([value + 10]), "SAR": np.array([value + 1])}
        for source, value in (("vocals", 4.0), ("instrumental", 11.0))
    }
    return TrackScores("mir_eval", frames, 1, {"vocals": 0, "instrumental": 0}, 2.5, 2.5)


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def test_accuracy_header_written_once_and_rows_appended(tmp_path):
    path = tmp_path / "accuracy_test.csv"
    write_accuracy_row(path, epoch=1, kind="test", medians=_museval_scores().medians(), metric="museval")
    write_accuracy_row(path, epoch=2, kind="test", medians=_mir_eval_scores().medians(), metric="mir_eval")
    lines = path.read_text().splitlines()
    assert lines[0] == HEADER and ";".join(ACCURACY_COLUMNS) == HEADER
    assert len(lines) == 3 and lines.count(HEADER) == 1
    rows = _read(path)
    assert rows[1] == ["1", "test", "2.11728", "11.00000", "3.00000", "6.00000",
                       "8.50000", "20.50000", "9.62500", "15.50000", "museval"]
    # mir_eval has no ISR: NaN in both ISR columns.
    assert rows[2][5] == "NaN" and rows[2][9] == "NaN" and rows[2][2] == "4.00000" and rows[2][-1] == "mir_eval"
    assert math.isnan(float(rows[2][5]))


def test_accuracy_row_from_aggregate(tmp_path):
    path = tmp_path / "sub" / "accuracy_x.csv"
    medians = median_table(aggregate([_museval_scores(), _museval_scores()]))
    write_accuracy_row(path, epoch=0, kind="valid", medians=medians, metric="museval")
    assert _read(path)[1][:3] == ["0", "valid", "2.11728"]


def test_accuracy_row_rejects_other_header(tmp_path):
    path = tmp_path / "accuracy_old.csv"
    path.write_text("epoch;type;voc_sdr;voc_sir;voc_sar;inst_sdr;inst_sir;inst_sar\n1;test;1;2;3;4;5;6\n")
    with pytest.raises(DataError, match=r"accuracy_old.csv: Received: header 'epoch;type;voc_sdr;voc_sir;voc_sar;inst"):
        write_accuracy_row(path, epoch=2, kind="test", medians=_museval_scores().medians(), metric="museval")


def test_accuracy_row_rejects_missing_source(tmp_path):
    with pytest.raises(DataError, match=r"Received: scores for \['vocals'\]; expected \['vocals', 'instrumental'\]"):
        write_accuracy_row(tmp_path / "a.csv", epoch=1, kind="test", medians={"vocals": {"SDR": 1.0}}, metric="global")


def test_track_table(tmp_path):
    path = tmp_path / "tracks.csv"
    high_band = dataclasses.replace(_museval_scores(), high_band_snr={"vocals": 7.5, "instrumental": math.nan}, high_band_edge_hz=11025.0)
    write_track_table(path, [("Song; One", high_band), ("Song Two", _mir_eval_scores())])
    rows = _read(path)
    assert rows[0][:3] == ["track", "voc_sdr", "voc_sir"]
    # The high-band columns come after the older ones, so positional readers of the old table still work.
    assert rows[0][-7:] == ["metric", "n_windows", "voc_nan_windows", "inst_nan_windows",
                            "voc_high_band_snr", "inst_high_band_snr", "high_band_edge_hz"]  # fmt: skip
    assert rows[1][0] == "Song; One" and rows[1][-7:] == ["museval", "3", "1", "1", "7.50000", "NaN", "11025.00000"]
    assert rows[2][0] == "Song Two" and rows[2][4] == "NaN" and rows[2][-3:] == ["NaN", "NaN", "NaN"]  # not scored
    write_track_table(path, [("Song; One", high_band)])
    metric, tracks = read_track_table(path)
    assert metric == "museval" and tracks["Song; One"]["voc_high_band_snr"] == 7.5 and tracks["Song; One"]["high_band_edge_hz"] == 11025.0
    write_track_table(path, [("Only", _mir_eval_scores())])  # overwrites
    assert len(_read(path)) == 2


def test_a_track_table_written_before_the_high_band_snr_still_reads(tmp_path):
    path = tmp_path / "tracks.csv"
    header = "track;voc_sdr;voc_sir;voc_sar;voc_isr;inst_sdr;inst_sir;inst_sar;inst_isr;metric;n_windows;voc_nan_windows;inst_nan_windows"
    path.write_text(header + "\nOld Song;1.5;2;3;4;5;6;7;8;museval;3;0;0\n")
    metric, tracks = read_track_table(path)
    assert metric == "museval" and tracks["Old Song"]["voc_sdr"] == 1.5
    assert "voc_high_band_snr" not in tracks["Old Song"] and "high_band_edge_hz" not in tracks["Old Song"]
    path.write_text(header + "\nOld Song;1.5;2;3;4;5;6;7;8;museval;3;0;0;9.0;9.0;11025\n")
    with pytest.raises(DataError, match=r"tracks.csv: a row has 16 cells; expected 13$"):
        read_track_table(path)


def test_museval_json_layout_equals_museval_trackstore():
    import museval

    scores = _museval_scores()
    store = museval.TrackStore(track_name="t", win=1.0, hop=1.0)
    for source, name in (("vocals", "vocals"), ("instrumental", "accompaniment")):
        store.add_target(target_name=name, values={k: v.tolist() for k, v in scores.frames[source].items()})
    theirs = json.loads(store.json)
    ours = json.loads(json.dumps(scores.to_museval_json("t"), allow_nan=True))
    assert json.dumps(ours["targets"]) == json.dumps(theirs["targets"])  # same keys, order and values
    assert ours["museval_version"] == museval.version._version


@pytest.mark.parametrize("scores", [_museval_scores(), _mir_eval_scores()])
def test_museval_json_validates_and_loads_with_museval(tmp_path, scores):
    import jsonschema
    import museval
    import simplejson
    from museval.aggregate import json2df

    path = tmp_path / "evaluation" / "Song.json"
    write_museval_json(path, scores, "Song")
    document = simplejson.loads(path.read_text(), allow_nan=True)
    store = museval.TrackStore(track_name="Song")
    jsonschema.validate(document, store.schema)  # museval's musdb.schema.json
    frame = json2df(document, "Song")
    vocals_sdr = frame[(frame.target == "vocals") & (frame.metric == "SDR")].score.to_numpy()
    np.testing.assert_allclose(vocals_sdr, np.round(scores.frames["vocals"]["SDR"], 5))
    assert set(frame.target) == {"vocals", "accompaniment"}
    if scores.metric == "mir_eval":
        frame = document["targets"][0]["frames"][0]
        assert (frame["time"], frame["duration"]) == (0.0, 2.5)
        assert {k: frame["metrics"][k] for k in ("SDR", "SIR", "SAR")} == {"SDR": 4.0, "SIR": 14.0, "SAR": 5.0}
        assert math.isnan(frame["metrics"]["ISR"])
