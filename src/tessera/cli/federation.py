"""Commands of the federation's parties: the operator's genesis and invitations, the hub,
enrolment, the stations, the stewards' decisions, signing in, the demo, and checking the
audit ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from tessera.cli.options import HubUrl, IdentityDir, err, hub_errors, parties, user_errors

app = typer.Typer()

audit_app = typer.Typer(help="Check the audit ledger without trusting whoever keeps it.")
operator_app = typer.Typer(help="Run the federation: its genesis and its invitations.")
hub_app = typer.Typer(help="The hub: coordinates studies and tasks, and can read nothing.")
station_app = typer.Typer(help="A station: next to the data, runs approved tasks.")
study_app = typer.Typer(help="Decide on studies (data stewards).")
for group, name in ((audit_app, "audit"), (operator_app, "operator"), (hub_app, "hub"),
                    (station_app, "station"), (study_app, "study")):  # fmt: skip
    app.add_typer(group, name=name)


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


@audit_app.command("verify")
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


@operator_app.command("init")
def operator_init(
    dir: Annotated[Path, typer.Option(help="Directory for the operator's identity.")],
    hub: Annotated[str, typer.Option(help="The hub's URL.")],
) -> None:
    """Create the operator's keys and the ledger's genesis entry (give it to `hub start`)."""
    from tessera.audit.ledger import genesis_entry
    from tessera.crypto.keys import Identity, fingerprint

    with user_errors():
        identity = Identity.generate("operator")
        identity.save(dir / "identity")
        (dir / "hub").write_text(hub + "\n")
        (dir / "genesis.jsonl").write_text(genesis_entry(identity).line() + "\n")
    print(f"genesis: {dir / 'genesis.jsonl'} (operator {fingerprint(identity.public.signing)})")


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
        served = create_app(url, dir, first)
    uvicorn.run(served, host=host, port=port, log_level="warning")


@app.command()
def enrol(
    hub: Annotated[str, typer.Option(help="The hub's URL.")],
    token: Annotated[str, typer.Option(help="The one-time token from the operator.")],
    dir: Annotated[Path, typer.Option(help="Directory for your new identity.")],
) -> None:
    """Join as a user (steward, researcher, auditor): keys made here, never sent."""
    from tessera.protocol.enrolment import enrol as join

    with hub_errors():
        identity = join(hub, token, dir)
        (dir / "hub").write_text(hub + "\n")
    print(f"enrolled {identity.name}; identity in {dir / 'identity'}")


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
    from tessera.protocol.enrolment import enrol as join
    from tessera.station.config import StationConfig

    with hub_errors():
        datasets = {n: Path(p).resolve() for n, p in parties(dataset or []).items()}
        identity = join(hub, token, dir, host=address.rsplit(":", 1)[0])
        config = StationConfig(directory=dir.resolve(), hub=hub, address=address,
                               datasets=datasets)  # fmt: skip
        path = config.write()
    print(f"enrolled station {identity.name}; configuration in {path}")


@station_app.command("start")
def station_start(
    config: Annotated[Path, typer.Option(help="The station's station.yaml.")],
) -> None:
    """Run the station until stopped: decide on tasks, run approved ones."""
    import logging

    from tessera.station.config import StationConfig
    from tessera.station.daemon import Station

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll says nothing
    with hub_errors():
        running = Station(StationConfig.load(config))
    running.serve()


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
