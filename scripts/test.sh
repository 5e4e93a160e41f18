#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, types, tests, and the real local model.
# Installs what it needs: Debian's chromium (HTML timeline tests), nox, and the
# llama-cpp-python wheel built with flags that work on these CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x scripts/install-chromium.sh ] || [ -f scripts/install-chromium.sh ]; then
  bash scripts/install-chromium.sh
fi
python3 -m pip install --quiet --disable-pip-version-check "nox>=2024.10"
python3 -m nox --non-interactive "$@"
