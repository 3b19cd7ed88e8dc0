#!/bin/sh
# Debian's chromium for the explorer's browser test (test/cluster/explorer-browser.test.ts), installed
# with apt when it is missing; `make test` runs this first. playwright-core drives it and never
# downloads a browser of its own. Where no browser can be installed (no apt, not root, apt fails),
# this says why and exits 0: the browser test then skips with the same reason.
set -u
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

[ -x "$CHROMIUM" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no $CHROMIUM and no apt-get here; the explorer browser test will be skipped" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-browser: no $CHROMIUM; as root run: apt-get install -y chromium (the explorer browser test will be skipped)" >&2
  exit 0
fi
echo "install-browser: installing Debian's chromium with apt"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y chromium; then
  # A fresh machine or container has no package lists yet.
  apt-get update && apt-get install -y chromium
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: apt could not install chromium; the explorer browser test will be skipped" >&2
fi
exit 0
