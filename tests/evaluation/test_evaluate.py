"""evaluate_songs over a tiny real cache, the score files and the table."""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.data.cache import read_stems
from unmix.data.layouts import discover
from unmix.data.prepare import prepare
from unmix.dsp.stft import StftOptions
from unmix.errors import ConfigurationError, DataError
from unmix.evaluation.evaluate import (
    evaluate_songs,
    format_table,
    track_name,
    write_accuracy,
    write_evaluation,
)
from unmix.evaluation.band_snr import high_band_snr
from unmix.evaluation.oracles import Oracle

SAMPLE_RATE = 8000
STFT = StftOptions(n_fft=256, hop_length=64)


def _write_song(root: Path, name: str, vocals: np.ndarray, instrumental: np.ndarray) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    soundfile.write(folder / f"vocals_{name}.wav", vocals.T, SAMPLE_RATE, subtype="FLOAT")
    soundfile.write(folder / f"instrumental_{name}.wav", instrumental.T, SAMPLE_RATE, subtype="FLOAT")


@pytest.fixture
def cached_songs(tmp_path, tone, rng):
    """Two 1.5 s stereo songs prepared into a real cache (unmix layout)."""
    root = tmp_path / "collection"
    for index, name in enumerate(("Song A", "Song B")):
        vocals = tone(frequency_hz=880 + 100 * index, duration_s=1.5, sample_rate=SAMPLE_RATE)
        instrumental = tone(frequency_hz=220, duration_s=1.5, sample_rate=SAMPLE_RATE, amplitude=0.2)
        instrumental += 0.02 * rng.standard_normal(instrumental.shape).astype(np.float32)
        _write_song(root, name, vocals, instrumental)
    discovery = discover(root)
    prepared = prepare(discovery.songs, cache_dir=tmp_path / "cache", sample_rate=SAMPLE_RATE, n_channels=2, progress=False)
    assert not prepared.failed
    return sorted(prepared.cached, key=lambda c: c.song_id)


def test_oracle_over_cached_songs_writes_csv_json_and_box_plot(cached_songs, tmp_path):
    result = evaluate_songs(Oracle("irm", stft=STFT), cached_songs, sample_rate=SAMPLE_RATE, metric="museval", progress=False)
    assert [name for name, _ in result.tracks] == ["Song A", "Song B"]
    assert not result.failed
    assert result.medians()["vocals"]["SDR"] > 10

    files = write_evaluation(result, tmp_path / "evaluation" / "tiny", label="oracle-irm")
    assert files.folder == tmp_path / "evaluation" / "tiny" / "oracle-irm_museval"
    assert files.box_plot is not None and files.box_plot.stat().st_size > 1000
    with files.tracks_csv.open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert [r["track"] for r in rows] == ["Song A", "Song B"]
    assert float(rows[0]["voc_sdr"]) == pytest.approx(result.tracks[0][1].medians()["vocals"]["SDR"], abs=1e-4)
    assert [p.name for p in files.json_files] == ["Song A.json", "Song B.json"]

    import museval

    store = museval.MethodStore()
    store.add_eval_dir(files.folder)  # museval reads our JSON files as its own
    assert set(store.df["track"]) == {"Song A", "Song B"}
    assert set(store.df["target"]) == {"vocals", "accompaniment"}

    accuracy = tmp_path / "accuracy_tiny.csv"
    write_accuracy(result, accuracy, epoch=0, kind="test-oracle-irm")
    header, row = accuracy.read_text().splitlines()
    assert header == "epoch;type;voc_sdr;voc_sir;voc_sar;voc_isr;inst_sdr;inst_sir;inst_sar;inst_isr;metric"
    assert row.startswith("0;test-oracle-irm;") and row.endswith(";museval")


def test_a_failing_song_is_listed_and_the_others_are_scored(cached_songs, caplog):
    broken = dataclasses.replace(cached_songs[0], song_id="broken", path=cached_songs[0].path.with_name("missing.h5"))
    wrong_rate = dataclasses.replace(cached_songs[1], song_id="wrong rate", sample_rate=44100)
    with caplog.at_level(logging.ERROR, logger="unmix"):
        result = evaluate_songs(
            Oracle("mixture", stft=STFT), [broken, *cached_songs, wrong_rate], sample_rate=SAMPLE_RATE,
            metric="global", progress=False,
        )  # fmt: skip
    assert [name for name, _ in result.tracks] == ["Song A", "Song B"]
    assert [song_id for song_id, _ in result.failed] == ["broken", "wrong rate"]
    assert "44100 Hz" in result.failed[1][1]
    assert "'broken' could not be scored" in caplog.text
    lines = format_table(result, title="mixture")
    assert "2 song(s) failed:" in lines
    assert any(line.startswith("  broken: ") for line in lines)


def test_an_estimator_gets_the_mixture_and_its_errors_fail_only_that_song(tone):
    vocals = tone(frequency_hz=880, duration_s=1.0, sample_rate=SAMPLE_RATE)
    instrumental = tone(frequency_hz=220, duration_s=1.0, sample_rate=SAMPLE_RATE)
    calls = []

    def estimator(mix, sample_rate):
        calls.append(sample_rate)
        np.testing.assert_allclose(mix, vocals + instrumental)
        if len(calls) == 2:
            raise RuntimeError("model exploded\nsecond line")
        if len(calls) == 3:
            return {"vocals": mix[:, :10], "instrumental": mix}  # wrong length
        return {"vocals": vocals * 0.5, "instrumental": instrumental * 0.5}

    songs = [(f"set/s{k}.wav", vocals, instrumental) for k in range(3)]
    result = evaluate_songs(estimator, songs, sample_rate=SAMPLE_RATE, metric="global", progress=False)
    assert calls == [SAMPLE_RATE] * 3
    assert [name for name, _ in result.tracks] == ["s0"]
    assert result.tracks[0][1].medians()["vocals"]["SDR"] == pytest.approx(6.0206, abs=1e-3)
    assert result.failed[0] == ("set/s1.wav", "model exploded")
    assert result.failed[1][0] == "set/s2.wav" and "trim or pad" in result.failed[1][1]


def test_estimates_hook_sees_each_scored_song_and_its_errors_are_not_fatal(tone):
    vocals = tone(frequency_hz=880, duration_s=0.5, sample_rate=SAMPLE_RATE)
    instrumental = tone(frequency_hz=220, duration_s=0.5, sample_rate=SAMPLE_RATE)
    seen = []

    def hook(index, name, estimates):
        seen.append((index, name, sorted(estimates)))
        raise OSError("disk full")

    songs = [("a/x", vocals, instrumental), ("b/x", vocals, instrumental)]
    result = evaluate_songs(Oracle("ibm", stft=STFT), songs, sample_rate=SAMPLE_RATE, metric="global", progress=False, on_estimates=hook)
    assert seen == [(0, "x", ["instrumental", "vocals"]), (1, "x (2)", ["instrumental", "vocals"])]
    assert len(result.tracks) == 2 and not result.failed


def test_unknown_metric_fails_before_any_song_is_separated(tone):
    def estimator(mix, sample_rate):
        raise AssertionError("must not be called")

    with pytest.raises(ConfigurationError, match=r"^metric: unknown metric 'musevall'; known: museval, mir_eval, global; did you mean 'museval'\?$"):
        stem = tone(frequency_hz=440, duration_s=0.1, sample_rate=SAMPLE_RATE)
        evaluate_songs(estimator, [("a", stem, stem)], sample_rate=SAMPLE_RATE, metric="musevall")


def test_nothing_scored_has_no_files_to_write(tmp_path):
    result = evaluate_songs(Oracle("irm", stft=STFT), [], sample_rate=SAMPLE_RATE, metric="global", progress=False)
    with pytest.raises(DataError, match="no song was scored"):
        write_evaluation(result, tmp_path, label="model")


def test_format_table_has_medians_means_and_songs(cached_songs):
    result = evaluate_songs(Oracle("irm", stft=STFT), cached_songs, sample_rate=SAMPLE_RATE, metric="mir_eval", progress=False)
    lines = format_table(result, title="irm on tiny")
    assert lines[0] == "irm on tiny"
    assert lines[1].split() == ["median", "over", "songs", "SDR", "SIR", "SAR"]  # mir_eval has no ISR
    assert lines[2].startswith("vocals ") and lines[4].startswith("vocals (mean)")
    assert any(line.startswith("Song A") for line in lines)


@pytest.mark.parametrize(
    ("song_id", "name"),
    [("train/ANiMAL - Rockshow.stem.mp4", "ANiMAL - Rockshow"), ("seed/Song A", "Song A"),
     ("mir/clip_1.flac", "clip_1"), ("plain", "plain")],
)  # fmt: skip
def test_track_name(song_id, name):
    assert track_name(song_id) == name


def test_each_stem_gets_its_high_band_snr_in_the_table_and_the_csv(cached_songs, tmp_path):
    # At 8 kHz the default 11,025 Hz edge has no band: an edge of 500 Hz keeps the vocals' tones and the noise.
    result = evaluate_songs(Oracle("irm", stft=STFT), cached_songs, sample_rate=SAMPLE_RATE, metric="global", progress=False,
                            high_band_edge_hz=500.0)  # fmt: skip
    references = read_stems(cached_songs[0])
    estimates = Oracle("irm", stft=STFT)(*references)
    expected = high_band_snr(references[0], estimates["vocals"], sample_rate=SAMPLE_RATE, edge_hz=500.0)
    scores = result.tracks[0][1]
    assert scores.high_band_snr["vocals"] == pytest.approx(expected) and scores.high_band_edge_hz == 500.0
    assert 0 < expected < 100

    files = write_evaluation(result, tmp_path, label="oracle-irm")
    with files.tracks_csv.open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert float(rows[0]["voc_high_band_snr"]) == pytest.approx(expected, abs=1e-4)
    assert [float(r["high_band_edge_hz"]) for r in rows] == [500.0, 500.0]
    median = np.median([float(r["inst_high_band_snr"]) for r in rows])

    lines = format_table(result, title="irm")
    assert lines[1].split() == ["median", "over", "songs", "SDR", "high-band", "SNR"]
    assert lines[3].startswith("instrumental ") and float(lines[3].split()[-1]) == pytest.approx(median, abs=0.01)
    assert "high-band SNR: the STFT bins above 500 Hz, whole song" in lines


def test_without_a_band_at_this_sample_rate_the_table_says_so(cached_songs):
    result = evaluate_songs(Oracle("irm", stft=STFT), cached_songs, sample_rate=SAMPLE_RATE, metric="global", progress=False)
    assert all(math.isnan(v) for _, scores in result.tracks for v in scores.high_band_snr.values())
    lines = format_table(result, title="irm")
    assert lines[1].split() == ["median", "over", "songs", "SDR"]
    assert "high-band SNR: no STFT bin above 11025 Hz at this sample rate; not scored" in lines


def test_a_bad_high_band_edge_fails_before_any_song_is_separated(tone):
    def estimator(mix, sample_rate):
        raise AssertionError("must not be called")

    stem = tone(frequency_hz=440, duration_s=0.1, sample_rate=SAMPLE_RATE)
    with pytest.raises(ConfigurationError, match=r"^high_band_edge: Received: -1\.0; expected a frequency in Hz above 0"):
        evaluate_songs(estimator, [("a", stem, stem)], sample_rate=SAMPLE_RATE, metric="global", high_band_edge_hz=-1.0)
