"""What the `tessera` commands share: the console, one-line errors, the option types, how
their text is parsed, and how a result is shown.

Every command turns a user mistake into one clear line on stderr and exit status 2, never
a traceback: the person at the keyboard is a data steward or a researcher.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from tessera.analyses.registry import DEFAULT_MIN_CELL, analysis
from tessera.errors import InputError, TesseraError

err = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"


# -- errors --


@contextmanager
def user_errors() -> Iterator[None]:
    """Report expected failures (Tessera's refusals, bad input, missing files) as one line
    on stderr, exit status 2."""
    try:
        yield
    except (TesseraError, ValueError, FileNotFoundError, PermissionError, KeyError) as exc:
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        message = text or type(exc).__name__
        text = f"[bold red]error:[/] {escape(message)}"  # the message itself is not markup
        err.print(text, highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(2) from None


@contextmanager
def hub_errors() -> Iterator[None]:
    """`user_errors` (the hub's refusals are Tessera's), plus a hub that cannot be reached."""
    import httpx

    with user_errors():
        try:
            yield
        except httpx.TransportError as error:
            raise InputError(f"cannot reach the hub ({error or type(error).__name__})") from None


# -- the options --

PartyOption = Annotated[
    list[str], typer.Option("--party", help="NAME=PATH of a party's CSV or Parquet file.")
]
HelperOption = Annotated[
    bool, typer.Option("--helper", help="Add a third compute party that holds no data.")
]
JoinOption = Annotated[str | None, typer.Option(help="Column holding the shared pseudonym.")]
LinkOption = Annotated[
    str | None,
    typer.Option(
        help="'identifiers': link the parties' records privately on their names, dates of "
        "birth and addresses, in place of --join."
    ),
]
FieldsOption = Annotated[
    str | None,
    typer.Option(
        help="With --link: identifier columns to compare, comma-separated (default: every "
        "identifier column all parties hold)."
    ),
]
ThresholdOption = Annotated[
    float | None, typer.Option(help="With --link: the score a linked pair needs (default 3).")
]
FormatOption = Annotated[Format, typer.Option("--format", help="table or json.")]
AccuracyOption = Annotated[
    str | None,
    typer.Option(help="fast or precise (fixed-point setting; default: the analysis's own)."),
]
TimeOption = Annotated[str, typer.Option(help="Follow-up time column.")]
EventOption = Annotated[str, typer.Option(help="Event column (1 = event, 0 = censored).")]
PlotOption = Annotated[Path | None, typer.Option(help="Also save the plot to this PNG file.")]
MinCellOption = Annotated[
    int | None,
    typer.Option(min=0, help=f"Suppress counts below this (default {DEFAULT_MIN_CELL})."),
]
WhereOption = Annotated[
    str | None,
    typer.Option(
        help='Count only patients where this holds, e.g. \'stage in ("III", "IV") and '
        "age_at_diagnosis >= 70'; columns may sit at different parties."
    ),
]
HorizontalOption = Annotated[
    bool,
    typer.Option(
        "--horizontal",
        help="The parties are registries with one schema (different patients): pool them "
        "with threshold homomorphic encryption instead of joining them.",
    ),
]
EpsilonOption = Annotated[
    str,
    typer.Option(
        help="Differential privacy: the epsilon this release spends, or 'inf' for no noise "
        "(local mode only)."
    ),
]
LevelsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--levels",
        help="COLUMN=A,B,C or COLUMN=LOW..HIGH: the levels of a column without a code list "
        "(needed with noise: cells must not depend on the data).",
    ),
]
TimeStepOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help="With --horizontal: width of the public time bins (default "
        f"{analysis('kaplan-meier').defaults('pooled')['step']:g}).",
    ),
]
HorizonOption = Annotated[
    float | None,
    typer.Option(help="With --horizontal: follow-up is censored here (needed with noise)."),
]
IterationsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help=f"Newton iterations (default {analysis('cox').defaults('joint')['iterations']}; "
        "with --horizontal, to convergence without noise and 5 with noise, each a round that "
        "spends budget).",
    ),
]
ClipOption = Annotated[
    list[str] | None,
    typer.Option(
        "--clip",
        help="With --horizontal: COLUMN=LOW,HIGH, public bounds a covariate is clipped to "
        "(needed for every covariate with noise).",
    ),
]
RegistryThresholdOption = Annotated[
    int | None,
    typer.Option(
        "--decrypt-threshold",
        min=1,
        help="How many registries must take part to decrypt (default: a majority).",
    ),
]
IdentityDir = Annotated[Path, typer.Option("--as", help="Your identity directory (from enrol).")]
HubUrl = Annotated[str | None, typer.Option("--hub", help="The hub's URL (default: enrolled).")]


# -- parsing the options' text --


def parties(specs: list[str]) -> dict[str, str]:
    """`--party NAME=PATH`, repeated: the parties' files by name."""
    found: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise InputError(f"--party {spec!r}: write NAME=PATH")
        if name in found or name == "helper":
            raise InputError(f"--party {name}: party names must be distinct and not 'helper'")
        found[name] = path
    return found


def columns(text: str, option: str) -> tuple[str, ...]:
    """A comma-separated list of column names, at least one."""
    names = tuple(c.strip() for c in text.split(",") if c.strip())
    if not names:
        raise InputError(f"{option}: name at least one column")
    return names


def listed(text: str | None, option: str) -> list[str] | None:
    """An optional comma-separated list (None when the option is not given)."""
    return None if text is None else list(columns(text, option))


def numbers(text: str | None, option: str) -> list[float] | None:
    """An optional comma-separated list of numbers."""
    if text is None:
        return None
    try:
        return [float(v) for v in columns(text, option)]
    except ValueError:
        raise InputError(f"{option} {text!r}: write numbers separated by commas") from None


def edges(text: str) -> list[float]:
    """`--edges A,B,C`: at least two increasing, finite bin edges."""
    try:
        bounds = [float(e) for e in text.split(",")]
    except ValueError:
        raise InputError(f"--edges {text!r}: write increasing numbers such as 0,12,24,60") from None
    increasing = all(b > a for a, b in itertools.pairwise(bounds))
    if len(bounds) < 2 or not increasing or not all(map(math.isfinite, bounds)):
        raise InputError(f"--edges {text!r}: give at least two increasing, finite numbers")
    return bounds


def clip(specs: list[str] | None) -> dict[str, list[float]] | None:
    """`--clip COLUMN=LOW,HIGH`, repeated (None when not given)."""
    if not specs:
        return None
    bounds: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        try:
            low, high = (float(v) for v in text.split(","))
        except ValueError:
            raise InputError(f"--clip {spec!r}: write COLUMN=LOW,HIGH") from None
        if not sep or not name:
            raise InputError(f"--clip {spec!r}: write COLUMN=LOW,HIGH")
        bounds[name] = [low, high]
    return bounds


def levels(specs: list[str] | None) -> dict[str, list[str]] | None:
    """`--levels COLUMN=A,B,C` or `COLUMN=LOW..HIGH`, repeated (None when not given)."""
    from tessera.analyses.grid import parse_levels

    return parse_levels(specs) if specs else None


def epsilon(text: str) -> float:
    """`--epsilon`: a positive number, or inf (no noise), which only local mode accepts."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--epsilon {text!r}: give a positive number or inf") from None
    if not value > 0:
        raise InputError(f"--epsilon {text!r}: must be positive (or inf for no noise)")
    return value


def settings(specs: list[str] | None) -> dict[str, object]:
    """`--set KEY=VALUE`, repeated: VALUE as JSON when it parses (10, true, ["a","b"]),
    else as text (stage)."""
    found: dict[str, object] = {}
    for spec in specs or []:
        key, sep, text = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--set {spec!r}: write KEY=VALUE")
        if key in found:
            raise InputError(f"--set {key}: given twice")
        try:
            found[key] = json.loads(text)
        except ValueError:
            found[key] = text
    return found


def match(join: str | None, link: str | None, fields: str | None, threshold: float | None) -> dict:
    """How the parties' rows are matched: on a pseudonym column, or by record linkage."""
    if link not in (None, "identifiers"):
        raise InputError(f"--link {link!r}: the only way to link is --link identifiers")
    if link is None and (fields is not None or threshold is not None):
        raise InputError("--fields and --threshold go with --link identifiers")
    if link is None:
        return {"join": join}
    chosen = columns(fields, "--fields") if fields is not None else None
    return {"join": join, "link": {"fields": chosen, "threshold": threshold}}


def refuse(given: Mapping[str, object], why: str) -> None:
    """Refuse the options among `given` (option -> value) that were set, saying `why`."""
    named = [option for option, value in given.items() if value not in (None, False, [], {})]
    if named:
        raise InputError(f"{', '.join(named)} {why}")


# -- output --


def show(result, format: Format, plot: Path | None = None) -> None:
    """Print a result object as its summary or as JSON; save its plot as a PNG if asked."""
    if plot is not None:
        with user_errors():
            result.plot().figure.savefig(plot, dpi=120, bbox_inches="tight")
    print(json.dumps(result.to_dict(), indent=1) if format is Format.json else result)
