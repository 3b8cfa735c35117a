"""AccuracyCallback: rows at the right epochs, predictions, plot, no songs, failures, memory."""

from __future__ import annotations

import csv
import json
import logging
import tracemalloc

import numpy as np
import pytest
import soundfile

from unmix.callbacks.accuracy import AccuracyCallback, read_sdr_history, separator_for_training
from unmix.data.layouts import discover
from unmix.data.prepare import prepare
from unmix.errors import ConfigurationError
from unmix.runfolder import RunFolder

keras = pytest.importorskip("keras")

SAMPLE_RATE = 8000
N_BINS = 129  # FFT 256
INPUT_SHAPE = (N_BINS, 8, 2)


@pytest.fixture
def songs(tmp_path, tone, rng):
    root = tmp_path / "collection"
    for index, name in enumerate(("Song A", "Song B")):
        folder = root / name
        folder.mkdir(parents=True)
        vocals = tone(frequency_hz=900 + 300 * index, duration_s=1.0, sample_rate=SAMPLE_RATE)
        instrumental = tone(frequency_hz=200, duration_s=1.0, sample_rate=SAMPLE_RATE, amplitude=0.2)
        instrumental += 0.02 * rng.standard_normal(instrumental.shape).astype(np.float32)
        soundfile.write(folder / f"vocals_{name}.wav", vocals.T, SAMPLE_RATE, subtype="FLOAT")
        soundfile.write(folder / f"instrumental_{name}.wav", instrumental.T, SAMPLE_RATE, subtype="FLOAT")
    prepared = prepare(discover(root).songs, cache_dir=tmp_path / "cache", sample_rate=SAMPLE_RATE, n_channels=2, progress=False)
    return sorted(prepared.cached, key=lambda c: c.song_id)


@pytest.fixture
def run(tmp_path):
    return RunFolder.create(working_directory=tmp_path, output_path="runs", configuration_name="tiny")


def tiny_model():
    from unmix.models.registry import build_model

    model = build_model("dummy", {}, input_shape=INPUT_SHAPE, output="mask")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mean_squared_error")
    return model


def fit(model, callback, *, epochs):
    rng = np.random.default_rng(0)
    x = rng.random((4, *INPUT_SHAPE), dtype=np.float32)
    y = rng.random((4, *INPUT_SHAPE), dtype=np.float32)
    model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=[callback])


class HalfFactory:
    """A fake separator factory: half the mixture to each stem; counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model):
        self.calls += 1
        return lambda mix, sample_rate: {"vocals": mix * 0.5, "instrumental": mix * 0.5}


def rows(run):
    path = run.accuracy("tiny")
    if not path.is_file():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def write_configuration(path):
    document = {
        "collection": {"sample_rate": SAMPLE_RATE},
        "training": {"model": {"name": "dummy", "options": {}}, "batch_size": 2},
        "transformation": {"fft_window": 256, "hop_length": 64, "options": {"size": 8, "step": 8}},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.slow
def test_real_separation_with_current_weights_every_epoch(songs, run, tmp_path, monkeypatch):
    import unmix.config
    from unmix.dsp.stft import StftOptions
    from unmix.pipeline.representations import get_representation

    monkeypatch.setattr(unmix.config, "PROJECT_ROOT", tmp_path)  # no developer .env
    config = unmix.config.load(write_configuration(tmp_path / "tiny.jsonc"), working_directory=tmp_path, environ={})
    stft = StftOptions(n_fft=256, hop_length=64)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    callback = AccuracyCallback(
        run, songs=songs, separator_factory=separator_for_training(config, stats=None),
        every=1, save_count=1, metric="global", collection_name="tiny",
    )  # fmt: skip
    fit(tiny_model(), callback, epochs=2)

    written = rows(run)
    assert [(r["epoch"], r["type"], r["metric"]) for r in written] == [("1", "test", "global"), ("2", "test", "global")]
    assert all(np.isfinite(float(r["voc_sdr"])) and r["voc_sir"] == "NaN" for r in written)
    names = sorted(p.name for p in run.predictions.iterdir())
    assert names == ["1_Song A_instrumental.wav", "1_Song A_vocals.wav", "2_Song A_instrumental.wav", "2_Song A_vocals.wav"]
    first, rate = soundfile.read(run.predictions / "1_Song A_vocals.wav", always_2d=True)
    second, _ = soundfile.read(run.predictions / "2_Song A_vocals.wav", always_2d=True)
    assert rate == SAMPLE_RATE and first.shape == (SAMPLE_RATE, 2)
    assert not np.allclose(first, second)  # the second epoch separated with the updated weights
    assert (run.plots / "accuracy.png").stat().st_size > 1000


@pytest.mark.parametrize(("every", "epochs", "expected"), [(0, 2, ["2"]), (2, 3, ["2", "3"]), (2, 4, ["2", "4"]), (1, 3, ["1", "2", "3"])])
def test_rows_at_multiples_of_every_and_at_the_end(songs, run, every, epochs, expected):
    factory = HalfFactory()
    callback = AccuracyCallback(run, songs=songs, separator_factory=factory, every=every, save_count=0,
                                metric="global", collection_name="tiny")  # fmt: skip
    fit(tiny_model(), callback, epochs=epochs)
    assert [r["epoch"] for r in rows(run)] == expected
    assert factory.calls == 1  # one separator for the whole run, never a new model per evaluation
    assert list(run.predictions.iterdir()) == []
    epochs_read, sdr = read_sdr_history(run.accuracy("tiny"), metric="global", kind="test")
    assert [str(e) for e in epochs_read] == expected
    assert np.isfinite(sdr["vocals"][0]) and sdr["vocals"] == pytest.approx([sdr["vocals"][0]] * len(expected))


def test_no_songs_warns_once_and_writes_nothing(run, caplog):
    factory = HalfFactory()
    callback = AccuracyCallback(run, songs=[], separator_factory=factory, every=1, save_count=1, collection_name="tiny")
    with caplog.at_level(logging.WARNING, logger="unmix"):
        fit(tiny_model(), callback, epochs=2)
        callback.on_train_begin()
    assert caplog.text.count("no test songs") == 1
    assert factory.calls == 0 and not run.accuracy("tiny").exists() and not (run.plots / "accuracy.png").exists()


def test_a_failing_song_or_separator_is_logged_never_raised(songs, run, caplog):
    def broken_song_factory(model):
        def estimate(mix, sample_rate):
            if estimate.calls == 0:
                estimate.calls += 1
                raise RuntimeError("out of memory")
            return {"vocals": mix * 0.5, "instrumental": mix * 0.5}

        estimate.calls = 0
        return estimate

    with caplog.at_level(logging.ERROR, logger="unmix"):
        fit(tiny_model(), AccuracyCallback(run, songs=songs, separator_factory=broken_song_factory, every=1,
                                           save_count=0, metric="global", collection_name="tiny"), epochs=1)  # fmt: skip
    assert "out of memory" in caplog.text
    assert [r["epoch"] for r in rows(run)] == ["1"]  # the other song was scored

    def failing_factory(model):
        raise ValueError("no separator today")

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="unmix"):
        fit(tiny_model(), AccuracyCallback(run, songs=songs, separator_factory=failing_factory, every=1,
                                           save_count=0, metric="global", collection_name="tiny"), epochs=1)  # fmt: skip
    assert "accuracy evaluation failed: no separator today" in caplog.text


@pytest.mark.slow
def test_repeated_evaluations_do_not_accumulate_memory(songs, run):
    callback = AccuracyCallback(run, songs=songs, separator_factory=HalfFactory(), every=1, save_count=1,
                                metric="global", collection_name="tiny")  # fmt: skip
    callback.set_model(tiny_model())
    for epoch in (1, 2):  # warm-up: imports, matplotlib fonts, caches
        callback.evaluate(epoch)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for epoch in range(3, 7):
            callback.evaluate(epoch)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(rows(run)) == 6
    assert grown < 512 * 1024, f"{grown} bytes kept after 4 evaluations"


@pytest.mark.parametrize(
    ("options", "message"),
    [({"every": -1}, r"collection.test_frequency: Received: -1"), ({"save_count": 1.5}, r"test_save_count: Received: 1.5"),
     ({"metric": "sdr"}, r"^metric: unknown metric 'sdr'; known: museval, mir_eval, global$")],
)  # fmt: skip
def test_bad_options_are_configuration_errors(run, options, message):
    arguments = {"every": 1, "save_count": 1, "metric": "global", **options}
    with pytest.raises(ConfigurationError, match=message):
        AccuracyCallback(run, songs=[], separator_factory=HalfFactory(), collection_name="tiny", **arguments)
