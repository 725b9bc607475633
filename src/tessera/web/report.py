"""Self-contained HTML reports of decrypted results, written by the researcher's SDK.

The hub cannot render results (they are sealed to their recipients), so the report is made
where they are opened: one HTML file with the summaries, tables and plots (PNG as data: URLs)
inside, which can be mailed or archived and opens without a network or the files beside it.
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

from tessera.web.pages import document

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


def _table(result: object) -> str:
    frame = result.to_frame()
    table = frame.to_html(escape=True, border=0, float_format=lambda v: f"{v:.4g}")
    if len(frame) <= _LONG_TABLE:
        return table
    return f"<details><summary>Table ({len(frame)} rows)</summary>\n{table}\n</details>"


def _section(number: int, heading: str, result: object) -> str:
    parts = [f"<h2>{escape(heading)}</h2>", f"<pre>{escape(str(result))}</pre>"]
    if callable(getattr(result, "plot", None)):
        png = base64.b64encode(plot_png(result)).decode("ascii")
        parts.append(f'<img alt="{escape(heading)}" src="data:image/png;base64,{png}">')
    if callable(getattr(result, "to_frame", None)):
        parts.append(_table(result))
    body = "\n".join(parts)
    return f'<section id="section-{number}">\n{body}\n</section>'


def report(title: str, sections: list[tuple[str, object]], note: str | None = None) -> str:
    """One HTML document: per (heading, result) its summary, plot and table, nothing external.

    Results without `to_frame` or `plot` (plain numbers, dicts) are shown by `str()` alone.
    """
    body = "\n".join(_section(n, h, r) for n, (h, r) in enumerate(sections, 1))
    shown_note = f'<p class="note">{escape(note)}</p>\n' if note else ""
    return document(title, f"<h1>{escape(title)}</h1>\n{shown_note}{body}", CSP, STYLE)


def save_report(
    path: str | Path, title: str, sections: list[tuple[str, object]], note: str | None = None
) -> Path:
    """Write `report(...)` to `path` (UTF-8, parent folders made) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report(title, sections, note), encoding="utf-8")
    return path
