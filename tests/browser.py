"""Headless Debian Chromium driven by Playwright, for tests that check pages as browsers show them.

The browser comes from scripts/chromium.sh (Debian's chromium package), never from
`playwright install`: CI has no outside network, and one system browser is enough.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
HINT = "run scripts/chromium.sh to install Debian's Chromium"
ARGS = [
    "--no-sandbox",  # tests may run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no outside network: no update or metrics calls
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A Playwright sync-API `Page` in a fresh headless Chromium, closed afterwards.

    Fails (never skips) when Chromium is missing: the browser tests must run in CI.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"no {CHROMIUM}: {HINT}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()
