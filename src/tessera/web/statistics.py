"""Public statistics: the releases that recipients of public studies published, as the hub
serves them to anyone, with tables and charts drawn here.

The hub cannot read a result (it is sealed to its recipients), so publishing is a recipient's
explicit, signed `publish` ledger entry; `publication` turns the SDK's result object into the
JSON that entry carries. `statistics_page` renders the publications on the server: HTML
tables and inline SVG charts made with the standard library, with no JavaScript and nothing
loaded from elsewhere, so the hub's strict Content-Security-Policy holds. Every title, name
and level comes from a publisher and is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from tessera.web.pages import layout

# Okabe-Ito: told apart with the common kinds of colour blindness.
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
GRID, INK, MUTED = "#d0d7de", "#1d232a", "#57606a"
LABEL = 16  # characters of a level shown under a bar (all of it in the bar's tooltip)


def _e(value: object) -> str:
    return "" if value is None else escape(str(value), quote=True)


# -- what a recipient publishes --


def publication(result: object) -> tuple[str, dict]:
    """The kind and JSON of a result object that may be published: Kaplan-Meier curves, a
    cross-table, or counts across registries (any object with `by`, `cells`, `epsilon`).
    Duck-typed, so that result classes stay free of the hub's vocabulary."""
    if hasattr(result, "curves") and hasattr(result, "to_dict"):
        return "kaplan-meier", _plain(result.to_dict())
    if all(hasattr(result, name) for name in ("rows", "cols", "cells")):
        body = {"rows": result.rows, "cols": result.cols, "counts": result.cells}  # type: ignore[attr-defined]
        return "crosstab", _plain(body)
    if all(hasattr(result, name) for name in ("by", "cells", "epsilon")):
        body = {"columns": list(result.by), "counts": result.cells}  # type: ignore[attr-defined]
        for extra in ("min_cell", "registries"):  # context a reader needs, when known
            if getattr(result, extra, None) is not None:
                body[extra] = getattr(result, extra)
        return "counts", _plain(body)
    raise TypeError(
        f"a {type(result).__name__} cannot be published: only counts, cross-tables and "
        "Kaplan-Meier curves can"
    )


def epsilon_of(result: object) -> float | None:
    """The release's privacy loss ε; None when it was not noised (no ε, or an infinite one)."""
    epsilon = getattr(result, "epsilon", None)
    if epsilon is None or not math.isfinite(float(epsilon)):
        return None
    return float(epsilon)


def _plain(value: object) -> object:
    """JSON values only: numpy scalars become Python ones, tuples lists, NaN null."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # a numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- charts --


def _ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high` (steps of 1, 2, 2.5 or 5 times 10^k)."""
    high = high if high > 0 else 1.0
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    return [i * step for i in range(math.ceil(high / step - 1e-9) + 1)]


def _short(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _clip(text: str) -> str:
    return text if len(text) <= LABEL else text[: LABEL - 1] + "…"


def _svg(width: float, height: float, title: str, content: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="system-ui, sans-serif" font-size="12" fill="{INK}" '
        f'aria-label="{_e(title)}"><title>{_e(title)}</title>' + "".join(content) + "</svg>"
    )


def _legend(names: Sequence[str], x: float, y: float, width: float) -> tuple[list[str], float]:
    """Swatches and names in rows from (x, y); the markup and the height it takes."""
    parts, left, top = [], x, y
    for i, name in enumerate(names):
        shown = _clip(name)
        wide = 24 + 7 * len(shown)
        if left + wide > x + width and left > x:
            left, top = x, top + 18
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + 16:.1f}" y="{top + 10:.1f}">{_e(shown)}<title>{_e(name)}</title>'
            "</text>"
        )
        left += wide + 8
    return parts, (top - y + 18 if names else 0)


def _y_axis(ticks: Sequence[float], y, left: float, right: float, label: str) -> list[str]:
    parts = []
    for tick in ticks:
        parts.append(
            f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6:.1f}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{_e(_short(tick))}</text>'
        )
    middle = (y(ticks[0]) + y(ticks[-1])) / 2
    parts.append(
        f'<text transform="translate(14 {middle:.1f}) rotate(-90)" text-anchor="middle" '
        f'fill="{MUTED}">{_e(label)}</text>'
    )
    return parts


def svg_bars(
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str = "",
    y_label: str = "patients",
) -> str:
    """Grouped bars: one group per entry of `groups`, one bar in it per series (series name ->
    a value per group). A None value is a suppressed cell: no bar, a grey × on the axis; a
    NaN is a cell that was not released at all: nothing."""
    names = list(series)
    values = [v for column in series.values() for v in column if v is not None and v == v]
    ticks = _ticks(max([0.0, *values]))
    left, right, top, plot = 64.0, 16.0, 16.0, 220.0
    band = max(24.0, 8.0 + 10.0 * len(names))
    width = max(640.0, left + right + band * len(groups))
    band = (width - left - right) / max(len(groups), 1)
    tilted = any(len(_clip(g)) * 7 > band for g in groups)
    labels = (max((len(_clip(g)) for g in groups), default=1) * 5.5 + 12) if tilted else 22.0
    legend, legend_height = _legend(names if len(names) > 1 else [], left, 0, width - left - right)
    height = top + plot + labels + legend_height + 8

    def y(value: float) -> float:
        return top + plot * (1 - value / ticks[-1])

    parts = _y_axis(ticks, y, left, width - right, y_label)
    bar = band * 0.8 / max(len(names), 1)
    for i, group in enumerate(groups):
        start = left + band * i + band * 0.1
        for j, name in enumerate(names):
            value = series[name][i]
            x = start + bar * j
            tip = f"{group}, {name}" if len(names) > 1 else str(group)
            if value is None:
                parts.append(
                    f'<text class="suppressed" x="{x + bar / 2:.1f}" y="{y(0) - 3:.1f}" '
                    f'text-anchor="middle" fill="{MUTED}">×<title>{_e(tip)}: suppressed'
                    "</title></text>"
                )
                continue
            if math.isnan(value):
                continue
            top_of = y(max(float(value), 0.0))
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top_of:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{y(0) - top_of:.1f}" fill="{COLOURS[j % len(COLOURS)]}">'
                f"<title>{_e(tip)}: {_e(_short(float(value)))}</title></rect>"
            )
        centre, below = left + band * (i + 0.5), y(0) + 16
        anchor = (
            f'text-anchor="end" transform="rotate(-40 {centre:.1f} {below:.1f})"'
            if tilted
            else 'text-anchor="middle"'
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{below:.1f}" {anchor}>{_e(_clip(str(group)))}'
            f"<title>{_e(group)}</title></text>"
        )
    parts.append(
        f'<line x1="{left:.1f}" x2="{width - right:.1f}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    shift = top + plot + labels
    parts.append(f'<g transform="translate(0 {shift:.1f})">{"".join(legend)}</g>')
    return _svg(width, height, title, parts)


def svg_steps(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str = "",
    x_label: str = "time",
    y_label: str = "survival",
) -> str:
    """Step lines, one per curve (name -> (times, values)), each from (0, 1): Kaplan-Meier
    survival, which stays level between events."""
    names = list(curves)
    times = [t for ts, _ in curves.values() for t in ts]
    x_ticks, y_ticks = _ticks(max([0.0, *times])), [0.0, 0.25, 0.5, 0.75, 1.0]
    left, right, top, plot, width = 64.0, 16.0, 16.0, 220.0, 640.0
    legend, legend_height = _legend(names, left, 0, width - left - right)
    height = top + plot + 40 + legend_height + 8

    def x(value: float) -> float:
        return left + (width - left - right) * value / x_ticks[-1]

    def y(value: float) -> float:
        return top + plot * (1 - value)

    parts = _y_axis(y_ticks, y, left, width - right, y_label)
    for tick in x_ticks:
        parts.append(
            f'<text x="{x(tick):.1f}" y="{y(0) + 16:.1f}" text-anchor="middle" '
            f'fill="{MUTED}">{_e(_short(tick))}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{y(0) + 34:.1f}" text-anchor="middle" '
        f'fill="{MUTED}">{_e(x_label)}</text>'
    )
    for j, (name, (ts, values)) in enumerate(curves.items()):
        path = [f"M{x(0):.1f} {y(1):.1f}"]
        for t, v in zip(ts, values, strict=True):
            path.append(f"H{x(float(t)):.1f} V{y(min(max(float(v), 0.0), 1.0)):.1f}")
        parts.append(
            f'<path class="curve" d="{" ".join(path)}" fill="none" '
            f'stroke="{COLOURS[j % len(COLOURS)]}" stroke-width="2"><title>{_e(name)}</title>'
            "</path>"
        )
    parts.append(
        f'<line x1="{left:.1f}" x2="{width - right:.1f}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    parts.append(f'<g transform="translate(0 {top + plot + 40:.1f})">{"".join(legend)}</g>')
    return _svg(width, height, title, parts)


# -- the page --


def _count(value: object) -> str:
    if value is None:
        return '<td class="suppressed">suppressed</td>'
    return f'<td class="count">{_e(_short(float(value)))}</td>'  # type: ignore[arg-type]


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


def _counts(columns: Sequence[str], cells: Sequence[Sequence], title: str) -> str:
    rows, cols, counts = _levels(columns, cells)
    last = columns[-1] if len(columns) >= 2 else None
    head = "".join(f'<th scope="col">{_e(f"{last}: {c}" if last else c)}</th>' for c in cols)
    body = "\n".join(
        f'<tr><th scope="row">{_e(row)}</th>'
        + "".join(_count(counts[row, c]) if (row, c) in counts else "<td></td>" for c in cols)
        + "</tr>"
        for row in rows
    )
    stub = " × ".join(columns[:-1]) if len(columns) >= 2 else columns[0]
    table = (
        f'<div class="scroll"><table class="figures">\n<thead><tr><th scope="col">{_e(stub)}'
        f"</th>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>"
    )
    series = {
        f"{last}: {c}" if last else c: [counts.get((row, c), math.nan) for row in rows]
        for c in cols
    }
    return _figure(svg_bars(rows, series, title), f"patients by {' and '.join(columns)}") + table


def _median(curve: Mapping[str, Sequence[float]]) -> str:
    for t, s in zip(curve["time"], curve["survival"], strict=True):
        if s <= 0.5:
            return _short(float(t))
    return "not reached"


def _group_row(name: str, curve: Mapping[str, Sequence[float]]) -> str:
    start = _short(float(curve["at_risk"][0])) if curve["at_risk"] else "0"
    last = f"{float(curve['survival'][-1]):.3f}" if curve["survival"] else ""
    return (
        f'<tr><th scope="row">{_e(name)}</th><td class="count">{_e(start)}</td>'
        f'<td class="count">{_e(_short(float(sum(curve["events"]))))}</td>'
        f"<td>{_e(_median(curve))}</td><td>{_e(last)}</td></tr>"
    )


def _survival(result: Mapping, title: str) -> str:
    groups: Mapping[str, Mapping] = result["groups"]
    rows = "\n".join(_group_row(name, curve) for name, curve in groups.items())
    table = (
        '<div class="scroll"><table class="figures">\n<thead><tr><th scope="col">group</th>'
        '<th scope="col">patients at start</th><th scope="col">events</th>'
        '<th scope="col">median survival</th><th scope="col">survival at last time</th>'
        f"</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>"
    )
    logrank = result.get("logrank")
    test = ""
    if logrank and logrank.get("p_value") is not None:
        statistic, p = float(logrank.get("statistic") or 0), float(logrank["p_value"])
        test = f'<p class="logrank">Log-rank test: χ² = {statistic:.3f}, p = {p:.4g}</p>'
    curves = {name: (c["time"], c["survival"]) for name, c in groups.items()}
    return _figure(svg_steps(curves, title), "Kaplan-Meier survival by group") + table + test


def _figure(svg: str, caption: str) -> str:
    return (
        f'<figure class="chart">{svg}<figcaption class="note">{_e(caption)}</figcaption></figure>'
    )


def _figures(item: Mapping) -> str:
    result, title = item["result"], str(item.get("title", ""))
    if item["kind"] == "kaplan-meier":
        return _survival(result, title)
    if item["kind"] == "crosstab":
        return _counts([result["rows"], result["cols"]], result["counts"], title)
    if item["kind"] == "counts":
        return _counts(result["columns"], result["counts"], title)
    raise ValueError(f"unknown kind {item['kind']!r}")


def _epsilon(epsilon: object) -> str:
    if isinstance(epsilon, int | float) and not isinstance(epsilon, bool):
        return f"ε = {epsilon:g}"
    return "no noise" if epsilon is None else f"ε = {epsilon}"


def _publication(item: Mapping) -> str:
    try:
        figures = _figures(item)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        figures = '<p class="bad">These figures cannot be shown: they are malformed.</p>'
    result = item.get("result") or {}
    rules = []
    if isinstance(result, Mapping) and result.get("min_cell") is not None:
        rules.append(f"cells below {result['min_cell']} suppressed")
    if isinstance(result, Mapping) and result.get("registries") is not None:
        rules.append(f"across {result['registries']} registries")
    controls = f"<tr><th>Counts</th><td>{_e(', '.join(rules))}</td></tr>\n" if rules else ""
    study = item.get("study_title")
    study = f"{study} ({item.get('study')})" if study else item.get("study")
    return f"""<section class="card publication" id="publication-{_e(item.get("task"))}">
<h2>{_e(item.get("title"))}</h2>
<table class="about">
<tr><th>Study</th><td>{_e(study)}</td></tr>
<tr><th>Privacy loss</th><td class="epsilon">{_e(_epsilon(item.get("epsilon")))}</td></tr>
<tr><th>Released</th><td class="released">{_e(item.get("released"))}</td></tr>
<tr><th>Published by</th><td>{_e(item.get("publisher"))}</td></tr>
<tr><th>Task</th><td><code>{_e(item.get("task"))}</code></td></tr>
{controls}</table>
{figures}
</section>"""


def statistics_page(publications: Sequence[Mapping], user: str | None = None) -> str:
    """Every publication with its ε, its release date, a table and a chart: for anyone, signed
    in or not. The records are those of `GET /api/public`."""
    shown = (
        "\n".join(_publication(p) for p in publications)
        if publications
        else '<p class="empty" id="no-publications">Nothing has been published yet.</p>'
    )
    body = f"""<p class="note">Each release here was published by a recipient of a study that
every data steward concerned approved as public, in a signed entry of the audit ledger. The
hub and auditors can check who published it and that the stewards approved publication; they
cannot check the figures, which were encrypted to the recipient alone. ε is the release's
differential privacy loss (smaller is more private; "no noise": none was added). Small cells
are suppressed. The same data as JSON: <code>GET /api/public</code>.</p>
{shown}
"""
    return layout("Public statistics", body, user)
