"""Song-by-song comparison of two evaluations (evaluate.py --baseline)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.evaluation.compare import compare, format_comparison
from unmix.evaluation.scores_io import read_track_table, write_track_table
from unmix.evaluation.track_scores import TrackScores


def _scores(vocals: float, instrumental: float) -> TrackScores:
    frames = {source: {"SDR": np.array([value])} for source, value in (("vocals", vocals), ("instrumental", instrumental))}
    return TrackScores("global", frames, 1, {"vocals": int(math.isnan(vocals)), "instrumental": 0}, 1.0, 1.0)


def test_each_song_is_compared_with_itself_and_songs_missing_from_the_baseline_are_named(tmp_path):
    # The median over songs rises (2.0 -> 2.5) while two of the three shared songs get worse.
    before = [("a", _scores(1.0, 5.0)), ("b", _scores(2.0, 6.0)), ("c", _scores(9.0, 7.0))]
    after = [("a", _scores(0.5, 5.5)), ("b", _scores(2.5, 6.0)), ("c", _scores(8.0, float("nan"))), ("new", _scores(3.0, 3.0))]
    write_track_table(tmp_path / "tracks.csv", before)
    metric, rows = read_track_table(tmp_path / "tracks.csv")
    assert metric == "global" and rows["b"]["voc_sdr"] == 2.0
    (vocals, instrumental), missing = compare(after, rows)
    assert missing == ("new",)
    assert vocals.differences == (-0.5, 0.5, -1.0) and (vocals.n_better, vocals.n_worse) == (1, 2)
    assert vocals.median == -0.5 and vocals.mean == pytest.approx(-1 / 3)
    assert instrumental.differences == (0.5, 0.0)  # song c has no instrumental score now: left out
    lines = format_comparison(tmp_path / "tracks.csv", (vocals, instrumental), missing)
    assert lines[1] == "vocals        better on   1, worse on   2; median difference -0.50 dB, mean -0.33 dB"
    assert lines[-1] == "1 song(s) not in the baseline, left out: new"


def test_evaluations_of_other_songs_cannot_be_compared():
    with pytest.raises(ConfigurationError, match="none of the 1 scored songs is in the baseline"):
        compare([("x", _scores(1.0, 1.0))], {"y": {"voc_sdr": 1.0, "inst_sdr": 1.0}})
