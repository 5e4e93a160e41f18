#!/usr/bin/env bash
# Install headless Chromium and chromedriver (Debian packages) for the HTML timeline tests,
# only when /usr/bin/chromium is missing. Needs root (or sudo) and network to the Debian
# mirrors; does nothing when Chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium chromium-driver
