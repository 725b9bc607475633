"""The Jinja2 environment behind the hub's pages, the statistics page and the HTML report.

Autoescaping is on for every template, so any value (a study title, a steward's name, a level
a publisher chose) renders as text; only `markupsafe.Markup` passes through unchanged, and
this package builds Markup solely from its own output (a chart's SVG, a PNG data URI, a
pandas table, the fixed policies and styles). StrictUndefined turns a misspelt or missing
variable into an error instead of an empty string. None renders as nothing, as the pages
have always shown a missing value. The templates are package data under `templates/`.
"""

from __future__ import annotations

import shlex

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _finalize(value: object) -> object:
    """A missing value (None) shows as nothing, not as "None"."""
    return "" if value is None else value


ENVIRONMENT = Environment(
    loader=PackageLoader("tessera.web", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    undefined=StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# A study id in a command a steward copies into a shell: quoted for the shell, then escaped.
ENVIRONMENT.filters["shell_quote"] = lambda value: shlex.quote(str(value))


def render(name: str, /, **context: object) -> str:
    """The template `name` rendered with `context` (every variable it uses must be given)."""
    return ENVIRONMENT.get_template(name).render(**context)
