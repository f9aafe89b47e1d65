#!/usr/bin/env bash
# What the Python suites need (pytest), installed for the interpreter `python3` runs.
set -euo pipefail

if ! python3 -m pytest --version >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check pytest ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages pytest ||
        { apt-get update -qq && apt-get install -y -qq python3-pytest; }
fi
python3 -m pytest --version
