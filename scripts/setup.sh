#!/usr/bin/env bash
# Create .venv in the repository root and install the toolkit with its test tools.
# Works offline against the local package registry; torch is pinned to 2.14.1 / torchvision 0.29.1.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
