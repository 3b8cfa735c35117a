#!/usr/bin/env bash
# The README's first command: install everything, then run the main job on the built-in default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m unmix.quickstart "$@"
