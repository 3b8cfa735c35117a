#!/usr/bin/env bash
# The README's second command: install everything, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# Ray is an optional extra (pip install 'unmix[ray]'): the catalogue's tests run it on 127.0.0.1.
.venv/bin/python -c "import ray.data" 2>/dev/null \
    || .venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation -e ".[ray]"
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m pytest -q "$@"
