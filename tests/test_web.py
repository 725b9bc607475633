"""The hub's pages and the SDK's HTML report: escaping, the ids the UI relies on, and what a
real browser (headless Debian Chromium) shows of them."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import numpy as np
import pytest
from lifelines.statistics import logrank_test
from markupsafe import Markup
from PIL import Image

from browser import chromium_page
from tessera.analyses.kaplan_meier import kaplan_meier, product_limit
from tessera.analyses.results import KaplanMeierResult, RegressionResult
from tessera.governance.publications import epsilon_of, problem, shaped
from tessera.synth import generate
from tessera.web import pages
from tessera.web.charts import bars_svg, steps_svg
from tessera.web.report import report, save_report
from tessera.web.statistics import statistics_page

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


class Elements(HTMLParser):
    """Every start tag with its attributes, to find elements by id or class without a browser."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def by_id(self, element_id: str) -> tuple[str, dict[str, str | None]]:
        found = [t for t in self.tags if t[1].get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]

    def with_class(self, name: str) -> list[tuple[str, dict[str, str | None]]]:
        return [t for t in self.tags if name in (t[1].get("class") or "").split()]

    def names(self) -> set[str]:
        return {tag for tag, _ in self.tags}


def study(study_id: str = "s1", title: str = "Stage III survival", **changes) -> dict:
    return {
        "id": study_id,
        "title": title,
        "purpose": "DUO:0000007",
        "purpose_label": "disease specific research",
        "proposer": "dr. A. Onderzoeker",
        "stations": {"iknl": ["nkr_2024"], "umcg": ["lab_results", "pathology"]},
        "analyses": ["kaplan-meier", "cox"],
        "recipients": ["onderzoeker@example.org"],
        "expires": "2026-12-31",
        "status": "proposed",
        "approvals": [
            {
                "steward": "steward@iknl",
                "organisation": "IKNL",
                "decision": "approve",
                "reason": None,
                "time": "2025-05-01T10:00:00Z",
            }
        ],
    } | changes


def hostile_study() -> dict:
    return study(
        "s<b>2",
        HOSTILE,
        purpose_label=HOSTILE,
        proposer=HOSTILE,
        stations={HOSTILE: [HOSTILE]},
        analyses=[HOSTILE],
        recipients=[HOSTILE],
        approvals=[
            {
                "steward": HOSTILE,
                "organisation": HOSTILE,
                "decision": "refuse",
                "reason": HOSTILE,
                "time": "2025-05-02T10:00:00Z",
            }
        ],
    )


TASKS = [
    {"id": "t1", "study": "s1", "status": "done", "reason": None, "created": "2025-05-03T09:00Z"},
    {"id": "t2", "study": "s1", "status": "failed", "reason": HOSTILE, "created": "2025-05-03"},
]


def km_result() -> KaplanMeierResult:
    """Kaplan-Meier curves by sex on synthetic registry data, with lifelines' log-rank test."""
    data = generate("nsclc", 400, seed=3).registry
    time = data["survival_months"].to_numpy(float)
    event = data["vital_status"].to_numpy(int).astype(bool)
    sex = data["sex"].to_numpy(str)
    curves = {}
    for label in sorted(set(sex)):
        table = kaplan_meier(time[sex == label], event[sex == label])
        _, table["lower"], table["upper"] = product_limit(table["at_risk"], table["events"])
        curves[label] = table
    first, second = sorted(set(sex))[:2]
    test = logrank_test(
        time[sex == first], time[sex == second], event[sex == first], event[sex == second]
    )
    return KaplanMeierResult(curves, (float(test.test_statistic), float(test.p_value)))


def cox_result() -> RegressionResult:
    return RegressionResult(
        {"age_at_diagnosis": 0.021, "ecog": 0.43},
        {"age_at_diagnosis": 0.004, "ecog": 0.05},
        n=1500,
        events=1100,
        log_likelihood=-7321.5,
        hazard=True,
    )


IMAGE = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"')


def pngs(document: str) -> dict[str, bytes]:
    """alt text -> decoded PNG bytes of every embedded image."""
    return {alt: base64.b64decode(data, validate=True) for alt, data in IMAGE.findall(document)}


# --- pages, as text ---------------------------------------------------------------------------


def test_layout_shows_the_user_or_a_sign_in_link():
    signed_in = pages.layout("T", "<p>x</p>", user=HOSTILE)
    assert f"signed in as <strong>{ESCAPED}</strong>" in signed_in
    assert HOSTILE not in signed_in
    links = {a.get("href") for tag, a in Elements(signed_in).tags if tag == "a"}
    assert {"/studies", "/approvals", "/audit"} <= links
    assert "/login" not in links
    assert 'href="/login"' in pages.layout("T", "")


def test_login_page_has_the_form_and_escapes_the_message():
    document = pages.login_page(HOSTILE)
    assert HOSTILE not in document and ESCAPED in document
    assert "tessera login --as &lt;identity dir&gt;" in document
    elements = Elements(document)
    form = next(a for tag, a in elements.tags if tag == "form")
    assert (form["action"], form["method"]) == ("/login", "get")
    assert [a for tag, a in elements.tags if tag == "input" and a.get("name") == "code"]
    assert elements.by_id("sign-in")[0] == "button"
    assert 'id="message"' not in pages.login_page()


def test_studies_page_escapes_and_marks_rows():
    document = pages.studies_page([study(), hostile_study()], TASKS, user="onderzoeker")
    assert HOSTILE not in document
    assert document.count(ESCAPED) >= 9  # title, label, proposer, station, dataset, ...
    elements = Elements(document)
    assert "script" not in elements.names()
    assert elements.by_id("study-s1")[0] == "tr"
    assert elements.by_id("study-s<b>2")[0] == "tr"  # the id escaped into its attribute
    assert elements.by_id("task-t1")[0] == elements.by_id("task-t2")[0] == "tr"
    assert len(elements.with_class("status")) == 4
    assert "end-to-end encrypted" in document and "Client.result(task)" in document


def test_studies_page_empty():
    document = pages.studies_page([], [], user="u")
    assert "No studies yet." in document and "No tasks yet." in document


def test_approvals_page_lists_pending_with_commands():
    decided = study("s3", status="approved")
    document = pages.approvals_page([study(), hostile_study()], [decided], user="steward@iknl")
    assert HOSTILE not in document
    elements = Elements(document)
    assert elements.by_id("pending-s1")[0] == "section"
    assert elements.by_id("pending-s<b>2")[0] == "section"
    assert elements.by_id("study-s3")[0] == "tr"
    assert "tessera study approve s1 --as &lt;identity dir&gt;" in document
    assert "tessera study refuse s1 --reason &quot;...&quot; --as &lt;identity dir&gt;" in document
    # An id a shell would split is quoted, then escaped for HTML.
    assert "tessera study approve &#39;s&lt;b&gt;2&#39; --as" in document
    assert "DUO:0000007" in document and "disease specific research" in document
    assert "No studies await your decision." not in document


def test_approvals_page_empty():
    assert "No studies await your decision." in pages.approvals_page([], [], user="steward")


class Text(HTMLParser):
    """The text a browser shows (entities decoded), with the elements it would build."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def text(self) -> str:
        return "".join(self.parts)


STEWARD = """O'Brien "the steward" <b>bold</b> & co"""


def every_page_with_a_hostile_title_and_steward() -> dict[str, str]:
    """Each page that shows a study's title or a steward's name, given a hostile one of each."""
    decision = {"steward": STEWARD, "organisation": "IKNL", "decision": "approve"}
    hostile = study("s9", HOSTILE, approvals=[decision])
    crosstab = {"rows": "stage", "cols": "sex", "counts": [["I", "F", 3]]}
    entry = {"index": 0, "time": "t", "author": STEWARD, "kind": "approve", "summary": HOSTILE}
    return {
        "studies": pages.studies_page([hostile], [], user=STEWARD),
        "approvals": pages.approvals_page([hostile], [hostile], user=STEWARD),
        "audit": pages.audit_page([entry], "ok", True, user=STEWARD),
        "statistics": statistics_page(
            [published("t9", "crosstab", crosstab, HOSTILE, study_title=HOSTILE)], STEWARD
        ),
        "login": pages.login_page(f"{HOSTILE} {STEWARD}"),
    }


@pytest.mark.parametrize("name", ["studies", "approvals", "audit", "statistics", "login"])
def test_a_hostile_study_title_and_a_quoted_steward_name_are_text_on_every_page(name: str):
    document = every_page_with_a_hostile_title_and_steward()[name]
    assert HOSTILE not in document and STEWARD not in document
    assert "<b>bold" not in document and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in document
    assert "O&#39;Brien &#34;the steward&#34;" in document  # quotes too: safe in attributes
    shown = Text(document)
    assert "script" not in shown.tags and "b" not in shown.tags
    assert HOSTILE in shown.text() and STEWARD in shown.text()  # shown as written
    if name in ("studies", "approvals"):
        assert shown.text().count(STEWARD) >= 2  # in the nav and in the study's decisions


@pytest.mark.parametrize("ok", [True, False])
def test_audit_page(ok: bool):
    entries = [
        {"index": 0, "time": "2025-05-01T09:00Z", "author": "hub", "kind": "genesis",
         "summary": "ledger opened"},
        {"index": 1, "time": "2025-05-01T09:01Z", "author": HOSTILE, "kind": "enrol",
         "summary": HOSTILE},
    ]  # fmt: skip
    document = pages.audit_page(entries, f"verdict {HOSTILE}", ok, user="auditor")
    assert HOSTILE not in document
    elements = Elements(document)
    assert elements.by_id("entry-0")[0] == elements.by_id("entry-1")[0] == "tr"
    verdict = elements.by_id("verdict")[1]
    assert verdict["class"] == ("ok" if ok else "bad")
    assert "tessera audit verify --ledger PATH --against OTHER" in document


# --- public statistics, as text ---------------------------------------------------------------


def published(task: str, kind: str, result: dict, title: str = "Incidence", **changes) -> dict:
    """A record as `GET /api/public` gives it."""
    return {
        "task": task,
        "study": "s1",
        "study_title": "Incidence across registries",
        "title": title,
        "kind": kind,
        "epsilon": None,
        "released": "2025-05-04",
        "publisher": "onderzoeker",
        "published": "2025-05-05T10:00:00+00:00",
        "entry": 12,
        "result": result,
    } | changes


def test_statistics_page_escapes_and_renders_a_chart_per_publication():
    counts = {
        "columns": ["stage", HOSTILE],
        "counts": [["I", 2020, 12], ["I", HOSTILE, None], [HOSTILE, 2020, 30], ["II", 2021, 25]],
        "min_cell": 10,
    }
    crosstab = {"rows": "stage", "cols": "sex", "counts": [["I", "F", 3], ["I", "M", None]]}
    kind, curves = shaped(km_result())
    document = statistics_page(
        [
            published("t1", "counts", counts, HOSTILE, study_title=HOSTILE, epsilon=0.5),
            published("t<2>", "crosstab", crosstab, publisher=HOSTILE),
            published("t3", kind, curves),
        ],
        user=HOSTILE,
    )
    assert HOSTILE not in document and ESCAPED in document
    elements = Elements(document)
    assert "script" not in elements.names()
    assert [tag for tag, _ in elements.tags].count("svg") == 3
    assert elements.by_id("publication-t1")[0] == elements.by_id("publication-t<2>")[0]
    assert 'id="publication-t&lt;2&gt;"' in document  # the parser unescapes attributes
    assert len(elements.with_class("suppressed")) == 4  # each null: a table cell and a ×
    assert document.count('<td class="suppressed">suppressed</td>') == 2
    assert "ε = 0.5" in document and document.count("no noise") >= 2
    assert "2025-05-04" in document and "cells below 10 suppressed" in document
    assert len(elements.with_class("bar")) == 4 and len(elements.with_class("curve")) == 2
    assert "Log-rank test" in document
    assert not any("style" in attributes for _, attributes in elements.tags)  # no inline style
    assert 'href="/statistics"' in document


def test_approvals_page_says_a_study_is_public():
    public = pages.approvals_page([study(public=True)], [], user="steward")
    assert len(Elements(public).with_class("public")) == 1 and "publish" in public
    assert not Elements(pages.approvals_page([study()], [], user="steward")).with_class("public")


def test_statistics_page_empty_and_malformed():
    assert 'id="no-publications"' in statistics_page([])
    broken = statistics_page([published("t1", "counts", {"columns": "stage"})])
    assert "cannot be shown" in broken


SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ElementTree.Element:
    """The chart as XML (it must be well-formed), with nothing that could load or run."""
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("class") == "chart"
    for element in root.iter():
        assert element.tag not in (f"{SVG}script", f"{SVG}foreignObject", f"{SVG}image")
        assert element.tag != f"{SVG}style" and "style" not in element.attrib
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            if name.endswith("href"):
                assert value.startswith("#"), value  # only the chart's own definitions
            assert "url(" not in value or value.startswith("url(#"), value
    return root


def texts(root: ElementTree.Element, tag: str = "text") -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}{tag}")]


def test_bar_chart_is_valid_self_contained_svg_with_text_labels():
    bars = bars_svg(["I", "II"], {"F": [1, None], "M": [2.5, 4]}, title=HOSTILE)
    assert isinstance(bars, Markup) and bars.startswith("<svg") and HOSTILE not in bars
    assert "http:" not in bars.replace('xmlns="http://www.w3.org/2000/svg"', "")
    root = parsed(bars)
    assert root.get("aria-label") == HOSTILE and texts(root, "title")[0] == HOSTILE
    labels = texts(root)
    assert {"I", "II", "patients", "F", "M", "×"} <= set(labels)  # text, not glyph paths
    marks = {c: [e for e in root.iter() if e.get("class") == c] for c in ("bar", "suppressed")}
    assert len(marks["bar"]) == 3 and len(marks["suppressed"]) == 1  # None: a ×, no bar
    assert {texts(e, "title")[0] for e in marks["bar"]} == {"I, F: 1", "I, M: 2.5", "II, M: 4"}
    assert texts(marks["suppressed"][0], "title") == ["II, F: suppressed"]
    # a NaN is a cell not released: nothing; mathtext is off, so dollars stay text
    unreleased = parsed(bars_svg(["$a$", "b"], {"n": [float("nan"), 3]}))
    assert len([e for e in unreleased.iter() if e.get("class") == "bar"]) == 1
    assert "$a$" in texts(unreleased)
    assert bars == bars_svg(["I", "II"], {"F": [1, None], "M": [2.5, 4]}, title=HOSTILE)


def test_step_chart_is_valid_self_contained_svg():
    steps = steps_svg({HOSTILE: ([1, 2], [0.8, 0.5]), "M": ([3], [0.4])}, title="Survival")
    assert HOSTILE not in steps
    root = parsed(steps)
    assert root.get("aria-label") == "Survival"
    curves = [e for e in root.iter() if e.get("class") == "curve"]
    assert [texts(c, "title")[0] for c in curves] == [HOSTILE, "M"]
    assert {"time", "survival", "0.50", "1.00", "<script>alert(1…"} <= set(texts(root))
    with pytest.raises(ValueError, match="times and"):
        steps_svg({"x": ([1, 2], [0.5])})


def test_charts_leave_pyplot_and_rcparams_alone():
    import matplotlib
    import matplotlib.pyplot as plt

    before, backend = plt.get_fignums(), matplotlib.get_backend()
    fonttype = matplotlib.rcParams["svg.fonttype"]
    bars_svg(["a"], {"n": [1]})
    assert plt.get_fignums() == before and matplotlib.get_backend() == backend
    assert matplotlib.rcParams["svg.fonttype"] == fonttype


def test_statistics_charts_are_cached_per_publication_and_unique_on_a_page():
    from tessera.web import statistics

    crosstab = {"rows": "stage", "cols": "sex", "counts": [["I", "F", 3], ["I", "M", None]]}
    items = [published("t1", "crosstab", crosstab, entry=1), published("t2", "crosstab",
             crosstab | {"counts": [["I", "F", 4]]}, entry=2)]  # fmt: skip
    statistics._drawn.cache_clear()
    first = statistics_page(items)
    assert statistics._drawn.cache_info().misses == 2
    assert statistics_page(items) == first and statistics._drawn.cache_info().hits == 2
    ids = re.findall(r' id="([^"]+)"', first)
    assert len(ids) == len(set(ids))  # the SVGs' own ids are salted per publication


def test_publication_shapes_results_for_the_ledger():
    from types import SimpleNamespace

    from tessera.analyses.results import CountResult, CrossTableResult

    counts = CountResult(("stage", "sex"), [["I", "F", np.int64(12)]], 1.0, 10, 3)
    kind, body = shaped(counts)
    assert (kind, body) == (
        "counts",
        {"columns": ["stage", "sex"], "counts": [["I", "F", 12]], "min_cell": 10,
         "registries": 3},
    )  # fmt: skip
    assert type(body["counts"][0][2]) is int and epsilon_of(counts) == 1.0
    assert epsilon_of(SimpleNamespace(epsilon=float("inf"))) is None
    table = CrossTableResult("stage", "sex", [["I", "F", None]])
    expected = {"rows": "stage", "cols": "sex", "counts": [["I", "F", None]]}
    assert shaped(table) == ("crosstab", expected)
    assert epsilon_of(table) is None
    for result in (counts, table, km_result()):
        kind, body = shaped(result)
        entry = {"title": "t", "kind": kind, "epsilon": None, "released": "2025-05-04"}
        assert problem({**entry, "result": body}, "2025-05-04") is None
    with pytest.raises(TypeError, match="cannot be published"):
        shaped(cox_result())


# --- report, as text --------------------------------------------------------------------------


def test_report_embeds_decodable_plots_and_escaped_tables():
    km = km_result()
    document = report(
        f"Survival {HOSTILE}",
        [("Survival by sex", km), ("Cox model", cox_result()), ("Counts", {"n": HOSTILE})],
        note=HOSTILE,
    )
    assert HOSTILE not in document
    assert "src=" not in document.replace('src="data:image/png;base64,', "")  # nothing external
    images = pngs(document)
    assert set(images) == {"Survival by sex", "Cox model"}  # the dict has no plot
    for png in images.values():
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            assert image.width > 200 and image.height > 100
            pixels = np.asarray(image.convert("L"))
            assert pixels.min() < 100  # something is drawn, not a blank canvas
    assert "log-rank chi2" in document  # the summary, in <pre>
    assert "<table" in document and "at_risk" in document  # to_frame()
    assert "{&#39;n&#39;: &#39;&lt;script&gt;" in document  # str() of a plain dict


def test_report_leaves_pyplot_alone():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    report("r", [("km", km_result())])
    assert plt.get_fignums() == before


def test_save_report(tmp_path):
    path = save_report(tmp_path / "out" / "report.html", "R", [("Cox", cox_result())])
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --- in a browser -----------------------------------------------------------------------------


def test_report_in_chromium(tmp_path):
    path = save_report(
        tmp_path / "report.html", "Study s1: results", [("Survival by sex", km_result())]
    )
    with chromium_page() as page:
        page.goto(path.as_uri())
        heading = page.get_by_role("heading", name="Survival by sex")
        assert heading.is_visible()
        image = page.get_by_alt_text("Survival by sex")
        image.wait_for(state="visible")
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0
        assert page.title() == "Study s1: results"


def test_pages_escape_in_chromium():
    with chromium_page() as page:
        page.set_content(pages.studies_page([hostile_study()], TASKS, user=HOSTILE))
        assert page.locator("script").count() == 0
        row = page.locator("#study-s\\<b\\>2")
        assert HOSTILE in row.inner_text()  # shown as text, not run
        assert page.locator("#study-s\\<b\\>2 .status").inner_text() == "proposed"
        assert page.locator("#task-t2 .status").inner_text() == "failed"


def test_login_form_in_chromium():
    with chromium_page() as page:
        page.set_content(pages.login_page("that sign-in link has expired"))
        assert page.locator("#message").inner_text() == "that sign-in link has expired"
        form = page.locator("form")
        assert form.get_attribute("action") == "/login"
        assert form.get_attribute("method") == "get"

        # Submitting goes to /login?code=...: serve the page from a routed origin, offline.
        served = []

        def hub(route):
            served.append(route.request.url)
            route.fulfill(content_type="text/html; charset=utf-8", body=pages.login_page())

        page.route("http://hub.test/**", hub)
        page.goto("http://hub.test/login")
        page.locator("input[name=code]").fill("abc 12&3")
        with page.expect_navigation():
            page.locator("#sign-in").click()
        url = urlsplit(page.url)
        assert url.path == "/login"
        assert parse_qs(url.query) == {"code": ["abc 12&3"]}
        assert served[-1] == page.url
