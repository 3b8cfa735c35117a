"""The WindowDataset on a tiny synthetic cache: shapes, exact frames, order, silence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unmix.config.schema import AugmentationOptions, TransformOptions
from unmix.data.cache import read_stems
from unmix.dsp.stft import n_frames, stft
from unmix.dsp.windows import middle_windows, to_model_layout, window_starts
from tests.support.windows import chop
from unmix.errors import ConfigurationError, DataError
from unmix.pipeline.generator import WindowDataset
from unmix.pipeline.window_items import fixed_window, read_window, window_magnitudes
from unmix.pipeline.representations import get_representation

SIZE = 8
PLAIN = AugmentationOptions(enabled=True, remix_probability=0.0, gain_min=1.0, gain_max=1.0, channel_swap=False)


def representation(kit, name="train_window_predict_mask", normalizer="norm_max", step=SIZE):
    options = TransformOptions(size=SIZE, step=step, normalizer=normalizer)
    return get_representation(name, options=options, stft=kit.stft)


def dataset(kit, songs, *, name="train_window_predict_mask", normalizer="norm_max", packs_mix=True, **kwargs):
    kwargs.setdefault("batch_size", 4)
    return WindowDataset(
        songs, representation=representation(kit, name, normalizer), stft=kit.stft, packs_mix=packs_mix, **kwargs
    )


def whole_song_windows(kit, song):
    """|mix| and |vocals| of the whole song in model layout (the reference)."""
    vocals, instrumental = read_stems(song)
    return (
        to_model_layout(np.abs(stft(vocals + instrumental, options=kit.stft))),
        to_model_layout(np.abs(stft(vocals, options=kit.stft))),
    )


def test_batches_have_the_model_shapes_and_dtypes(kit, songs):
    data = dataset(kit, songs)
    expected_items = sum(len(window_starts(n_frames(s.n_samples, options=kit.stft), size=SIZE, step=SIZE)) for s in songs)
    assert data.n_items == expected_items and len(data) == math.ceil(expected_items / 4)
    for batch in (0, len(data) - 1):
        x, y = data[batch]
        assert x.shape == (4, 129, SIZE, 2) and y.shape == (4, 129, SIZE, 4)
        assert x.dtype == y.dtype == np.float32
    _, y = dataset(kit, songs, packs_mix=False)[0]
    assert y.shape == (4, 129, SIZE, 2)


def test_steps_per_epoch_overrides_the_length(kit, songs):
    data = dataset(kit, songs, steps_per_epoch=50, batch_size=3)
    assert len(data) == 50 and data[49][0].shape[0] == 3
    with pytest.raises(IndexError, match="batch 50 out of range"):
        data[50]


def test_window_frames_equal_the_whole_song_stft(kit, songs):
    for song in songs:
        total = n_frames(song.n_samples, options=kit.stft)
        mix_ref, vocals_ref = whole_song_windows(kit, song)
        starts = list(window_starts(total, size=SIZE, step=SIZE)) + [-5, 0, total - 3, total + 2]
        for start in starts:
            vocals, instrumental = read_window(song, int(start), size=SIZE, stft=kit.stft)
            mix_mag, vocals_mag, _ = window_magnitudes(
                vocals, instrumental, start=int(start), size=SIZE, n_song_frames=total, stft=kit.stft
            )
            np.testing.assert_allclose(mix_mag, chop(mix_ref, int(start), size=SIZE), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(vocals_mag, chop(vocals_ref, int(start), size=SIZE), rtol=1e-4, atol=1e-5)


def test_items_are_the_windows_of_the_whole_song_in_order(kit, songs):
    data = dataset(kit, songs, name="window", normalizer="none", packs_mix=False, batch_size=1, shuffle=False)
    references = [whole_song_windows(kit, song) for song in songs]
    index = data.index
    assert list(index[:, 0]) == sorted(index[:, 0])  # no shuffle: song order
    for batch in range(0, len(data), 7):
        song, start = index[batch]
        x, y = data[batch]
        np.testing.assert_allclose(x[0], chop(references[song][0], int(start), size=SIZE), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(y[0], chop(references[song][1], int(start), size=SIZE), rtol=1e-4, atol=1e-5)


def test_channel_zero_is_the_left_channel(kit):
    vocals, instrumental = (np.zeros((2, 4000), np.float32) for _ in range(2))
    t = np.arange(4000) / kit.sample_rate
    vocals[0] = 0.3 * np.sin(2 * np.pi * 440 * t)
    instrumental[0] = 0.1 * np.sin(2 * np.pi * 1000 * t)
    song = kit.song_from("left-only", vocals, instrumental)
    x, y = dataset(kit, [song], batch_size=2, shuffle=False)[1]
    assert x[..., 0].max() > 0 and y[..., 0].max() > 0 and y[..., 2].max() > 0
    assert not x[..., 1].any() and not y[..., 1].any() and not y[..., 3].any()


def test_limit_items_per_song_keeps_the_middle_windows(kit, songs):
    data = dataset(kit, songs, limit_items_per_song=2, shuffle=False)
    assert data.n_items == 2 * len(songs) and len(data) == math.ceil(2 * len(songs) / 4)
    for position, song in enumerate(songs):
        starts = np.asarray(window_starts(n_frames(song.n_samples, options=kit.stft), size=SIZE, step=SIZE))
        kept = data.index[data.index[:, 0] == position, 1]
        np.testing.assert_array_equal(kept, starts[list(middle_windows(len(starts), 2))])


def test_order_is_deterministic_under_the_seed_and_changes_each_epoch(kit, songs):
    augmented = AugmentationOptions(enabled=True, silent_keep_rate=1.0)
    first, second = (dataset(kit, songs, seed=7, augmentation=augmented) for _ in range(2))
    np.testing.assert_array_equal(first.index, second.index)
    for a, b in zip(first[0], second[0]):
        np.testing.assert_array_equal(a, b)
    epoch0 = first.index
    first.on_epoch_end()
    assert first.epoch == 1 and sorted(map(tuple, first.index)) == sorted(map(tuple, epoch0))
    assert not np.array_equal(first.index, epoch0)
    assert first.index[:, 0].tolist() != sorted(first.index[:, 0].tolist())  # mixed across songs
    second.on_epoch_end()
    for a, b in zip(first[2], second[2]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(dataset(kit, songs, seed=8).index, dataset(kit, songs, seed=7).index)


def silent_count(data):
    """Windows of a full pass whose vocal target (packed, normaliser none) is silent."""
    count = 0
    for batch in range(len(data)):
        _, y = data[batch]
        count += int(sum(not item[..., :2].any() for item in y))
    return count


def test_silent_windows_are_kept_at_the_configured_rate(kit):
    songs = [kit.song("voice", 4000), kit.song("no-voice", 4000, silent_vocals=True)]
    kwargs = dict(normalizer="none", batch_size=4, shuffle=False)
    silent_items = dataset(kit, songs[1:], **kwargs).n_items
    # Without augmentation (validation) every window is kept.
    assert silent_count(dataset(kit, songs, **kwargs)) == silent_items
    keep_all = AugmentationOptions(**{**PLAIN.__dict__, "silent_keep_rate": 1.0})
    assert silent_count(dataset(kit, songs, augmentation=keep_all, **kwargs)) == silent_items
    drop_all = AugmentationOptions(**{**PLAIN.__dict__, "silent_keep_rate": 0.0})
    data = dataset(kit, songs, augmentation=drop_all, **kwargs)
    assert silent_count(data) == 0
    assert all(data[b][0].shape[0] == 4 for b in range(len(data)))  # replaced, never dropped


def test_augmented_batches_keep_the_packed_mix_consistent(kit, songs):
    augmented = AugmentationOptions(enabled=True, remix_probability=1.0, silent_keep_rate=1.0)
    x, y = dataset(kit, songs, augmentation=augmented, normalizer="none")[0]
    np.testing.assert_array_equal(y[..., 2:], x)
    plain_x, _ = dataset(kit, songs, normalizer="none")[0]
    assert not np.allclose(x, plain_x)


def test_fixed_window_is_deterministic_and_skips_silent_songs(kit):
    songs = [kit.song("quiet", 4000, silent_vocals=True), kit.song("sung", 6400)]
    t = representation(kit)
    x, y, mix_mag, vocals_mag, reference = fixed_window(songs, representation=t, stft=kit.stft, packs_mix=True)
    assert reference is None, "a window-scope normaliser needs no song level"
    assert x.shape == mix_mag.shape == vocals_mag.shape == (129, SIZE, 2) and y.shape == (129, SIZE, 4)
    assert vocals_mag.max() > 0 and all(a.dtype == np.float32 for a in (x, y, mix_mag, vocals_mag))
    again = fixed_window(songs, representation=t, stft=kit.stft, packs_mix=True)
    for a, b in zip(again, (x, y, mix_mag, vocals_mag)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(x, mix_mag / mix_mag.max(), rtol=1e-6)
    with pytest.raises(DataError, match="no validation songs"):
        fixed_window([], representation=t, stft=kit.stft, packs_mix=True)


def test_errors(kit, songs):
    with pytest.raises(DataError, match="no songs to train on"):
        dataset(kit, [])
    with pytest.raises(ConfigurationError, match=r"training\.batch_size must be a whole number >= 1; received 0"):
        dataset(kit, songs, batch_size=0)
    with pytest.raises(ConfigurationError, match=r"training\.limit_items_per_song"):
        dataset(kit, songs, limit_items_per_song=-1)
    with pytest.raises(ConfigurationError, match="multiplies the model output by the mix"):
        dataset(kit, songs, name="window", packs_mix=True)
    with pytest.raises(ConfigurationError, match=r"training\.augmentation\.gain_min"):
        dataset(kit, songs, augmentation=AugmentationOptions(enabled=True, gain_min=2.0, gain_max=1.0))
    mono = kit.song("mono", 4000, n_channels=1)
    with pytest.raises(DataError, match="different channel counts"):
        dataset(kit, songs + [mono])


def tone(n_samples: int, frequency: float, *, n_channels: int = 2) -> np.ndarray:
    t = np.arange(n_samples) / 8000
    return np.repeat(0.4 * np.sin(2 * np.pi * frequency * t)[None], n_channels, axis=0).astype(np.float32)


def accompaniment_slots(data, n_labelled: int):
    """``(batch, slot)`` of every window of an accompaniment in one unshuffled pass."""
    rows = data.index
    return [(p // 4, p % 4) for p in range(len(rows)) if rows[p, 0] >= n_labelled and p < len(data) * 4]


def test_accompaniment_windows_take_the_vocals_of_a_labelled_window(kit, songs):
    accompaniment = kit.song_from("accompaniment:backing/a.wav", np.zeros((2, 6400), np.float32), tone(6400, 3000))
    kwargs = dict(normalizer="none", batch_size=4, shuffle=False, augmentation=PLAIN)
    data = dataset(kit, songs, accompaniments=[accompaniment], **kwargs)
    assert data.n_items == dataset(kit, songs, **kwargs).n_items + dataset(kit, [accompaniment], **kwargs).n_items
    slots = accompaniment_slots(data, len(songs))
    assert slots
    tone_bin = round(3000 / 8000 * 256)
    for batch, slot in slots:
        x, y = data[batch]
        assert y[slot, ..., :2].max() > 0.1  # a donor's vocals, never the accompaniment's silence
        assert x[slot, tone_bin].mean() > 5 * x[slot].mean()  # over the accompaniment's own instrumental
        np.testing.assert_array_equal(y[slot, ..., 2:], x[slot])
    x, _ = data[0]  # the first window is a labelled song's: no tone
    assert (0, 0) not in slots and x[0, tone_bin].mean() < 5 * x[0].mean()


def test_an_accompaniment_is_its_own_teacher_under_the_donors_teacher_vocals(kit, songs):
    teachers = [kit.song_from(f"teacher/{k}", *(0.5 * stem for stem in read_stems(song))) for k, song in enumerate(songs)]
    accompaniment = kit.song_from("accompaniment:backing/a.wav", np.zeros((2, 6400), np.float32), tone(6400, 3000))
    data = dataset(kit, songs, accompaniments=[accompaniment], teachers=teachers, normalizer="none", shuffle=False, augmentation=PLAIN)
    for batch, slot in accompaniment_slots(data, len(songs)):
        _, y = data[batch]
        assert y.shape[-1] == 8
        # The teacher's vocals are the donor's, halved like every teacher stem here.
        np.testing.assert_allclose(y[slot, ..., 4:6], 0.5 * y[slot, ..., :2], rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(y[slot, ..., 6:], y[slot, ..., 2:4])  # the same mix


def test_accompaniments_with_another_channel_count_are_refused(kit, songs):
    mono = kit.song_from("accompaniment:backing/mono.wav", np.zeros((1, 4000), np.float32), tone(4000, 3000, n_channels=1))
    with pytest.raises(DataError, match="different channel counts"):
        dataset(kit, songs, accompaniments=[mono])


def test_a_song_scope_divides_every_window_by_the_whole_songs_maximum(kit):
    """Park et al. 2018: magnitudes over the clip's maximum mixture magnitude, not each crop's."""
    quiet, loud = kit.song("quiet", 4000), kit.song("loud", 6400)
    options = TransformOptions(size=SIZE, step=SIZE, normalizer_scope="song")
    data = WindowDataset(
        [quiet, loud], representation=get_representation("train_window_predict_mask", options=options, stft=kit.stft),
        stft=kit.stft, packs_mix=True, batch_size=1, shuffle=False,
    )
    peaks = {song.song_id: whole_song_windows(kit, song)[0].max() for song in (quiet, loud)}
    for batch, (song, start) in enumerate(data.index):
        x, _ = data[batch]
        window = whole_song_windows(kit, (quiet, loud)[song])[0][:, start : start + SIZE]
        np.testing.assert_allclose(x[0, :, : window.shape[1]], window / peaks[(quiet, loud)[song].song_id], rtol=1e-4, atol=1e-6)


def test_random_sampling_crops_each_song_once_per_pass_at_drawn_frames(kit):
    """Park et al. 2018: per pass, every song once, cropped at a uniformly drawn frame inside it."""
    songs = [kit.song("a", 4000), kit.song("b", 6400), kit.song("c", 8800)]
    wholes = [whole_song_windows(kit, song)[0] for song in songs]

    def crops(data):
        found = []
        for batch in range(len(data)):
            x, _ = data[batch]
            for window in x:
                matches = [(k, s) for k, whole in enumerate(wholes) for s in range(whole.shape[1] - SIZE + 1)
                           if np.allclose(window, whole[:, s : s + SIZE], rtol=1e-4, atol=1e-5)]
                assert len(matches) == 1, "every crop lies wholly inside one song"
                found.append(matches[0])
        return found

    data = dataset(kit, songs, normalizer="none", packs_mix=False, sampling="random", batch_size=3, seed=7)
    assert data.n_items == 3 and len(data) == 1
    first = crops(data)
    assert sorted(k for k, _ in first) == [0, 1, 2]
    assert first == crops(dataset(kit, songs, normalizer="none", packs_mix=False, sampling="random", batch_size=3, seed=7))
    data.on_epoch_end()
    assert crops(data) != first, "the crops are drawn again every pass"


def test_a_mean_mixture_halves_the_mix_but_not_the_stems(kit):
    """collection.mixture "mean": a channel-split file's mono downmix; the targets stay the channels."""
    song = kit.song("a", 4000)
    t = representation(kit, normalizer="none")
    x, y = WindowDataset([song], representation=t, stft=kit.stft, packs_mix=True, batch_size=1, shuffle=False, mix_gain=0.5)[0]
    mix, vocals = whole_song_windows(kit, song)
    np.testing.assert_allclose(x[0], 0.5 * mix[:, :SIZE], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(y[0, ..., :2], vocals[:, :SIZE], rtol=1e-4, atol=1e-6)


def test_an_unknown_sampling_names_its_key(kit, songs):
    with pytest.raises(ConfigurationError, match=r"training\.sampling must be one of grid, random; received 'shuffle'"):
        dataset(kit, songs, sampling="shuffle")
