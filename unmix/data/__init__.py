"""Collections of songs: discovery, the preparation cache and the split.

TensorFlow-free. A collection folder is searched by ``discover`` (see
``unmix.data.layouts`` for the layouts), ``prepare`` decodes its songs once into
an h5 cache, and ``split_songs`` divides the song ids deterministically.
"""

from unmix.data.cache import CachedSong, open_stems, read_stems
from unmix.data.layouts import ChannelSplit, Discovery, discover
from unmix.data.prepare import PreparedCollection, prepare
from unmix.data.songs import Song, StemSource, load_song
from unmix.data.split import Split, match_names, read_split_file, split_songs

__all__ = [
    "CachedSong",
    "ChannelSplit",
    "Discovery",
    "PreparedCollection",
    "Song",
    "Split",
    "StemSource",
    "discover",
    "load_song",
    "match_names",
    "open_stems",
    "prepare",
    "read_split_file",
    "read_stems",
    "split_songs",
]
