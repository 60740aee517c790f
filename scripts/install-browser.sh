#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (Playwright cannot download its own browsers here).
# Does nothing when /usr/bin/chromium is already there; without root it only says what is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "Browser tests need Debian's chromium: run 'sudo apt-get install chromium' (they skip until then)." >&2
  exit 0
fi
echo "Installing Debian's chromium for the browser tests..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
