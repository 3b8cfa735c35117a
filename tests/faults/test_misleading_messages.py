"""Issue 13 item 8: messages that blamed the wrong thing, each now one line naming what is wrong.

A malformed YouTube link was "check your network connection"; a device given as a song or a
folder was "not a directory"; ``evaluate.py --collection`` blamed ``collection.folder /
UNMIX_COLLECTION_DIR``; weights of another model size printed Keras warnings and a cut
message; and evaluating a built-in model wrote into the installed package.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unmix.audio import youtube
from unmix.cli import evaluate, predict
from unmix.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from unmix.errors import AudioError

pytestmark = pytest.mark.usefixtures("hermetic_environment")


@pytest.mark.parametrize("url", ["not a url", "htp:/x", "ftp://youtube.com/x", "youtube"])
def test_a_malformed_youtube_link_is_named_and_not_blamed_on_the_network(url, tmp_path, kit, capsys):
    before = kit.snapshot(tmp_path)
    assert predict.main(["--youtube", url, "--output", str(tmp_path / "out")]) == EXIT_USAGE
    line = kit.one_line(capsys.readouterr().err)
    assert line == f"error: --youtube: {url!r} is not a YouTube URL: give a link such as https://www.youtube.com/watch?v=<id> or https://youtu.be/<id>"
    kit.assert_unchanged(before, kit.snapshot(tmp_path))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("url", "missing"),
    [("https://youtube.com/watch?v=", "its v= names no video"), ("https://www.youtube.com/watch", "its v= names no video"),
     ("m.youtube.com/watch?v=%20&t=3", "its v= names no video"), ("https://youtu.be/", "it names no video after youtu.be/")],
)  # fmt: skip
def test_a_youtube_link_without_a_video_is_malformed_not_a_network_problem(url, missing, tmp_path, kit, capsys):
    """Issue 29: ``watch?v=`` with no id passed the check, and yt-dlp's failure said to check the network."""
    assert predict.main(["--youtube", url, "--output", str(tmp_path / "out")]) == EXIT_USAGE
    line = kit.one_line(capsys.readouterr().err)
    assert line == f"error: --youtube: {url!r} is a malformed YouTube URL: {missing}; give a link such as https://www.youtube.com/watch?v=<id> or https://youtu.be/<id>"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("url", ["https://www.youtube.com/watch?v=abc", "youtu.be/abc", " http://127.0.0.1:9/watch?v=abc ", "https://www.youtube.com/@channel", "https://vimeo.com/watch?v="])
def test_links_are_accepted_with_or_without_a_scheme(url):
    assert youtube.check_url(url) == url


def test_the_download_function_checks_the_link_before_fetching(tmp_path):
    called = []
    with pytest.raises(AudioError, match=r"^'htp:/x' is not a YouTube URL: give a link such as "):
        youtube.download("htp:/x", tmp_path, downloader=lambda url, folder: called.append(url))
    assert called == []


def test_a_link_the_downloader_does_not_support_is_not_a_network_problem(tmp_path):
    def unsupported(url, folder):
        raise RuntimeError("ERROR: Unsupported URL: https://example.com/page")

    with pytest.raises(AudioError, match=r"Unsupported URL: https://example\.com/page; give the link of a YouTube video$"):
        youtube.download("https://example.com/page", tmp_path, downloader=unsupported)


@pytest.mark.skipif(not Path("/dev/null").is_char_device(), reason="needs /dev/null")
@pytest.mark.parametrize(
    ("flag", "expected"),
    [("--song", "error: --song /dev/null is a character device, not an audio file: give an audio file (wav, flac, mp3, ogg, m4a, ...)"),
     ("--songs", "error: --songs /dev/null is a character device, not a folder: give a folder of songs, or --song FILE for one song")],
)  # fmt: skip
def test_a_device_given_as_a_song_or_a_folder_says_what_it_is(flag, expected, tmp_path, kit, capsys):
    assert predict.main([flag, "/dev/null", "--output", str(tmp_path / "out")]) == EXIT_USAGE
    assert kit.one_line(capsys.readouterr().err) == expected
    assert not (tmp_path / "out").exists()


def test_a_file_given_as_a_folder_of_songs_says_to_use_song(tmp_path, kit, capsys):
    song = tmp_path / "a.wav"
    soundfile.write(song, np.zeros((800, 2), dtype=np.float32), 8000)
    assert predict.main(["--songs", str(song), "--output", str(tmp_path / "out")]) == EXIT_USAGE
    assert kit.one_line(capsys.readouterr().err) == f"error: --songs {song} is a file, not a folder: for one song write --song {song}"


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_evaluate_collection_errors_name_the_flag(kind, tmp_path, kit, capsys):
    configuration = kit.child_configuration(tmp_path / "c.jsonc", {"collection": {"folder": str(kit.generate_collection(tmp_path / "songs"))}})
    target = tmp_path / "nope"
    if kind == "file":
        target.write_text("not a folder")
    before = kit.snapshot(tmp_path)
    argv = ["--configuration", str(configuration), "--oracle", "irm", "--collection", str(target), "--workingdir", str(tmp_path / "work")]
    assert evaluate.main(argv) == EXIT_USAGE
    line = kit.one_line(capsys.readouterr().err)
    detail = "folder not found" if kind == "missing" else "a file, not a folder"
    assert line == f"error: --collection {target}: {detail}; give the folder of a song collection (songs with their stems)"
    assert "UNMIX_COLLECTION_DIR" not in line and "collection.folder" not in line
    kit.assert_unchanged(before, kit.snapshot(tmp_path))
    assert not (tmp_path / "work").exists()


@pytest.mark.slow
def test_weights_of_another_model_size_are_one_line_naming_both_files(tmp_path, kit, capsys, dummy_run):
    base = {"base": str(kit.REPOSITORY / "configurations" / "mini" / "mask.jsonc")}
    small = tmp_path / "small.jsonc"
    small.write_text(json.dumps({**base, "training": {"model": {"options": {"filter_factor": 1}}}}))
    large = tmp_path / "large.jsonc"
    large.write_text(json.dumps({**base, "training": {"model": {"options": {"filter_factor": 2}}}}))
    run, _ = dummy_run(tmp_path / "run", small, weights_file="small.weights.h5", seed=1)
    weights = run.weights / "small.weights.h5"
    song = tmp_path / "song.wav"
    soundfile.write(song, (0.1 * np.random.default_rng(0).standard_normal((11025, 2))).astype(np.float32), 11025)
    before = kit.snapshot(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = predict.main(["--weights", str(weights), "--configuration", str(large), "--song", str(song), "--output", str(tmp_path / "out"), "--quiet"])
    assert code == EXIT_FAILURE
    line = kit.one_line(capsys.readouterr().err)
    assert line == (
        f"error: weights {weights} do not match configuration {large}: 7 layers of model mask differ in shape or name; "
        "give the configuration the weights were trained with (a run folder's configuration.jsonc)"
    )
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message)[:120] for w in caught]
    kit.assert_unchanged(before, kit.snapshot(tmp_path))


@pytest.mark.slow
def test_evaluating_a_built_in_model_writes_under_the_working_folder(tmp_path, kit, capsys, monkeypatch):
    from unmix.pretrained import catalog

    monkeypatch.setenv("UNMIX_MODELS_DIR", str(tmp_path / "models"))
    shipped = catalog.folder(catalog.FAST)
    before = kit.snapshot(shipped)
    collection = kit.generate_collection(tmp_path / "songs", n_songs=2)
    work = tmp_path / "work"
    argv = ["--run_folder", str(shipped), "--collection", str(collection), "--test_data_count", "1", "--metric", "global", "--workingdir", str(work), "--quiet"]
    assert evaluate.main(argv) == EXIT_OK
    out = capsys.readouterr().out
    after = kit.snapshot(shipped)
    assert after == before, "evaluate.py wrote into the built-in model's folder"
    (accuracy,) = (work / "evaluations" / catalog.FAST).glob("accuracy_*.csv")
    assert f"accuracy row: {accuracy}" in out
    assert f"scores: {work / 'evaluations' / catalog.FAST}" in out
    with accuracy.open() as handle:
        assert len(list(csv.DictReader(handle, delimiter=";"))) == 1
