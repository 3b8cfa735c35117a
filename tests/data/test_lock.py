"""``exclusive``: one holder at a time, named to the next one; a dead holder's text is taken over."""

from __future__ import annotations

import pytest

from unmix.data.lock import Busy, exclusive


def test_a_second_holder_is_refused_with_the_first_ones_name(tmp_path):
    path = tmp_path / "server.lock"
    with exclusive(path, holder="first (pid 1)"):
        with pytest.raises(Busy, match=r"server\.lock is held by first \(pid 1\)$") as caught, exclusive(path, holder="second"):
            pass
        assert caught.value.holder == "first (pid 1)"
    assert path.read_text() == "", "a release empties the file"
    with exclusive(path, holder="second"):
        assert path.read_text() == "second"


def test_text_left_by_a_holder_that_died_is_taken_over(tmp_path, caplog):
    path = tmp_path / "server.lock"
    path.write_text("unmix-serve (pid 999999) at http://127.0.0.1:8000/\n")  # no process holds it
    with caplog.at_level("INFO", logger="unmix"), exclusive(path, holder="new"):
        assert path.read_text() == "new"
    assert "taking over from unmix-serve (pid 999999) at http://127.0.0.1:8000/" in caplog.text
