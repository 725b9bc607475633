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
    """Check signatures, the hash chain and who may write what (roles, approvals before
    tasks, recipients); exit 1 naming the first bad entry."""
    from tessera.audit import LedgerError, compare, read
    from tessera.governance.studies import Federation

    def fail(path: Path, reason: object) -> NoReturn:
        err.print(f"tampered: {path}: {reason}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1)

    def checked(path: Path) -> tuple[list, str]:
        try:
            entries = read(path)
            return entries, Federation.replay(entries, operator).head
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


def _hub_of(directory: Path, hub: str | None) -> str:
    """The hub URL given, else the one the identity in `directory` enrolled with."""
    if hub:
        return hub
    saved = directory / "hub"
    if not saved.exists():
        raise ValueError(f"{directory} has no hub on record: pass --hub URL")
    return saved.read_text().strip()


def _client(directory: Path, hub: str | None):
    from tessera.client import Client

    return Client(_hub_of(directory, hub), directory / "identity")


@contextmanager
def hub_errors() -> Iterator[None]:
    """`user_errors`, plus the hub's refusals, as one line each."""
    from tessera.client import HubError, TaskFailed

    with user_errors():
        try:
            yield
        except (HubError, TaskFailed) as error:
            raise ValueError(str(error)) from None


IdentityDir = Annotated[Path, typer.Option("--as", help="Your identity directory (from enrol).")]
HubUrl = Annotated[str | None, typer.Option("--hub", help="The hub's URL (default: enrolled).")]

operator_app = typer.Typer(help="Run the federation: its genesis and its invitations.")
app.add_typer(operator_app, name="operator")


@operator_app.command("init")
def operator_init(
    dir: Annotated[Path, typer.Option(help="Directory for the operator's identity.")],
    hub: Annotated[str, typer.Option(help="The hub's URL.")],
) -> None:
    """Create the operator's keys and the ledger's genesis entry (give it to `hub start`)."""
    from tessera.audit.ledger import genesis_entry
    from tessera.crypto.keys import Identity, fingerprint

    with user_errors():
        operator = Identity.generate("operator")
        operator.save(dir / "identity")
        (dir / "hub").write_text(hub + "\n")
        (dir / "genesis.jsonl").write_text(genesis_entry(operator).line() + "\n")
    print(f"genesis: {dir / 'genesis.jsonl'} (operator {fingerprint(operator.public.signing)})")


@operator_app.command("invite")
def operator_invite(
    name: Annotated[str, typer.Option(help="The party's name, e.g. registry or alice.")],
    role: Annotated[str, typer.Option(help="station, steward, researcher or auditor.")],
    organisation: Annotated[str, typer.Option(help="The organisation the party belongs to.")],
    identity: IdentityDir,
    hub: HubUrl = None,
) -> None:
    """Invite a party; print the one-time enrolment token to hand to it."""
    with hub_errors(), _client(identity, hub) as client:
        print(client.invite(name, role, organisation))


hub_app = typer.Typer(help="The hub: coordinates studies and tasks, and can read nothing.")
app.add_typer(hub_app, name="hub")


@hub_app.command("start")
def hub_start(
    dir: Annotated[Path, typer.Option(help="The hub's directory (token key, SQLite file).")],
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in DIR).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    genesis: Annotated[
        Path | None, typer.Option(help="The operator's genesis entry (first start only).")
    ] = None,
) -> None:
    """Serve the hub's API (OpenAPI at /docs) and pages until stopped."""
    import uvicorn

    from tessera.hub.app import create_app

    with user_errors():
        dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        url = db or f"sqlite:///{dir.resolve() / 'hub.db'}"
        first = genesis.read_text().strip() if genesis else None
        hub = create_app(url, dir, first)
    uvicorn.run(hub, host=host, port=port, log_level="warning")


@app.command()
def enrol(
    hub: Annotated[str, typer.Option(help="The hub's URL.")],
    token: Annotated[str, typer.Option(help="The one-time token from the operator.")],
    dir: Annotated[Path, typer.Option(help="Directory for your new identity.")],
) -> None:
    """Join as a user (steward, researcher, auditor): keys made here, never sent."""
    from tessera.station.enrol import enrol as join

    with hub_errors():
        identity = join(hub, token, dir)
        (dir / "hub").write_text(hub + "\n")
    print(f"enrolled {identity.name}; identity in {dir / 'identity'}")


station_app = typer.Typer(help="A station: next to the data, runs approved tasks.")
app.add_typer(station_app, name="station")


@station_app.command("enrol")
def station_enrol(
    hub: Annotated[str, typer.Option(help="The hub's URL.")],
    token: Annotated[str, typer.Option(help="The one-time token from the operator.")],
    dir: Annotated[Path, typer.Option(help="The station's directory.")],
    address: Annotated[str, typer.Option(help="HOST:PORT where peers reach its MPC port.")],
    dataset: Annotated[
        list[str] | None, typer.Option(help="NAME=PATH of a dataset (CSV or Parquet).")
    ] = None,
) -> None:
    """Enrol a station: keys and TLS certificate made here; writes DIR/station.yaml."""
    from tessera.station.daemon import StationConfig
    from tessera.station.enrol import enrol as join

    with hub_errors():
        datasets = {n: Path(p).resolve() for n, p in _parties(dataset or []).items()}
        identity = join(hub, token, dir, host=address.rsplit(":", 1)[0])
        path = StationConfig(dir.resolve(), hub, address, datasets).write()
    print(f"enrolled station {identity.name}; configuration in {path}")


@station_app.command("start")
def station_start(
    config: Annotated[Path, typer.Option(help="The station's station.yaml.")],
) -> None:
    """Run the station until stopped: decide on tasks, run approved ones."""
    import logging

    from tessera.station.daemon import Station, StationConfig

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll says nothing
    with hub_errors():
        station = Station(StationConfig.load(config))
    station.serve()


study_app = typer.Typer(help="Decide on studies (data stewards).")
app.add_typer(study_app, name="study")


@study_app.command("approve")
def study_approve(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    identity: IdentityDir,
    reason: Annotated[str, typer.Option(help="A note for the record.")] = "",
    hub: HubUrl = None,
) -> None:
    """Approve a study for your organisation's stations (a signed ledger entry)."""
    with hub_errors(), _client(identity, hub) as client:
        client.approve(study, reason)
    print(f"approved {study}")


@study_app.command("refuse")
def study_refuse(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    reason: Annotated[str, typer.Option(help="Why: the researcher sees it.")],
    identity: IdentityDir,
    hub: HubUrl = None,
) -> None:
    """Refuse a study for your organisation's stations, with a reason."""
    with hub_errors(), _client(identity, hub) as client:
        client.refuse(study, reason)
    print(f"refused {study}")


@app.command()
def login(identity: IdentityDir, hub: HubUrl = None) -> None:
    """Print a one-time link that signs your browser in to the hub's pages."""
    with hub_errors(), _client(identity, hub) as client:
        print(client.sign_in_link())


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Keep the hub's and stations' files here.")] = Path(
        "build/demo"
    ),
    patients: Annotated[int, typer.Option(min=500, help="Synthetic NSCLC patients.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed of the cohort.")] = 7,
) -> None:
    """A federation on this machine: hub and four stations as processes, a study, results."""
    from tessera.demo import run_demo

    with hub_errors():
        run_demo(workdir, patients, seed)


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
    float, typer.Option(min=0.0, help="With --horizontal: width of the public time bins.")
]
HorizonOption = Annotated[
    float | None,
    typer.Option(help="With --horizontal: follow-up is censored here (needed with noise)."),
]
IterationsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Newton iterations (default 8; with --horizontal, to convergence without noise "
        "and 5 with noise, each a round that spends budget).",
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


def _epsilon(text: str) -> float:
    """`--epsilon`: a positive number, or inf (no noise), which only local mode accepts."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--epsilon {text!r}: give a positive number or inf") from None
    if not value > 0:
        raise ValueError(f"--epsilon {text!r}: must be positive (or inf for no noise)")
    return value


def _horizontal(party: list[str], threshold: int | None, **refused) -> tuple[dict, object]:
    """The registries' tables by name, and the aggregation among them (key generated)."""
    from tessera.analyses.horizontal import Aggregation
    from tessera.analyses.queries import registries
    from tessera.sources.readers import read_file

    given = [f"--{k.replace('_', '-')}" for k, v in refused.items() if v]
    if given:
        raise ValueError(f"{', '.join(given)} do not apply with --horizontal")
    frames = {name: read_file(Path(path)) for name, path in _parties(party).items()}
    with err.status("generating the registries' collective key"):
        return frames, Aggregation(registries(frames), threshold)


def _fit(name: str, party: list[str], threshold: int | None, options: dict, epsilon: str,
         **refused) -> object:  # fmt: skip
    """A model over the registries, round by round, with a progress bar."""
    from rich.progress import Progress

    from tessera.analyses import fits
    from tessera.analyses.horizontal import Noise

    noise = Noise(_epsilon(epsilon))
    frames, aggregation = _horizontal(party, threshold, **refused)
    with Progress(console=err, transient=True) as bar:
        shown = bar.add_task("Newton rounds over the registries", total=None)

        def progress(number: int, rounds: int) -> None:
            bar.update(shown, completed=number, total=rounds)

        return fits.fit(name, frames, options, noise, aggregation, progress)


def _clip(specs: list[str] | None) -> dict[str, list[float]]:
    """`--clip COLUMN=LOW,HIGH`, repeated."""
    bounds: dict[str, list[float]] = {}
    for spec in specs or []:
        name, sep, text = spec.partition("=")
        try:
            low, high = (float(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"--clip {spec!r}: write COLUMN=LOW,HIGH") from None
        if not sep or not name:
            raise ValueError(f"--clip {spec!r}: write COLUMN=LOW,HIGH")
        bounds[name] = [low, high]
    return bounds


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


def _catalogued(name: str, party: list[str], match: dict, helper: bool, accuracy: str,
                where: str | None, options: dict):  # fmt: skip
    """Run a catalogue analysis (`tessera.analyses.catalogue`) and build its result."""
    from tessera.analyses.catalogue import analysis

    entry = analysis(name)
    columns, arguments = entry.columns(options), entry.arguments(options)
    outputs, labels = _secure(
        name, party, match, entry.statistic, helper, accuracy, where=where, **columns, **arguments
    )
    return entry.result(outputs, labels, options)


def _emit(result: dict, format: Format, table: str) -> None:
    print(json.dumps(result, indent=1) if format is Format.json else table)


def _finish(result, format: Format, plot: Path | None) -> None:
    """Print a result object as JSON or its summary; save its plot if asked."""
    if plot is not None:
        result.plot().figure.savefig(plot, dpi=120, bbox_inches="tight")
    _emit(result.to_dict(), format, str(result))


@local.command("query")
def local_query(
    party: PartyOption,
    count: Annotated[bool, typer.Option("--count", help="Count patients (the default).")] = False,
    histogram: Annotated[
        str | None, typer.Option(help="Count a numeric column's values in --bins instead.")
    ] = None,
    mean: Annotated[
        str | None, typer.Option(help="Sum and average a numeric column within --bounds.")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Columns to count by, comma-separated, e.g. stage,sex.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help="Count only rows where this holds, e.g. 'morphology in (\"8140/3\",)'."),
    ] = None,
    bins: Annotated[
        str | None, typer.Option(help="With --histogram: LOW..HIGH/WIDTH or A,B,C edges.")
    ] = None,
    quantiles: Annotated[
        str | None, typer.Option(help="With --histogram: e.g. 0.25,0.5,0.75, from the bins.")
    ] = None,
    bounds: Annotated[
        str | None, typer.Option(help="With --mean: LOW,HIGH; values are clipped to them.")
    ] = None,
    resolution: Annotated[
        float, typer.Option(min=0.0, help="With --mean: values are rounded to this.")
    ] = 0.25,
    epsilon: EpsilonOption = "1.0",
    min_cell: MinCellOption = 10,
    levels: LevelsOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
    plot: PlotOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Counts, histograms or means across registries that share one schema, none
    revealing its own figures.

    Each registry encrypts its aggregate (plus its share of the noise) under a key the
    registries generated together; the sums are tested for small cells without being
    decrypted and then re-encrypted to you alone. `--epsilon inf` and `--min-cell 0`
    switch noise and suppression off; only local mode accepts them."""
    from tessera.analyses.horizontal import Noise
    from tessera.analyses.queries import parse_edges, parse_levels, pooled

    with user_errors():
        chosen = [flag for flag, on in (("--count", count), ("--histogram", histogram),
                                        ("--mean", mean)) if on]  # fmt: skip
        if len(chosen) > 1:
            raise ValueError(f"ask one query at a time, not {' and '.join(chosen)}")
        noise = Noise(_epsilon(epsilon))
        columns = list(_columns(by, "--by")) if by is not None else []
        common = {"by": columns, "where": where, "min_cell": min_cell,
                  "levels": parse_levels(levels or [])}  # fmt: skip
        if histogram:
            if not bins:
                raise ValueError("--histogram needs --bins LOW..HIGH/WIDTH")
            qs = [float(q) for q in _columns(quantiles, "--quantiles")] if quantiles else []
            name, options = "histogram", {**common, "column": histogram,
                                          "edges": parse_edges(bins), "quantiles": qs}  # fmt: skip
        elif mean:
            if not bounds:
                raise ValueError("--mean needs --bounds LOW,HIGH (its values are clipped there)")
            limits = [float(b) for b in _columns(bounds, "--bounds")]
            name, options = "mean", {**common, "column": mean, "bounds": limits,
                                     "resolution": resolution}  # fmt: skip
        else:
            name, options = "counts", common
        frames, aggregation = _horizontal(party, decrypt_threshold)
        with err.status(f"{name} across the registries"):
            result = pooled(name, frames, options, noise, aggregation)
    _finish(result, format, plot)


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
    with user_errors():
        match = _match(join, link, fields, threshold)
        options = {"rows": rows, "cols": cols, "min_cell": min_cell}
        result = _catalogued("crosstab", party, match, helper, accuracy, where, options)
    _finish(result, format, None)


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
    horizontal: HorizontalOption = False,
    time_step: TimeStepOption = 1.0,
    horizon: HorizonOption = None,
    epsilon: EpsilonOption = "inf",
    levels: LevelsOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
) -> None:
    """Kaplan-Meier curves (with Greenwood limits) by group, and the log-rank test."""
    from tessera.analyses import queries
    from tessera.analyses.horizontal import Noise

    with user_errors():
        if horizontal:
            noise = Noise(_epsilon(epsilon))
            frames, aggregation = _horizontal(party, decrypt_threshold, helper=helper,
                                              join=join, link=link)  # fmt: skip
            with err.status("pooling the registries' events per time bin"):
                result = queries.kaplan_meier(frames, time, event, by, where, time_step, horizon,
                                              noise, queries.parse_levels(levels or []),
                                              aggregation)  # fmt: skip
        else:
            match = _match(join, link, fields, threshold)
            options = {"time": time, "event": event, "by": by}
            result = _catalogued("kaplan-meier", party, match, helper, accuracy, where, options)
    _finish(result, format, plot)


@local.command("logistic")
def local_logistic(
    party: PartyOption,
    target: Annotated[str, typer.Option(help="Binary outcome column (0/1).")],
    features: Annotated[str, typer.Option(help="Numeric feature columns, comma-separated.")],
    l2: Annotated[float, typer.Option(min=0.0, help="L2 penalty on the coefficients.")] = 0.0,
    iterations: IterationsOption = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = "fast",
    plot: PlotOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
    horizontal: HorizontalOption = False,
    epsilon: EpsilonOption = "inf",
    clip: ClipOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
) -> None:
    """Logistic regression (Newton's method) with standard errors, on the joined patients.

    With --horizontal: on the registries' pooled gradients, round by round."""
    with user_errors():
        chosen = _columns(features, "--features")
        if horizontal:
            options = {"target": target, "features": chosen, "where": where, "l2": l2,
                       "clip": _clip(clip), "iterations": iterations}  # fmt: skip
            result = _fit("logistic", party, decrypt_threshold, options, epsilon,
                          helper=helper, join=join, link=link)  # fmt: skip
        else:
            match = _match(join, link, fields, threshold)
            options = {"target": target, "features": chosen, "iterations": iterations or 8,
                       "l2": l2}  # fmt: skip
            result = _catalogued("logistic", party, match, helper, accuracy, where, options)
    _finish(result, format, plot)


@local.command("cox")
def local_cox(
    party: PartyOption,
    time: TimeOption,
    event: EventOption,
    covariates: Annotated[str, typer.Option(help="Numeric covariates, comma-separated.")],
    ties: Annotated[
        str | None,
        typer.Option(help="efron (as lifelines and R; the default) or breslow (--horizontal)."),
    ] = None,
    iterations: IterationsOption = None,
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
    horizontal: HorizontalOption = False,
    time_step: TimeStepOption = 1.0,
    horizon: HorizonOption = None,
    epsilon: EpsilonOption = "inf",
    clip: ClipOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
) -> None:
    """Cox proportional hazards with standard errors and log-likelihood.

    With --horizontal: Breslow's ties on the public time bins (--time-step), round by
    round on the registries' pooled risk-set sums."""
    with user_errors():
        chosen = _columns(covariates, "--covariates")
        if horizontal:
            if ties not in (None, "breslow"):
                raise ValueError("--horizontal fits Breslow's ties: leave out --ties")
            options = {"time": time, "event": event, "covariates": chosen, "where": where,
                       "step": time_step, "horizon": horizon, "clip": _clip(clip),
                       "iterations": iterations}  # fmt: skip
            result = _fit("cox", party, decrypt_threshold, options, epsilon,
                          helper=helper, join=join, link=link)  # fmt: skip
        else:
            match = _match(join, link, fields, threshold)
            options = {"time": time, "event": event, "covariates": chosen,
                       "ties": ties or "efron", "iterations": iterations or 8}  # fmt: skip
            result = _catalogued("cox", party, match, helper, accuracy, where, options)
    _finish(result, format, plot)
