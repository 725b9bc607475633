#!/usr/bin/env bash
# Make sure Debian's Chromium (/usr/bin/chromium) is installed for the browser tests.
# Idempotent, non-interactive (CI has no stdin). The tests drive it with Playwright
# (tests/browser.py) and never let Playwright download a browser of its own.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

report() {
    echo "Chromium: $("$CHROMIUM" --version 2>/dev/null || echo 'unknown version') at $CHROMIUM"
}

if [ -x "$CHROMIUM" ]; then
    report
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "no $CHROMIUM and no apt-get: install Chromium with your package manager" \
        "so that it is at $CHROMIUM" >&2
    exit 1
fi

PACKAGE=chromium
# shellcheck source=scripts/as-root.sh
source "$(dirname "$0")/as-root.sh"

echo "installing Chromium (apt-get install chromium)..."
"${as_root[@]}" apt-get update
apt_install chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "chromium installed but $CHROMIUM is missing" >&2
    exit 1
fi
report
