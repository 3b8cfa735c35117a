#!/usr/bin/env bash
# Install unmix into ./.venv (idempotent): ffmpeg with apt-get when missing, then the
# Python packages. A second run with unchanged requirements takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: ffmpeg decodes mp4/m4a/webm/opus and STEMS files; graphviz draws plots/model.png.
# (The web page's browser test needs chromium and chromium-driver: scripts/test.sh installs them,
# so a user who only separates never gets a browser.)
source scripts/apt.sh
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ ${#missing[@]} -gt 0 ]; then
    echo "unmix: installing ${missing[*]} with apt-get" >&2
    if ! apt_install "${missing[@]}"; then
        if ! command -v ffmpeg >/dev/null 2>&1; then
            if command -v apt-get >/dev/null 2>&1; then
                echo "unmix: could not install ffmpeg with apt-get: install it yourself (sudo apt-get install -y ffmpeg) and run this again" >&2
            else
                echo "unmix: ffmpeg is missing and apt-get is not available: install ffmpeg (e.g. brew install ffmpeg) and run this again" >&2
            fi
            exit 1
        fi
        command -v dot >/dev/null 2>&1 || echo "unmix: could not install graphviz: training will skip plots/model.png" >&2
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
# model is there, nothing runs (not even Python). An older install (its configuration's high band
# is not "instrumental_average": vocals stop at 11 kHz, or both U-Nets run over 1280 bins, 11 %
# slower) is replaced from the cached download (unmix.pretrained.spleeter.is_current says the same).
models_dir="${UNMIX_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/unmix/models}"
if ! grep -qs '"high_band": "instrumental_average"' "$models_dir/spleeter-2stems/configuration.jsonc"; then
    echo "unmix: installing the pretrained model spleeter-2stems (first time: 73 MB download)" >&2
    if ! .venv/bin/python -m unmix.pretrained install spleeter-2stems --quiet; then
        echo "unmix: could not install the pretrained model spleeter-2stems (see the error above); run .venv/bin/python -m unmix.pretrained install spleeter-2stems when online" >&2
        exit 1
    fi
fi

# Each installed model's network exported once to ONNX (a minute the first time): predict.py then
# runs it with OpenVINO and never imports TensorFlow. The stamp lists the models' weights and
# configurations (names, sizes, times), which name the export: while they stay, nothing runs. A
# failure costs speed only, never a separation.
exported_stamp="$models_dir/exported/.weights"
weights_now="$(ls -l --time-style=+%s unmix/pretrained/default/weights "$models_dir"/spleeter-2stems/weights \
    unmix/pretrained/default/configuration.jsonc "$models_dir"/spleeter-2stems/configuration.jsonc 2>/dev/null || true)"
if [ "$(cat "$exported_stamp" 2>/dev/null)" != "$weights_now" ]; then
    if .venv/bin/python -m unmix.pretrained export --quiet >/dev/null; then
        mkdir -p "$models_dir/exported" && printf '%s\n' "$weights_now" > "$exported_stamp"
    else
        echo "unmix: could not export the built-in models for OpenVINO (see above); separation runs with TensorFlow" >&2
    fi
fi
