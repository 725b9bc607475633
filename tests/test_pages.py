"""The hub's pages in a real browser (headless Debian Chromium) against a real HTTP server.

The hub app from `tests/federated.py` is served by uvicorn on 127.0.0.1 in a thread; the
parties' clients keep talking to the in-process TestClient of the same app and database, so
what they do shows up on the served pages. One Chromium serves the module (starting it takes
seconds); each test gets a fresh browser context, so no cookies carry over between tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from browser import chromium_page
from federated import CROSSTAB, approve, completed, populated, public_study

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

HOSTILE = "<script>document.title = 'owned'</script>"


class Served:
    """The parties of `populated` and the base URL of their hub, served over HTTP."""

    def __init__(self, parties: dict, url: str) -> None:
        self.parties = parties
        self.url = url

    def sign_in_link(self, party: str) -> str:
        """A one-time link for the served hub (`Client.sign_in_link` names the TestClient's)."""
        return self.url + self.parties[party].hub.post("/api/auth/sign-in")["path"]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Served]:
    parties = populated(tmp_path)
    config = uvicorn.Config(
        parties["federation"].app, host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start", pytrace=False)
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(parties, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium_page() as first:
        assert first.context.browser is not None
        yield first.context.browser


def fresh_page(browser: Browser) -> Page:
    """A page in a new context: no cookies from any other page."""
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = fresh_page(browser)
    try:
        yield page
    finally:
        page.context.close()


def sign_in(page: Page, hub: Served, party: str) -> None:
    page.goto(hub.sign_in_link(party))
    assert page.url == hub.url + "/studies"


def test_without_a_cookie_pages_send_the_browser_to_sign_in(hub: Served, page: Page):
    for path in ("/studies", "/approvals", "/audit", "/"):
        response = page.goto(hub.url + path)
        assert response is not None and response.status == 200
        assert page.url == hub.url + "/login"
    assert "tessera login" in page.locator("main").inner_text()
    assert page.locator("#message").count() == 0
    assert page.locator("#code").count() == 1
    assert page.context.cookies() == []


def test_a_steward_sees_the_pending_study_and_its_approval_command(hub: Served, page: Page):
    study = hub.parties["study"]
    sign_in(page, hub, "steward-gp")
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"]
    assert "steward-gp" in page.locator("nav .user").inner_text()

    page.goto(hub.url + "/approvals")
    pending = page.locator(f"#pending-{study}")
    assert pending.count() == 1
    command = pending.locator("pre").inner_text()
    assert f"tessera study approve {study}" in command
    assert f"tessera study refuse {study}" in command
    assert page.locator("#no-pending").count() == 0

    hub.parties["steward-gp"].approve(study)
    page.reload()
    assert page.locator(f"#pending-{study}").count() == 0
    assert page.locator("#no-pending").count() == 1
    decided = page.locator(f"table.studies #study-{study}")
    assert "approve" in decided.inner_text()


def test_a_sign_in_link_works_once(hub: Served, browser: Browser, page: Page):
    link = hub.sign_in_link("researcher")
    page.goto(link)
    assert page.url == hub.url + "/studies"

    again = fresh_page(browser)
    try:
        response = again.goto(link)
        assert response is not None and response.status == 401
        assert "spent or expired" in again.locator("#message").inner_text()
        assert again.context.cookies() == []
        again.goto(hub.url + "/studies")
        assert again.url == hub.url + "/login"
    finally:
        again.context.close()


def test_the_researcher_follows_a_study_and_its_task(hub: Served, page: Page):
    parties, study = hub.parties, hub.parties["study"]
    sign_in(page, hub, "researcher")
    status = page.locator(f"#study-{study} .status")
    assert status.inner_text() == "proposed"
    assert page.locator("table.tasks").count() == 0

    approve(parties)
    page.reload()
    assert status.inner_text() == "approved"
    assert "status-approved" in (status.get_attribute("class") or "").split()

    task = parties["researcher"].submit(study, **CROSSTAB)
    page.reload()
    row = page.locator(f"#task-{task}")
    assert row.locator(".status").inner_text() == "pending"
    assert study in row.inner_text()


def test_the_audit_page_verifies_the_ledger_and_no_page_shows_sealed_parameters(
    hub: Served, page: Page
):
    parties, study = hub.parties, hub.parties["study"]
    approve(parties)
    task = parties["researcher"].submit(study, **CROSSTAB)
    entries = len(parties["federation"].hub.federation.entries)
    sign_in(page, hub, "steward-gp")
    page.goto(hub.url + "/audit")
    verdict = page.locator("#verdict")
    assert "ok" in (verdict.get_attribute("class") or "").split()
    assert f"{entries} entries verified" in verdict.inner_text()
    assert page.locator("table.ledger tbody tr").count() == entries
    assert task in page.locator("table.ledger").inner_text()

    for path in ("/studies", "/approvals", "/audit"):
        page.goto(hub.url + path)
        assert page.url == hub.url + path
        assert "smoking" not in page.content()


def test_a_hostile_study_title_renders_as_text(hub: Served, page: Page):
    hostile = hub.parties["researcher"].propose(
        HOSTILE, "DUO:0000007", {"registry": ["registry"], "gp": ["gp"]}, ["crosstab"]
    )
    sign_in(page, hub, "steward-gp")
    for path in ("/studies", "/approvals", "/audit"):
        page.goto(hub.url + path)
        assert page.locator("script").count() == 0
        assert HOSTILE in page.locator("main").inner_text()
        assert page.title() != "owned"
    page.goto(hub.url + "/approvals")
    assert HOSTILE in page.locator(f"#pending-{hostile} h3").inner_text()


def published(parties: dict, title: str) -> str:
    """A public study's complete task, published by its researcher (stand-in outputs: no MPC
    runs here, and the hub cannot tell, which is the point of the page's caveat)."""
    researcher = parties["researcher"]
    task = completed(parties, public_study(parties))
    counts = [["I", "no", 12], ["I", "yes", None], ["II", "no", 30], ["II", "yes", 25]]
    researcher.hub.write(
        "publish",
        {
            "task": task,
            "title": title,
            "kind": "crosstab",
            "epsilon": None,
            "released": researcher.sync().released_on(task),
            "result": {"rows": "stage", "cols": "smoking", "counts": counts},
        },
    )
    return task


def test_public_statistics_need_no_sign_in(hub: Served, page: Page):
    task = published(hub.parties, HOSTILE)
    page.goto(hub.url + "/studies")  # sends the browser to sign in, whose nav links here
    assert page.url == hub.url + "/login"
    page.locator("nav").get_by_role("link", name="Statistics").click()
    assert page.url == hub.url + "/statistics" and page.context.cookies() == []
    response = page.reload()
    assert response is not None and response.status == 200
    section = page.locator(f"#publication-{task}")
    assert section.locator("h2").inner_text() == HOSTILE  # text, never markup
    assert page.locator("script").count() == 0 and page.title() != "owned"
    assert "no noise" in section.locator(".epsilon").inner_text()
    table = section.locator("table.figures")
    assert table.is_visible() and table.locator("td.suppressed").inner_text() == "suppressed"
    chart = section.locator("svg.chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    assert chart.locator(".bar").count() == 3  # the suppressed cell draws no bar
    assert chart.locator(".suppressed").count() == 1  # but a ×, with its tooltip
    assert chart.get_attribute("aria-label") == HOSTILE  # the chart's name, as text
    labels = chart.locator("text").all_text_contents()  # SVG text has no innerText
    assert {"I", "II", "patients", "smoking: no"} <= set(labels)  # text, not glyph paths
