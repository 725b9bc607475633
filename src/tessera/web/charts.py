"""Charts for the public statistics page: matplotlib's SVG backend, tidied into inline SVG.

The page has a strict Content-Security-Policy and no JavaScript, so a chart is markup inside
the page. matplotlib draws it on a bare `Figure` with its own SVG canvas (pyplot's backend
and figure list are left alone) under an `rc_context`: `svg.fonttype = "none"` keeps labels
as <text> (searchable, readable aloud, sharp at any zoom), a fixed `svg.hashsalt` and no date
make the output deterministic, and mathtext is off so a level such as "$5" stays text.

matplotlib's SVG is then tidied with ElementTree, which also escapes every label: its
metadata and <style> go (an inline SVG's CSS would apply to the whole page), `style`
attributes become the equivalent presentation attributes (the page has no inline styles),
ids that nothing refers to go (several charts share a page), the chart gets a <title> and an
aria-label, and the marks get classes ("bar", "suppressed", "curve") and tooltips.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from xml.etree import ElementTree

import matplotlib
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

# Okabe-Ito: told apart with the common kinds of colour blindness.
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
GRID, INK, MUTED = "#d0d7de", "#1d232a", "#57606a"
LABEL = 16  # characters of a level shown on an axis or legend (all of it in its tooltip)
SALT = "tessera"  # the default svg.hashsalt: the same chart is the same bytes every time

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
STYLE = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.size": 10,
    "axes.edgecolor": INK,
    "axes.labelcolor": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": MUTED,
    "grid.color": GRID,
    "legend.frameon": False,
}
_DRAWING = threading.Lock()  # rcParams are process-wide: one chart at a time


class Marks:
    """The artists a chart tags, by gid: the class and the tooltip each gets in the SVG."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[str | None, str]] = {}

    def tag(self, artist, css_class: str | None, tooltip: str) -> None:
        gid = f"tessera-mark-{len(self.found)}"
        artist.set_gid(gid)
        self.found[gid] = (css_class, tooltip)


def short(value: float) -> str:
    """A count as people write it (12, 1,500), other numbers compactly (0.25)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def clip(text: object) -> str:
    text = str(text)
    return text if len(text) <= LABEL else text[: LABEL - 1] + "…"


def bars_svg(
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str = "",
    y_label: str = "patients",
    salt: str = SALT,
) -> Markup:
    """Grouped bars: one group per entry of `groups`, one bar in it per series (series name ->
    a value per group). A None value is a suppressed cell: no bar, a grey × on the axis; a
    NaN is a cell that was not released at all: nothing."""
    names = list(series)
    longest = max((len(clip(g)) for g in groups), default=1)
    width = min(max(6.4, 1.0 + len(groups) * (0.15 + 0.12 * max(len(names), 1))), 16.0)
    tilted = longest * 6.5 > 72 * (width - 1.0) / max(len(groups), 1)

    def draw(figure: Figure, axes: Axes, marks: Marks) -> None:
        bar = 0.8 / max(len(names), 1)
        peak = 0.0
        for j, name in enumerate(names):
            column = series[name]
            for i, group in enumerate(groups):
                value, x = column[i], i - 0.4 + bar * (j + 0.5)
                tip = f"{group}, {name}" if len(names) > 1 else str(group)
                if value is None:
                    mark = axes.text(x, 0, "×", ha="center", va="bottom", color=MUTED)
                    marks.tag(mark, "suppressed", f"{tip}: suppressed")
                elif not math.isnan(value):
                    height = max(float(value), 0.0)
                    peak = max(peak, height)
                    (rectangle,) = axes.bar(
                        [x], [height], bar * 0.95, color=COLOURS[j % len(COLOURS)]
                    )
                    marks.tag(rectangle, "bar", f"{tip}: {short(float(value))}")
        axes.set_xlim(-0.5, max(len(groups), 1) - 0.5)
        axes.set_ylim(0, peak * 1.05 if peak > 0 else 1.0)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: short(value)))
        axes.set_xticks(range(len(groups)), [clip(g) for g in groups])
        if tilted:
            axes.tick_params(axis="x", labelrotation=40)
            for label in axes.get_xticklabels():
                label.set_horizontalalignment("right")
                label.set_rotation_mode("anchor")
        for label, group in zip(axes.get_xticklabels(), groups, strict=True):
            marks.tag(label, None, str(group))
        axes.tick_params(axis="x", length=0)
        axes.grid(axis="y")
        axes.set_axisbelow(True)
        axes.set_ylabel(y_label)
        if len(names) > 1:
            handles = [
                Patch(color=COLOURS[j % len(COLOURS)], label=clip(n)) for j, n in enumerate(names)
            ]
            _legend(figure, handles, names, marks)

    return _chart(draw, title, (width, 3.6 + (0.4 if tilted else 0.0)), salt)


def steps_svg(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str = "",
    x_label: str = "time",
    y_label: str = "survival",
    salt: str = SALT,
) -> Markup:
    """Step lines, one per curve (name -> (times, values)), each from (0, 1): Kaplan-Meier
    survival, which stays level between events."""

    def draw(figure: Figure, axes: Axes, marks: Marks) -> None:
        latest, handles = 0.0, []
        for j, (name, (times, values)) in enumerate(curves.items()):
            xs = [0.0, *(float(t) for t in times)]
            ys = [1.0, *(min(max(float(v), 0.0), 1.0) for v in values)]
            if len(xs) != len(ys):
                raise ValueError(f"curve {name!r} has {len(xs)} times and {len(ys)} values")
            latest = max(latest, *xs)
            (line,) = axes.step(
                xs, ys, where="post", color=COLOURS[j % len(COLOURS)], linewidth=2, label=clip(name)
            )
            marks.tag(line, "curve", str(name))
            handles.append(line)
        axes.set_xlim(0, latest if latest > 0 else 1.0)
        axes.set_ylim(0, 1.02)
        axes.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1]))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: short(value)))
        axes.grid(axis="y")
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        if handles:
            _legend(figure, handles, list(curves), marks)

    return _chart(draw, title, (6.4, 3.8), salt)


def _legend(figure: Figure, handles: list, names: Sequence[str], marks: Marks) -> None:
    """A legend below the plot, each entry's full name in its tooltip."""
    legend = figure.legend(handles=handles, loc="outside lower center", ncols=min(len(names), 4))
    for text, name in zip(legend.get_texts(), names, strict=True):
        marks.tag(text, None, str(name))


def _chart(
    draw: Callable[[Figure, Axes, Marks], None],
    title: str,
    size: tuple[float, float],
    salt: str,
) -> Markup:
    """`draw` on a fresh figure of `size` inches, as tidied SVG (trusted markup: every text in
    it was escaped by ElementTree)."""
    buffer = io.StringIO()
    with _DRAWING, matplotlib.rc_context({**STYLE, "svg.hashsalt": salt}):
        figure = Figure(figsize=size, layout="constrained")
        FigureCanvasSVG(figure)
        marks = Marks()
        draw(figure, figure.add_subplot(), marks)
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return Markup(tidy(buffer.getvalue(), title or "Chart", marks.found))


def tidy(svg: str, title: str, marks: Mapping[str, tuple[str | None, str]]) -> str:
    """matplotlib's SVG document as an <svg> element to inline in HTML (see the module)."""
    root = ElementTree.fromstring(svg)  # expat fetches no DTD: nothing external is read
    dropped = {f"{{{SVG}}}metadata", f"{{{SVG}}}style"}
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in dropped:
                parent.remove(child)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == f"{{{SVG}}}defs" and len(child) == 0:
                parent.remove(child)  # it held only the <style>
    referenced = set(re.findall(r'url\(#([^)"]+)\)|href="#([^"]+)"', svg))
    referenced = {name for pair in referenced for name in pair if name}
    for element in list(root.iter()):
        element.tag = element.tag.removeprefix(f"{{{SVG}}}")  # one xmlns, on the root
        for declaration in element.attrib.pop("style", "").split(";"):
            name, _, value = declaration.partition(":")
            if name.strip():
                element.set(name.strip(), value.strip())
        href = element.attrib.pop(f"{{{XLINK}}}href", None)
        if href is not None:
            element.set("href", href)  # SVG 2: no xlink namespace needed
        gid = element.get("id")
        if gid in marks:
            css_class, tooltip = marks[gid]
            del element.attrib["id"]
            if css_class:
                element.set("class", css_class)
            tip = ElementTree.Element("title")
            tip.text = tooltip
            element.insert(0, tip)
        elif gid is not None and gid not in referenced:
            del element.attrib["id"]
    # what the dropped <style> set for every element, now inherited from the root
    root.attrib.update(
        {"class": "chart", "role": "img", "aria-label": title, "stroke-linejoin": "round"}
    )
    root.set("stroke-linecap", "butt")
    heading = ElementTree.Element("title")
    heading.text = title
    root.insert(0, heading)
    root.set("xmlns", SVG)
    return ElementTree.tostring(root, encoding="unicode")
