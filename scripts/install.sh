#!/usr/bin/env bash
# Install unmix into ./.venv (idempotent): ffmpeg with apt-get when missing, then the
# Python packages. A second run with unchanged requirements takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: ffmpeg decodes mp4/m4a/webm/opus and STEMS files; graphviz draws plots/model.png;
# chromium and chromium-driver run the web page's browser test (tests/web/test_browser.py).
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
browser_missing() { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; }
if [ ${#missing[@]} -gt 0 ]; then
    echo "unmix: installing ${missing[*]} with apt-get" >&2
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
        if ! { $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; }; }; then
            if ! command -v ffmpeg >/dev/null 2>&1; then
                echo "unmix: could not install ffmpeg with apt-get: install it yourself (sudo apt-get install -y ffmpeg) and run this again" >&2
                exit 1
            fi
            if browser_missing; then
                echo "unmix: could not install chromium and chromium-driver with apt-get (the web page's browser test needs them): install them yourself (sudo apt-get install -y chromium chromium-driver) and run this again" >&2
                exit 1
            fi
            command -v dot >/dev/null 2>&1 || echo "unmix: could not install graphviz: training will skip plots/model.png" >&2
        fi
    elif ! command -v ffmpeg >/dev/null 2>&1; then
        echo "unmix: ffmpeg is missing and apt-get is not available: install ffmpeg (e.g. brew install ffmpeg) and run this again" >&2
        exit 1
    elif browser_missing; then
        echo "unmix: chromium or chromedriver is missing and apt-get is not available: install both (the web page's browser test drives them) and run this again" >&2
        exit 1
    fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.unmix-requirements"
wanted="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "unmix: installing Python packages into .venv (first time: a minute or two)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
        || .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "$wanted" > "$stamp"
fi

# Deezer's pretrained Spleeter 2-stems model, the default once installed: fetched once (73 MB)
# and converted. The folder is the one unmix.pretrained.catalog.models_dir() reads; when the
# model is there, nothing runs (not even Python). An install from before issue 27 (its
# configuration has no "bins": 1280: vocals stop at 11 kHz) is replaced from the cached download.
models_dir="${UNMIX_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/unmix/models}"
if ! grep -qs '"bins": 1280' "$models_dir/spleeter-2stems/configuration.jsonc"; then
    echo "unmix: installing the pretrained model spleeter-2stems (first time: 73 MB download)" >&2
    if ! .venv/bin/python -m unmix.pretrained install spleeter-2stems --quiet; then
        echo "unmix: could not install the pretrained model spleeter-2stems (see the error above); run .venv/bin/python -m unmix.pretrained install spleeter-2stems when online" >&2
        exit 1
    fi
fi
