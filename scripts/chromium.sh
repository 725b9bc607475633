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

needs_root() {
    echo "Chromium not installed; as root, run:" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y" \
        "--no-install-recommends chromium" >&2
    exit 1
}

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    # Without a terminal sudo cannot ask for a password: check before trying.
    if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
    "${as_root[@]}" true || needs_root
else
    needs_root
fi

echo "installing Chromium (apt-get install chromium)..."
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "chromium installed but $CHROMIUM is missing" >&2
    exit 1
fi
report
