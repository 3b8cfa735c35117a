"""Array plumbing of the separator (unmix.separation.arrays)."""

from __future__ import annotations

from unmix.separation.arrays import channel_groups


def test_channel_groups():
    assert channel_groups(2, 2) == [(0, 1)]
    assert channel_groups(1, 2) == [(0, 0)]
    assert channel_groups(6, 2) == [(0, 1), (2, 3), (4, 5)]
    assert channel_groups(3, 2) == [(0, 1), (2, 2)]
    assert channel_groups(2, 1) == [(0,), (1,)]
