"""Song-by-song comparison of two evaluations (evaluate.py --baseline)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from unmix.errors import ConfigurationError
from unmix.evaluation.compare import compare, format_baseline_comparison, format_comparison
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


def _with_high_band(scores: TrackScores, vocals: float, instrumental: float, *, edge_hz: float = 11025.0) -> TrackScores:
    return dataclasses.replace(scores, high_band_snr={"vocals": vocals, "instrumental": instrumental}, high_band_edge_hz=edge_hz)


def test_the_high_band_snr_is_compared_song_by_song_after_sdr(tmp_path):
    before = [("a", _with_high_band(_scores(1.0, 5.0), -6.0, 2.0)), ("b", _with_high_band(_scores(2.0, 6.0), -5.0, 3.0))]
    after = [("a", _with_high_band(_scores(1.5, 5.0), -4.0, 2.5)), ("b", _with_high_band(_scores(2.5, 6.0), -5.5, float("nan")))]
    write_track_table(tmp_path / "tracks.csv", before)
    _, rows = read_track_table(tmp_path / "tracks.csv")
    lines = format_baseline_comparison(tmp_path / "tracks.csv", after, rows)
    assert lines[0].endswith("(SDR, this minus baseline, 2 songs in both):")
    assert lines[3] == f"against {tmp_path / 'tracks.csv'}, song by song (high-band SNR above 11025 Hz, this minus baseline, 2 songs in both):"
    assert lines[4] == "vocals        better on   1, worse on   1; median difference +0.75 dB, mean +0.75 dB"
    assert lines[5] == "instrumental  better on   1, worse on   0; median difference +0.50 dB, mean +0.50 dB"  # NaN: left out
    assert len(lines) == 6


def test_a_baseline_without_the_high_band_snr_compares_sdr_only(tmp_path):
    path = tmp_path / "tracks.csv"  # the table as evaluate.py wrote it before the high-band SNR
    header = "track;voc_sdr;voc_sir;voc_sar;voc_isr;inst_sdr;inst_sir;inst_sar;inst_isr;metric;n_windows;voc_nan_windows;inst_nan_windows"
    path.write_text(header + "\na;1;NaN;NaN;NaN;5;NaN;NaN;NaN;global;1;0;0\n")
    _, rows = read_track_table(path)
    lines = format_baseline_comparison(path, [("a", _with_high_band(_scores(2.0, 4.0), 1.0, 1.0))], rows)
    assert lines[1] == "vocals        better on   1, worse on   0; median difference +1.00 dB, mean +1.00 dB"
    assert lines[3:] == ["high-band SNR: not in the baseline (written before it was scored); not compared"]


def test_a_baseline_scored_above_another_edge_is_not_compared_on_the_high_band(tmp_path):
    write_track_table(tmp_path / "tracks.csv", [("a", _with_high_band(_scores(1.0, 5.0), 3.0, 3.0, edge_hz=8000.0))])
    _, rows = read_track_table(tmp_path / "tracks.csv")
    lines = format_baseline_comparison(tmp_path / "tracks.csv", [("a", _with_high_band(_scores(1.0, 5.0), 4.0, 4.0))], rows)
    assert lines[3:] == ["high-band SNR: the baseline scored it above 8000 Hz, this evaluation above 11025 Hz; not compared"]


def test_no_band_on_either_side_adds_nothing(tmp_path):
    nan = float("nan")
    write_track_table(tmp_path / "tracks.csv", [("a", _with_high_band(_scores(1.0, 5.0), nan, nan))])
    _, rows = read_track_table(tmp_path / "tracks.csv")
    lines = format_baseline_comparison(tmp_path / "tracks.csv", [("a", _with_high_band(_scores(1.0, 5.0), nan, nan))], rows)
    assert len(lines) == 3  # a 16 kHz collection: the SDR lines only
