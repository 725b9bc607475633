"""Self-contained HTML reports of decrypted results, written by the researcher's SDK.

The hub cannot render results (they are sealed to their recipients), so the report is made
where they are opened: one HTML file with the summaries, tables and plots (PNG as data: URLs)
inside, which can be mailed or archived and opens without a network or the files beside it.
It is the report.html template, which autoescapes every title, heading and summary.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from tessera.web.templating import render

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 60em;
       padding: 0 1em; color: #1d232a; }
h1 { border-bottom: 2px solid #1f3a5f; padding-bottom: .2em; }
section { margin: 2em 0; }
pre { font: 13px/1.4 ui-monospace, monospace; background: #eef2f6; padding: .6em .8em;
      overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: .2em .5em; text-align: right; }
th { background: #eef2f6; }
img { max-width: 100%; height: auto; }
.note { color: #57606a; }
"""

_LONG_TABLE = 25  # rows beyond which the table is folded away under its summary


def _figure_size(result: object) -> tuple[float, float]:
    """A forest plot grows with its coefficients; other plots use one size."""
    from tessera.analyses.results import RegressionResult

    if isinstance(result, RegressionResult):
        return 6.0, 1.2 + 0.5 * len(result.coefficients)
    return 7.0, 4.5


def plot_png(result: object) -> bytes:
    """`result.plot(ax=...)` as PNG bytes, on a private Agg canvas.

    A bare `Figure` with its own canvas leaves pyplot's global backend and figure list alone,
    so reports can be made in notebooks, servers and threads alike.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_figure_size(result), dpi=100)
    FigureCanvasAgg(figure)
    result.plot(ax=figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


@dataclass(frozen=True)
class _Section:
    """One (heading, result) as report.html shows it."""

    number: int
    heading: str
    summary: str
    png: Markup | None  # a data: URI of the plot, when the result has one
    table: Markup | None  # pandas' HTML of `to_frame()`, which escapes every value
    rows: int


def _section(number: int, heading: str, result: object) -> _Section:
    png = table = None
    rows = 0
    if callable(getattr(result, "plot", None)):
        encoded = base64.b64encode(plot_png(result)).decode("ascii")
        png = Markup(f"data:image/png;base64,{encoded}")
    if callable(getattr(result, "to_frame", None)):
        frame = result.to_frame()
        html = frame.to_html(escape=True, border=0, float_format=lambda v: f"{v:.4g}")
        table, rows = Markup(html), len(frame)
    return _Section(number, heading, str(result), png, table, rows)


def report(title: str, sections: list[tuple[str, object]], note: str | None = None) -> str:
    """One HTML document: per (heading, result) its summary, plot and table, nothing external.

    Results without `to_frame` or `plot` (plain numbers, dicts) are shown by `str()` alone.
    """
    return render(
        "report.html",
        title=title,
        note=note,
        sections=[_section(n, h, r) for n, (h, r) in enumerate(sections, 1)],
        long_table=_LONG_TABLE,
        csp=Markup(CSP),
        style=Markup(STYLE),
    )


def save_report(
    path: str | Path, title: str, sections: list[tuple[str, object]], note: str | None = None
) -> Path:
    """Write `report(...)` to `path` (UTF-8, parent folders made) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report(title, sections, note), encoding="utf-8")
    return path
