"""The teacher's cache of separations and unlabelled folders (``unmix.training.teacher``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.config import load
from unmix.data.cache import read_stems
from unmix.data.collection import cache_folder, prepare_collection
from unmix.pipeline.generator import WindowDataset
from unmix.pipeline.representations import get_representation
from unmix.training import teacher as teacher_module
from unmix.training.teacher import teacher_cache_folder, teacher_songs
from unmix.training.trainer import stft_options

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import SAMPLE_RATE, write_collection  # noqa: E402

TEACHER = {"base": "mini/dummy.jsonc"}


@pytest.fixture
def setup(tmp_path, dummy_run):
    """A tiny collection with an unlabelled folder of two mixtures, a dummy teacher and a configuration."""
    collection = write_collection(tmp_path / "collection")
    mixes = collection / "mixes"
    mixes.mkdir()
    rng = np.random.default_rng(3)
    for index in range(2):
        soundfile.write(mixes / f"mix{index}.wav", 0.2 * rng.standard_normal((int(1.2 * SAMPLE_RATE), 2)).astype(np.float32), SAMPLE_RATE)
    teacher, _ = dummy_run(tmp_path / "teacher", TEACHER, weights_file="weights.weights.h5", seed=1)
    source = tmp_path / "student.jsonc"
    source.write_text(json.dumps({
        "base": "mini/dummy.jsonc",
        "collection": {"test_data_count": 1, "validation_ratio": 0.34, "unlabeled": ["mixes"]},
        "training": {"teacher": {"name": str(teacher.path), "weight": 0.5}},
    }))  # fmt: skip
    config = load(source, environ={"UNMIX_COLLECTION_DIR": str(collection)})
    return config, teacher, tmp_path / "work"


def _counting(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = teacher_module._Teacher.separate

    def separate(self, mix, sample_rate):
        calls.append(str(self.folder))
        return original(self, mix, sample_rate)

    monkeypatch.setattr(teacher_module._Teacher, "separate", separate)
    return calls


def test_teacher_cache_is_built_once_reused_and_rebuilt_when_the_weights_change(setup, monkeypatch, dummy_run):
    config, teacher, work = setup
    calls = _counting(monkeypatch)
    prepared = prepare_collection(config.collection, cache_dir=cache_folder(config.environment, config.collection, working_directory=work), progress=False)
    songs, teachers = teacher_songs(config, prepared, working_directory=work)
    n_songs = len(songs)
    assert len(calls) == n_songs == len(prepared.split.training) + 2
    assert all(t.path.parent == teacher_cache_folder(config, working_directory=work) for t in teachers)
    first = [read_stems(t)[0] for t in teachers]

    calls.clear()
    again, teachers_again = teacher_songs(config, prepared, working_directory=work)
    assert calls == [] and [t.path for t in teachers_again] == [t.path for t in teachers]

    dummy_run(teacher.path, TEACHER, weights_file="weights.weights.h5", seed=2)  # new weights, same folder
    _, rebuilt = teacher_songs(config, prepared, working_directory=work)
    assert len(calls) == n_songs
    assert not np.allclose(read_stems(rebuilt[0])[0], first[0])


def test_unlabelled_songs_are_training_only_and_carry_the_teachers_stems(setup):
    config, _, work = setup
    prepared = prepare_collection(config.collection, cache_dir=cache_folder(config.environment, config.collection, working_directory=work), progress=False)
    songs, teachers = teacher_songs(config, prepared, working_directory=work)
    ids = [s.song_id for s in songs]
    unlabelled = [i for i in ids if i.startswith("unlabeled:")]
    assert unlabelled == ["unlabeled:mixes/mix0.wav", "unlabeled:mixes/mix1.wav"]
    held_out = set(prepared.split.validation) | set(prepared.split.test)
    assert held_out and not any("mixes" in i for i in held_out)
    assert all(s.song_id not in held_out for s in teachers)
    for song, teacher in zip(songs, teachers):
        assert song.n_samples == teacher.n_samples
        if song.song_id in unlabelled:
            assert song.path == teacher.path  # its only stems are the teacher's
            vocals, instrumental = read_stems(song)
            mix = soundfile.read(Path(config.collection.folder) / "mixes" / Path(song.song_id).name, dtype="float32")[0].T
            np.testing.assert_allclose(vocals + instrumental, mix, atol=1e-5)  # the input is exactly the mixture

    stft = stft_options(config)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    dataset = WindowDataset(songs, teachers=teachers, representation=representation, stft=stft, batch_size=4, packs_mix=True, shuffle=False)
    x, y = dataset[0]
    assert y.shape[-1] == 2 * 2 * x.shape[-1]  # [true target, mix] then [teacher target, mix]
    positions = [int(p) for p, _ in dataset.index[:4]]
    for slot, position in enumerate(positions):
        same = songs[position].path == teachers[position].path
        assert np.allclose(y[slot, ..., :4], y[slot, ..., 4:]) == same


def test_augmentation_replays_its_draws_on_the_teachers_stems(setup):
    config, _, work = setup
    prepared = prepare_collection(config.collection, cache_dir=cache_folder(config.environment, config.collection, working_directory=work), progress=False)
    songs = prepared.songs("training")
    stft = stft_options(config)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    from unmix.config.schema import AugmentationOptions

    augmentation = AugmentationOptions(enabled=True, remix_probability=1.0, gain_min=0.2, gain_max=2.0, silent_keep_rate=1.0)
    dataset = WindowDataset(songs, teachers=songs, representation=representation, stft=stft, batch_size=4, packs_mix=False, augmentation=augmentation)
    for batch in range(len(dataset)):
        _, y = dataset[batch]
        # The teacher here is the truth itself: the same remix, gains and swaps give the same targets.
        np.testing.assert_allclose(y[..., :2], y[..., 2:], atol=1e-6)
    plain = WindowDataset(songs, representation=representation, stft=stft, batch_size=4, packs_mix=False, augmentation=augmentation)
    np.testing.assert_allclose(plain[0][1], dataset[0][1][..., :2], atol=1e-6)  # the true half is untouched


def test_a_missing_unlabelled_folder_and_mismatched_teachers_are_named(setup, tmp_path):
    from unmix.data.unlabeled import unlabeled_songs
    from unmix.errors import ConfigurationError, DataError
    from unmix.training.losses import TeacherMixedLoss

    config, _, work = setup
    with pytest.raises(ConfigurationError, match=r"collection\.unlabeled: folder .*nowhere not found"):
        unlabeled_songs(tmp_path, ["nowhere"])
    assert [s.id for s in unlabeled_songs(tmp_path, [str(Path(config.collection.folder) / "mixes")])][0].endswith("/mixes/mix0.wav")
    with pytest.raises(ConfigurationError, match=r"training\.teacher\.weight must lie in \[0, 1\]; received 2"):
        TeacherMixedLoss("mae", 2)
    songs = prepare_collection(config.collection, cache_dir=cache_folder(config.environment, config.collection, working_directory=work), progress=False).songs("training")
    stft = stft_options(config)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    with pytest.raises(DataError, match="teacher's cached separations do not match"):
        WindowDataset(songs, teachers=songs[:-1], representation=representation, stft=stft, batch_size=2, packs_mix=False)


def test_above_the_teachers_band_the_teacher_target_is_the_true_one(setup):
    config, _, work = setup
    prepared = prepare_collection(config.collection, cache_dir=cache_folder(config.environment, config.collection, working_directory=work), progress=False)
    songs, teachers = teacher_songs(config, prepared, working_directory=work)
    n = len(prepared.songs("training"))  # the labelled songs: their truth and teacher differ
    stft = stft_options(config)
    representation = get_representation(config.transformation.name, options=config.transformation.options, stft=stft)
    common = dict(teachers=teachers[:n], representation=representation, stft=stft, batch_size=4, packs_mix=False, shuffle=False)
    whole = WindowDataset(songs[:n], **common)[0][1]
    bins = stft.n_fft // 8
    banded = WindowDataset(songs[:n], teacher_bins=bins, **common)[0][1]
    channels = whole.shape[-1] // 2
    true, teacher = whole[..., :channels], whole[..., channels:]
    assert not np.allclose(teacher[:, :bins], true[:, :bins])  # the dummy teacher is no oracle
    np.testing.assert_array_equal(banded[..., :channels], true)
    np.testing.assert_array_equal(banded[:, :bins, :, channels:], teacher[:, :bins])
    np.testing.assert_array_equal(banded[:, bins:, :, channels:], true[:, bins:])


def test_the_teachers_band_is_the_one_its_network_separates_unless_set(setup, tmp_path):
    from unmix.runfolder import RunFolder
    from unmix.training.teacher import separated_band, teacher_bins

    config, teacher, _ = setup
    spleeter = RunFolder(tmp_path / "spleeter")
    spleeter.path.mkdir()
    spleeter.write_configuration(load(Path("configurations/default-spleeter.jsonc"), environ={}).to_json())
    assert separated_band(spleeter.path) == 1024 * 44100 / 4096  # 11025 Hz: its U-Nets see 1024 of 2049 bins
    assert separated_band(teacher.path) is None  # the dummy model separates every bin
    assert teacher_bins(config, n_fft=1536, teacher=teacher.path) is None
    assert teacher_bins(config.replace("collection.sample_rate", 44100), n_fft=1536, teacher=spleeter.path) == 384  # bins below 11025 Hz
    sample_rate = config.collection.sample_rate  # 11025 Hz: Spleeter's band reaches this student's Nyquist
    assert teacher_bins(config, n_fft=1536, teacher=spleeter.path) == 769
    limited = config.replace("training.teacher.max_frequency", sample_rate / 8)
    assert teacher_bins(limited, n_fft=1536, teacher=spleeter.path) == 192  # set: it wins over the teacher's own
