#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, types, tests, the real local model and the
# real-index dependency installs. Installs what it needs: Debian's bubblewrap (autoagent
# brings its own bwrap; the Debian one, 0.8, is what the tests prove it does without),
# iproute2, curl and openssl (open mode's network tests build a stand-in internet in a
# network namespace), chromium (HTML timeline and dashboard tests) and npm (a reference MCP
# server), nox, and the llama-cpp-python wheel built with flags that work on these CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
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
