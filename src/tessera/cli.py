"""The `tessera` command.

Every command turns a user mistake into one clear line on stderr and exit status 2,
never a traceback: the person at the keyboard is a data steward or a researcher.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from tessera import __version__

app = typer.Typer(
    help="Tessera: privacy-preserving analysis of cancer data that stays at home.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


class Cancer(StrEnum):
    nsclc = "nsclc"
    ovarian = "ovarian"


class Format(StrEnum):
    table = "table"
    json = "json"


@contextmanager
def user_errors() -> Iterator[None]:
    """Report expected failures (bad input, missing files) as one line, exit status 2."""
    from tessera.mpc.local import SessionFailed

    try:
        yield
    except (ValueError, FileNotFoundError, PermissionError, KeyError, SessionFailed) as exc:
        message = str(exc).strip("'\"") or type(exc).__name__
        err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(2) from None


def _version(value: bool) -> None:
    if value:
        print(f"tessera {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Tessera: privacy-preserving analysis of cancer data that stays at home."""


@app.command()
def synth(
    cancer: Annotated[Cancer, typer.Argument(help="Which cancer: nsclc or ovarian.")],
    out: Annotated[Path, typer.Option(help="Directory to write the Parquet files into.")],
    patients: Annotated[int, typer.Option(min=1, help="Number of cancer patients.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    registries: Annotated[
        int | None,
        typer.Option(min=1, help="Also split the registry into K regional registries."),
    ] = None,
    pseudonyms: Annotated[
        bool, typer.Option("--pseudonyms", help="Add a shared pseudonym column to every source.")
    ] = False,
    error_scale: Annotated[
        float, typer.Option(min=0.0, help="Multiply every identifier error rate (0 = exact).")
    ] = 1.0,
    gp_without_cancer: Annotated[
        float, typer.Option(min=0.0, help="People without cancer in the GP data per patient.")
    ] = 1.0,
) -> None:
    """Generate a synthetic cohort: registry, GP and survey tables plus truth.json."""
    from tessera.synth import generate

    with user_errors():
        with err.status(f"generating {patients:,} {cancer.value} patients"):
            cohort = generate(
                cancer.value,
                patients,
                seed=seed,
                registries=registries,
                pseudonyms=pseudonyms,
                error_scale=error_scale,
                gp_without_cancer=gp_without_cancer,
            )
        with err.status(f"writing {out}"):
            paths = cohort.write(out)
    for path in paths:
        print(path)


@app.command()
def summary(
    directory: Annotated[Path, typer.Argument(help="A directory written by `tessera synth`.")],
    format: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    plot: Annotated[
        Path | None, typer.Option(help="Also save Kaplan-Meier curves by stage to this PNG.")
    ] = None,
) -> None:
    """Summarise a synthetic cohort: overlap of the sources and survival by stage."""
    from tessera.synth import summarise

    with user_errors():
        result = summarise(directory)
        if plot is not None:
            result.plot(directory).figure.savefig(plot, dpi=120, bbox_inches="tight")
    print(json.dumps(result.to_dict(), indent=1) if format is Format.json else result)


@app.command()
def schema(
    tables: Annotated[
        list[str] | None, typer.Argument(help="Tables to show (default: all).")
    ] = None,
) -> None:
    """Show the canonical tables, their columns and the codes they accept (Markdown)."""
    from tessera.schema import table
    from tessera.schema.describe import describe

    with user_errors():
        for name in tables or []:
            table(name)
        print(describe(tables), end="")


@app.command()
def validate(
    location: Annotated[str, typer.Argument(help="CSV/Parquet file or SQLAlchemy URL.")],
    table: Annotated[str, typer.Option(help="Canonical table: registry, gp or survey.")],
    mapping: Annotated[
        Path | None, typer.Option(help="YAML mapping of local columns and codes.")
    ] = None,
    sql_table: Annotated[str | None, typer.Option(help="Table to read from a database.")] = None,
    query: Annotated[str | None, typer.Option(help="SELECT to read from a database.")] = None,
) -> None:
    """Check that local data maps onto a canonical table; list every problem if not."""
    from tessera.sources import load

    with user_errors():
        frame = load(location, table, mapping=mapping, sql_table=sql_table, query=query)
    print(f"ok: {len(frame):,} rows fit the canonical {table!r} table")


audit = typer.Typer(help="Check the audit ledger without trusting whoever keeps it.")
app.add_typer(audit, name="audit")


@audit.command("verify")
def audit_verify(
    ledger: Annotated[Path, typer.Option(help="The ledger file (one JSON entry per line).")],
    against: Annotated[
        list[Path] | None,
        typer.Option(help="Another copy (a station's) that the ledger must not contradict."),
    ] = None,
    operator: Annotated[
        str | None, typer.Option(help="Fingerprint the operator's genesis key must have.")
    ] = None,
) -> None:
    """Check signatures, the hash chain and who may write; exit 1 naming the first bad entry."""
    from tessera.audit import LedgerError, compare, read, verify_ledger

    def fail(path: Path, reason: object) -> NoReturn:
        err.print(f"tampered: {path}: {reason}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1)

    def checked(path: Path) -> tuple[list, str]:
        try:
            entries = read(path)
            return entries, verify_ledger(entries, operator)
        except LedgerError as error:
            fail(path, error)

    with user_errors():  # a missing or unreadable file
        entries, head = checked(ledger)
        for copy in against or ():
            other, _ = checked(copy)
            try:
                compare(entries, other)
            except LedgerError as error:
                fail(ledger, f"{error} ({copy})")
    print(f"ok: {len(entries)} entries, every one signed and chained; head {head}")


local = typer.Typer(
    help="Run an analysis among separate local party processes, exactly as stations will.",
    no_args_is_help=True,
)
app.add_typer(local, name="local")

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
AccuracyOption = Annotated[str, typer.Option(help="fast or precise (fixed-point setting).")]
TimeOption = Annotated[str, typer.Option(help="Follow-up time column.")]
EventOption = Annotated[str, typer.Option(help="Event column (1 = event, 0 = censored).")]
PlotOption = Annotated[Path | None, typer.Option(help="Also save the plot to this PNG file.")]
MinCellOption = Annotated[int, typer.Option(min=0, help="Suppress counts below this.")]
WhereOption = Annotated[
    str | None,
    typer.Option(
        help='Count only patients where this holds, e.g. \'stage in ("III", "IV") and '
        "age_at_diagnosis >= 70'; columns may sit at different parties."
    ),
]


def _parties(specs: list[str]) -> dict[str, str]:
    parties: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--party {spec!r}: write NAME=PATH")
        if name in parties or name == "helper":
            raise ValueError(f"--party {name}: party names must be distinct and not 'helper'")
        parties[name] = path
    return parties


def _columns(text: str, option: str) -> tuple[str, ...]:
    names = tuple(c.strip() for c in text.split(",") if c.strip())
    if not names:
        raise ValueError(f"{option}: name at least one column")
    return names


def _match(join: str | None, link: str | None, fields: str | None, threshold: float | None) -> dict:
    """How the parties' rows are matched: on a pseudonym column, or by record linkage."""
    if link not in (None, "identifiers"):
        raise ValueError(f"--link {link!r}: the only way to link is --link identifiers")
    if link is None and (fields is not None or threshold is not None):
        raise ValueError("--fields and --threshold go with --link identifiers")
    if link is None:
        return {"join": join}
    chosen = _columns(fields, "--fields") if fields is not None else None
    return {"join": join, "link": {"fields": chosen, "threshold": threshold}}


def _secure(
    what: str,
    party: list[str],
    match: dict,
    statistic,
    helper: bool,
    accuracy: str,
    numeric: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
    order_by: str | None = None,
    where: str | None = None,
    **options,
):
    """Resolve the columns to their parties and run one analysis among local processes."""
    from tessera.analyses.vertical import plan_for_files, run_vertical

    paths = _parties(party)
    plan = plan_for_files(paths, numeric=numeric, categorical=categorical, order_by=order_by,
                          where=where, **match)  # fmt: skip
    with err.status(f"running the secure {what} among the parties"):
        return run_vertical(plan, paths, statistic, helper, accuracy, **options)


def _emit(result: dict, format: Format, table: str) -> None:
    print(json.dumps(result, indent=1) if format is Format.json else table)


def _finish(result, format: Format, plot: Path | None) -> None:
    """Print a result object as JSON or its summary; save its plot if asked."""
    if plot is not None:
        result.plot().figure.savefig(plot, dpi=120, bbox_inches="tight")
    _emit(result.to_dict(), format, str(result))


@local.command("link")
def local_link(
    party: PartyOption,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    reveal_pairs: Annotated[
        bool,
        typer.Option(
            "--reveal-pairs", help="For evaluation only: also print the linked record ids."
        ),
    ] = False,
    format: FormatOption = Format.table,
) -> None:
    """Link the parties' records on their identifiers, privately; print how many matched."""
    from tessera.analyses.link import run_link

    with user_errors():
        paths = _parties(party)
        chosen = _columns(fields, "--fields") if fields is not None else None
        with err.status("linking the parties' records privately"):
            result = run_link(paths, chosen, threshold, reveal_pairs)
    _emit(result.to_dict(), format, str(result))


@local.command("crosstab")
def local_crosstab(
    party: PartyOption,
    rows: Annotated[str, typer.Option(help="Categorical column for the rows.")],
    cols: Annotated[str, typer.Option(help="Categorical column for the columns.")],
    min_cell: MinCellOption = 10,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = "fast",
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Count patients by two categorical columns that may sit at different parties."""
    from tessera.analyses import crosstab

    with user_errors():
        match = _match(join, link, fields, threshold)
        (counts,), labels = _secure(
            "cross-table", party, match, crosstab.statistic, helper, accuracy, where=where,
            categorical=(rows, cols), rows=rows, cols=cols, min_cell=min_cell,
        )  # fmt: skip
    cells = crosstab.records(counts, labels[rows], labels[cols])
    grid = pd_crosstab_text(cells, rows, cols)
    _emit({"counts": cells}, format, grid)


@local.command("describe")
def local_describe(
    party: PartyOption,
    columns: Annotated[str, typer.Option(help="Numeric columns, comma-separated.")],
    min_count: Annotated[
        int, typer.Option(min=0, help="Release nothing about a column counted on fewer.")
    ] = 10,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = "fast",
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Count, mean, standard deviation and quartiles of numeric columns (joined patients)."""
    from tessera.analyses import describe

    with user_errors():
        match = _match(join, link, fields, threshold)
        names = _columns(columns, "--columns")
        (result,), _ = _secure(
            "description", party, match, describe.statistic, helper, accuracy, where=where,
            numeric=names, columns=names, min_count=min_count,
        )  # fmt: skip
    summary = describe.records(result, names)
    hidden = f"<{min_count}"
    lines = [f"{'column':<24}" + "".join(f"{f:>10}" for f in describe.FIELDS)] + [
        f"{c:<24}" + "".join(f"{hidden if v is None else _figure(v):>10}" for v in figures.values())
        for c, figures in summary.items()
    ]
    _emit({"columns": summary}, format, "\n".join(lines))


def _figure(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


@local.command("histogram")
def local_histogram(
    party: PartyOption,
    column: Annotated[str, typer.Option(help="Numeric column.")],
    edges: Annotated[str, typer.Option(help="Bin edges, increasing, comma-separated.")],
    min_cell: MinCellOption = 10,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = "fast",
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Counts of a numeric column in public bins [lower, upper); the last bin is closed."""
    from tessera.analyses import describe

    with user_errors():
        match = _match(join, link, fields, threshold)
        bounds = _edges(edges)
        (counts,), _ = _secure(
            "histogram", party, match, describe.histogram, helper, accuracy, where=where,
            numeric=(column,), column=column, edges=bounds, min_cell=min_cell,
        )  # fmt: skip
    bins = describe.histogram_records(counts, bounds)
    lines = [
        f"[{lo:g}, {hi:g}{']' if i == len(bins) - 1 else ')'}"
        f"{'<' + str(min_cell) if n is None else n:>12}"
        for i, (lo, hi, n) in enumerate(bins)
    ]
    _emit({"column": column, "bins": bins}, format, "\n".join(lines))


def _edges(text: str) -> tuple[float, ...]:
    try:
        bounds = tuple(float(e) for e in text.split(","))
    except ValueError:
        raise ValueError(f"--edges {text!r}: write increasing numbers such as 0,12,24,60") from None
    increasing = all(b > a for a, b in itertools.pairwise(bounds))
    if len(bounds) < 2 or not increasing or not all(map(math.isfinite, bounds)):
        raise ValueError(f"--edges {text!r}: give at least two increasing, finite numbers")
    return bounds


@local.command("kaplan-meier")
def local_kaplan_meier(
    party: PartyOption,
    time: TimeOption,
    event: EventOption,
    by: Annotated[str | None, typer.Option(help="Group column; may sit at another party.")] = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = "fast",
    plot: PlotOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Kaplan-Meier curves (with Greenwood limits) by group, and the log-rank test."""
    from tessera.analyses import survival
    from tessera.analyses.results import KaplanMeierResult

    with user_errors():
        match = _match(join, link, fields, threshold)
        outputs, labels = _secure(
            "Kaplan-Meier", party, match, survival.statistic, helper, accuracy, where=where,
            numeric=(time, event), categorical=(by,) if by else (), order_by=time,
            time=time, event=event, group=by,
        )  # fmt: skip
        levels = labels[by] if by else ["all"]
        curves = survival.from_counts(*outputs, levels)
        if not any(len(c) for c in curves.values()):
            raise ValueError("no patient is in every party's data: nothing to estimate")
        test = survival.logrank(outputs[0], outputs[2], outputs[3]) if by else None
        result = KaplanMeierResult(curves, test)
    _finish(result, format, plot)


@local.command("logistic")
def local_logistic(
    party: PartyOption,
    target: Annotated[str, typer.Option(help="Binary outcome column (0/1).")],
    features: Annotated[str, typer.Option(help="Numeric feature columns, comma-separated.")],
    l2: Annotated[float, typer.Option(min=0.0, help="L2 penalty on the coefficients.")] = 0.0,
    iterations: Annotated[int, typer.Option(min=1, help="Newton iterations.")] = 8,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = "fast",
    plot: PlotOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Logistic regression (Newton's method) with standard errors, on the joined patients."""
    from tessera.analyses import logistic
    from tessera.analyses.results import RegressionResult

    with user_errors():
        match = _match(join, link, fields, threshold)
        names = _columns(features, "--features")
        outputs, _ = _secure(
            "logistic regression", party, match, logistic.statistic, helper, accuracy, where=where,
            numeric=(target, *names), target=target, features=names, iterations=iterations,
            l2=l2,
        )  # fmt: skip
        result = RegressionResult.from_records(logistic.records(*outputs, names), hazard=False)
    _finish(result, format, plot)


@local.command("cox")
def local_cox(
    party: PartyOption,
    time: TimeOption,
    event: EventOption,
    covariates: Annotated[str, typer.Option(help="Numeric covariates, comma-separated.")],
    ties: Annotated[str, typer.Option(help="efron (as lifelines and R) or breslow.")] = "efron",
    iterations: Annotated[int, typer.Option(min=1, help="Newton iterations.")] = 8,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: Annotated[
        str, typer.Option(help="fast or precise; precise keeps small coefficients within 1e-3.")
    ] = "precise",
    plot: PlotOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Cox proportional hazards with standard errors and log-likelihood."""
    from tessera.analyses import cox
    from tessera.analyses.results import RegressionResult

    with user_errors():
        match = _match(join, link, fields, threshold)
        if ties not in ("efron", "breslow"):
            raise ValueError(f"--ties {ties!r}: use efron or breslow")
        names = _columns(covariates, "--covariates")
        outputs, _ = _secure(
            "Cox model", party, match, cox.statistic, helper, accuracy, where=where,
            numeric=(time, event, *names), order_by=time, time=time, event=event,
            covariates=names, ties=ties, iterations=iterations,
        )  # fmt: skip
        record = cox.records(*outputs, names)
        if record["events"] == 0:
            raise ValueError("no events among the joined patients: a Cox model needs events")
        result = RegressionResult.from_records(record, hazard=True)
    _finish(result, format, plot)


def pd_crosstab_text(cells: list[list], rows: str, cols: str) -> str:
    """The cells as a grid; suppressed cells show as '<min'."""
    import pandas as pd

    shown = [[r, c, "<min" if n is None else str(n)] for r, c, n in cells]
    frame = pd.DataFrame(shown, columns=[rows, cols, "n"])
    return frame.pivot(index=rows, columns=cols, values="n").to_string()
