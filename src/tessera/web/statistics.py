"""Public statistics: the releases that recipients of public studies published, as the hub
serves them to anyone, with tables and charts drawn here.

The hub cannot read a result (it is sealed to its recipients), so publishing is a recipient's
explicit, signed `publish` ledger entry (`tessera.governance.publications` gives its shape).
`statistics_page` renders the publications on the server (the
statistics.html template): HTML tables and inline SVG charts (`tessera.web.charts`), with
no JavaScript and nothing loaded from elsewhere, so the hub's strict Content-Security-Policy
holds. Every title, name and level comes from a publisher and is escaped. A publication is
an immutable ledger entry, so its chart is drawn once and cached.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from tessera.web.charts import bars_svg, short, steps_svg
from tessera.web.pages import hub_page

# -- the page --


@dataclass(frozen=True)
class Figures:
    """What statistics.html shows of one release: a chart, its caption and a table."""

    kind: str  # "counts" (also cross-tables) or "survival"
    chart: Markup
    caption: str
    rows: list[tuple]
    stub: str = ""  # counts: the header over the row labels
    columns: list[str] = field(default_factory=list)  # counts: the column labels
    logrank: str | None = None  # survival: the test, when released


@dataclass(frozen=True)
class Shown:
    """One publication as the page shows it (None values show as nothing)."""

    task: object
    title: object
    study: object
    epsilon: str
    released: object
    publisher: object
    rules: str
    figures: Figures | None  # None: malformed, so not shown


@dataclass(frozen=True)
class _Release:
    """A cache key: the ledger entry and a digest of what is drawn; `item` rides along."""

    entry: object
    digest: str
    item: Mapping = field(compare=False, hash=False)


def _chart(item: Mapping, draw) -> Markup:
    """`draw(item, salt)`, once per publication: keyed by its ledger entry and a digest of
    its kind, title and result (so the test pages' shared entry numbers cannot collide)."""
    drawn = {"kind": item["kind"], "title": item.get("title"), "result": item["result"]}
    text = json.dumps(drawn, sort_keys=True, default=str, allow_nan=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return _drawn(_Release(item.get("entry"), digest, item), draw)


@functools.lru_cache(maxsize=256)
def _drawn(release: _Release, draw) -> Markup:
    # The digest salts the SVG's ids, so the charts on one page never share an id.
    return draw(release.item, f"tessera-{release.digest[:16]}")


def _levels(columns: Sequence[str], cells: Sequence[Sequence]) -> tuple[list, list, dict]:
    """Row labels (the levels of all columns but the last, joined), column labels (the last
    column's levels; one "patients" column for 1-D counts) and the counts by both."""
    rows: dict[str, None] = {}
    cols: dict[str, None] = {}
    counts = {}
    for *levels, n in cells:
        if len(columns) >= 2:
            row, col = " × ".join(map(str, levels[:-1])), str(levels[-1])
        else:
            row, col = str(levels[0]), "patients"
        rows[row] = cols[col] = None
        counts[row, col] = n
    return list(rows), list(cols), counts


def _columns(item: Mapping) -> list[str]:
    result = item["result"]
    return [result["rows"], result["cols"]] if item["kind"] == "crosstab" else result["columns"]


def _bars(item: Mapping, salt: str) -> Markup:
    columns = _columns(item)
    rows, cols, counts = _levels(columns, item["result"]["counts"])
    last = columns[-1] if len(columns) >= 2 else None
    series = {
        f"{last}: {c}" if last else c: [counts.get((row, c), math.nan) for row in rows]
        for c in cols
    }
    return bars_svg(rows, series, str(item.get("title", "")), salt=salt)


def _cell(counts: Mapping, key: tuple) -> tuple[str, str]:
    if key not in counts:
        return "", ""
    if counts[key] is None:
        return "suppressed", ""
    return "count", short(float(counts[key]))


def _counts(item: Mapping) -> Figures:
    columns = _columns(item)
    rows, cols, counts = _levels(columns, item["result"]["counts"])
    last = columns[-1] if len(columns) >= 2 else None
    return Figures(
        kind="counts",
        chart=_chart(item, _bars),
        caption=f"patients by {' and '.join(columns)}",
        rows=[(row, [_cell(counts, (row, c)) for c in cols]) for row in rows],
        stub=" × ".join(columns[:-1]) if len(columns) >= 2 else columns[0],
        columns=[f"{last}: {c}" if last else c for c in cols],
    )


def _median(curve: Mapping[str, Sequence[float]]) -> str:
    for t, s in zip(curve["time"], curve["survival"], strict=True):
        if s <= 0.5:
            return short(float(t))
    return "not reached"


def _group(name: str, curve: Mapping[str, Sequence[float]]) -> tuple:
    start = short(float(curve["at_risk"][0])) if curve["at_risk"] else "0"
    last = f"{float(curve['survival'][-1]):.3f}" if curve["survival"] else ""
    return name, start, short(float(sum(curve["events"]))), _median(curve), last


def _steps(item: Mapping, salt: str) -> Markup:
    groups = item["result"]["groups"]
    curves = {name: (c["time"], c["survival"]) for name, c in groups.items()}
    return steps_svg(curves, str(item.get("title", "")), salt=salt)


def _survival(item: Mapping) -> Figures:
    result = item["result"]
    logrank, test = result.get("logrank"), None
    if logrank and logrank.get("p_value") is not None:
        statistic, p = float(logrank.get("statistic") or 0), float(logrank["p_value"])
        test = f"Log-rank test: χ² = {statistic:.3f}, p = {p:.4g}"
    return Figures(
        kind="survival",
        chart=_chart(item, _steps),
        caption="Kaplan-Meier survival by group",
        rows=[_group(str(name), curve) for name, curve in result["groups"].items()],
        logrank=test,
    )


def _figures(item: Mapping) -> Figures:
    if item["kind"] == "kaplan-meier":
        return _survival(item)
    if item["kind"] in ("crosstab", "counts"):
        return _counts(item)
    raise ValueError(f"unknown kind {item['kind']!r}")


def _epsilon(epsilon: object) -> str:
    if isinstance(epsilon, int | float) and not isinstance(epsilon, bool):
        return f"ε = {epsilon:g}"
    return "no noise" if epsilon is None else f"ε = {epsilon}"


def _shown(item: Mapping) -> Shown:
    try:
        figures = _figures(item)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        figures = None
    result = item.get("result") or {}
    rules = []
    if isinstance(result, Mapping) and result.get("min_cell") is not None:
        rules.append(f"cells below {result['min_cell']} suppressed")
    if isinstance(result, Mapping) and result.get("registries") is not None:
        rules.append(f"across {result['registries']} registries")
    study = item.get("study_title")
    return Shown(
        task=item.get("task"),
        title=item.get("title"),
        study=f"{study} ({item.get('study')})" if study else item.get("study"),
        epsilon=_epsilon(item.get("epsilon")),
        released=item.get("released"),
        publisher=item.get("publisher"),
        rules=", ".join(rules),
        figures=figures,
    )


def statistics_page(publications: Sequence[Mapping], user: str | None = None) -> str:
    """Every publication with its ε, its release date, a table and a chart: for anyone, signed
    in or not. The records are those of `GET /api/public`."""
    shown = [_shown(p) for p in publications]
    return hub_page("statistics.html", "Public statistics", user, publications=shown)
