#!/usr/bin/env bash
# Fetch vocal-free backing tracks for collection.accompaniments: Debian's
# fretsonfire-songs-sectoid package (4 songs, 13.5 minutes, MIT-style licence: see its
# copyright file), unpacked into ~/.cache/unmix/accompaniments/fretsonfire-sectoid
# (or the folder given as $1). Needs apt-get (Debian or Ubuntu); installs nothing.
set -euo pipefail
target="${1:-$HOME/.cache/unmix/accompaniments/fretsonfire-sectoid}"
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "unmix: apt-get and dpkg-deb are needed to fetch fretsonfire-songs-sectoid; on another system, put instrumental songs in $target yourself" >&2
    exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -qq fretsonfire-songs-sectoid >/dev/null 2>&1); then
    echo "unmix: apt-get could not download fretsonfire-songs-sectoid: run 'sudo apt-get update' and try again" >&2
    exit 1
fi
dpkg-deb -x "$work"/fretsonfire-songs-sectoid_*.deb "$work/x"
mkdir -p "$target"
cp -r "$work/x/usr/share/games/fretsonfire/data/songs/sectoid/." "$target/"
cp "$work/x/usr/share/doc/fretsonfire-songs-sectoid/copyright" "$target/copyright.txt"
echo "$target"
