"""Reproduce museval's own regression values through unmix's score_museval.

museval's tests/test_regression.py scores seeded random estimates on
"Music Delta - 80s Rock" and compares every window with `np.allclose(..., atol=1e-03)`;
the expected JSON lies in ../shared/data/museval-regression/.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from unmix.evaluation.bsseval import METRIC_NAMES, score_museval

TRACK = "Music Delta - 80s Rock"
# museval's regression test compares with np.allclose(reference, estimate, atol=1e-03).
MUSEVAL_ATOL = 1e-3


@pytest.mark.shared_data
@pytest.mark.slow
def test_score_museval_reproduces_museval_regression_values(shared_data):
    import musdb

    expected = json.loads((shared_data / "museval-regression" / f"{TRACK}.museval.json").read_text())
    database = musdb.DB(root=str(shared_data / "musdb18-7"), subsets="train")
    track = next(t for t in database.tracks if t.name == TRACK)

    # museval's recipe: seed 0, vocals then accompaniment, shaped like the mixture (samples, 2).
    np.random.seed(0)
    random_vocals = np.random.random(track.audio.shape)
    random_accompaniment = np.random.random(track.audio.shape)

    # Our API is (channels, samples) and calls the accompaniment "instrumental".
    references = {
        "vocals": np.moveaxis(track.targets["vocals"].audio, -1, 0),
        "instrumental": np.moveaxis(track.targets["accompaniment"].audio, -1, 0),
    }
    estimates = {"vocals": np.moveaxis(random_vocals, -1, 0), "instrumental": np.moveaxis(random_accompaniment, -1, 0)}
    scores = score_museval(references, estimates, sample_rate=track.rate)
    ours = scores.to_museval_json(TRACK)

    assert [t["name"] for t in ours["targets"]] == ["vocals", "accompaniment"]
    for target in expected["targets"]:
        mine = next(t for t in ours["targets"] if t["name"] == target["name"])
        assert [(f["time"], f["duration"]) for f in mine["frames"]] == [
            (f["time"], f["duration"]) for f in target["frames"]
        ]
        source = "instrumental" if target["name"] == "accompaniment" else target["name"]
        for metric in METRIC_NAMES:
            reference_values = np.array([f["metrics"][metric] for f in target["frames"]])
            np.testing.assert_allclose(scores.frames[source][metric], reference_values, rtol=0, atol=MUSEVAL_ATOL)
            written = np.array([f["metrics"][metric] for f in mine["frames"]])
            np.testing.assert_allclose(written, reference_values, rtol=0, atol=MUSEVAL_ATOL)
    assert scores.n_windows == 6 and scores.n_nan_windows == {"vocals": 0, "instrumental": 0}
