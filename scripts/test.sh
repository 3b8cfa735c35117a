#!/usr/bin/env bash
# The README's second command: install everything, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The web page's browser test (tests/web/test_browser.py) drives Debian's chromium with
# chromium-driver: installed here, for the tests only, never by the first command.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    source scripts/apt.sh
    echo "unmix: installing chromium and chromium-driver with apt-get (the browser test drives them)" >&2
    if ! apt_install chromium chromium-driver; then
        echo "unmix: could not install chromium and chromium-driver: install both (sudo apt-get install -y chromium chromium-driver) and run this again" >&2
        exit 1
    fi
fi
# Ray is an optional extra (pip install 'unmix[ray]'): the catalogue's tests run it on 127.0.0.1.
.venv/bin/python -c "import ray.data" 2>/dev/null \
    || .venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation -e ".[ray]"
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m pytest -q "$@"
