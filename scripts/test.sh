#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, types, tests, and the real local model.
# Installs what it needs: Debian's bubblewrap (the tool sandbox), chromium (HTML timeline
# tests) and npm (a reference MCP server), nox, and the llama-cpp-python wheel built with
# flags that work on these CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap
fi
if [ -x scripts/install-chromium.sh ] || [ -f scripts/install-chromium.sh ]; then
  bash scripts/install-chromium.sh
fi
# npm: the MCP client's tests install @modelcontextprotocol/server-everything with it
if ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq npm
fi
python3 -m pip install --quiet --disable-pip-version-check "nox>=2024.10"
python3 -m nox --non-interactive "$@"
