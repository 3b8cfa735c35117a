"""Aggregation of per-track scores over tracks (unmix.evaluation.track_scores)."""

from __future__ import annotations

import numpy as np
import pytest

from unmix.errors import DataError
from unmix.evaluation.track_scores import TrackScores, aggregate


def _scores(values: dict[str, list[float]]) -> TrackScores:
    frames = {source: {"SDR": np.array(v, dtype=np.float64)} for source, v in values.items()}
    nan = {source: int(np.isnan(v).sum()) for source, v in values.items()}
    return TrackScores("museval", frames, len(next(iter(values.values()))), nan, 1.0, 1.0)


def test_aggregate_median_and_mean_of_track_medians_skipping_nan_tracks():
    tracks = [
        _scores({"vocals": [1.0, 2.0, 9.0]}),  # median 2
        _scores({"vocals": [4.0, np.nan, 6.0]}),  # median 5
        _scores({"vocals": [np.nan, np.nan, np.nan]}),  # NaN track
        _scores({"vocals": [8.0, 8.0, 8.0]}),  # median 8
    ]
    result = aggregate(tracks)["vocals"]["SDR"]
    assert result == {"median": 5.0, "mean": 5.0, "n_tracks": 3, "n_nan_tracks": 1}


def test_aggregate_rejects_empty_and_mixed_metrics():
    with pytest.raises(DataError, match="no track scores"):
        aggregate([])
    other = TrackScores("global", {"vocals": {"SDR": np.array([1.0])}}, 1, {"vocals": 0}, 1.0, 1.0)
    with pytest.raises(DataError, match=r"metrics \['global', 'museval'\]"):
        aggregate([_scores({"vocals": [1.0]}), other])
