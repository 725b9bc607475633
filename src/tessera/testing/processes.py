"""A federation on this machine, each party its own process: what `tessera demo`, the
federation tests and the platform benchmark run.

A hub and four stations (cancer registry, GP network, survey programme, and a helper that
holds no data) start on localhost with a synthetic NSCLC cohort split between them; the
operator invites everyone and the stations and users enrol with their own keys. Files stay
in `DIR/hub/`, `DIR/stations/NAME/`, `DIR/users/NAME/` and `DIR/operator/`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tessera.audit.ledger import genesis_entry
from tessera.client import Client
from tessera.crypto.keys import Identity
from tessera.mpc.gate import free_ports
from tessera.protocol.enrolment import enrol
from tessera.station.config import StationConfig

MARK = ".tessera-demo"  # a work directory the demo made, and may clear on the next run
STATIONS = {  # station -> (organisation, dataset it holds or None)
    "registry": ("Cancer registry", "registry"),
    "gp": ("GP network", "gp"),
    "survey": ("Quality-of-life survey", "survey"),
    "helper": ("Independent helper", None),
}
STEWARDS = {f"steward-{name}": organisation for name, (organisation, _) in STATIONS.items()}
RESEARCHER = "researcher"


@dataclass
class Running:
    """The demo's running processes and the paths of their files."""

    workdir: Path
    hub_url: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def restart(self, name: str) -> None:
        """Start station `name` again from its files, after it was stopped."""
        directory = self.workdir / "stations" / name
        arguments = ["station", "start", "--config", str(directory / "station.yaml")]
        self.processes[name] = start(name, arguments, directory / "station.log")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _prepare(workdir: Path) -> None:
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARK).exists():
            raise ValueError(f"{workdir} is not empty and not a demo's: choose another --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARK).write_text("made by tessera demo; cleared by its next run\n")


def start(name: str, arguments: list[str], log: Path) -> subprocess.Popen:
    """A party as its own process, its output in its own log file."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tessera", *arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # stopped as one group, with its MPC party processes
        )


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub stopped at start (exit {process.returncode}); see its log")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the hub did not answer at {url} within {seconds:.0f} s")


def _wait_for_stations(client: Client, running: Running, seconds: float = 120) -> None:
    """Until every station has published its datasets (it does so when it starts)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stations = client.stations()
        if len(stations) == len(STATIONS) and stations["seen"].notna().all():
            return
        stopped = [n for n in STATIONS if running.processes[n].poll() is not None]
        if stopped:
            raise RuntimeError(f"station {stopped[0]} stopped at start; see its station.log")
        time.sleep(0.2)
    raise RuntimeError(f"the stations did not all start within {seconds:.0f} s")


@contextmanager
def federation(
    workdir: Path, patients: int, seed: int, say: Callable[[str], None], **station_settings
) -> Iterator[tuple[Running, dict[str, Client]]]:
    """Start a hub and the four stations, enrol everyone; yield the federation and the
    users' clients (operator, stewards, researcher). Stops every process on the way out."""
    from tessera.synth import generate

    _prepare(workdir)
    hub_port, *station_ports = free_ports(1 + len(STATIONS))
    running = Running(workdir, f"http://127.0.0.1:{hub_port}")
    clients: dict[str, Client] = {}
    try:
        say(f"generating {patients:,} synthetic NSCLC patients")
        cohort = generate("nsclc", patients, seed=seed, pseudonyms=True)
        operator = Identity.generate("operator")
        operator.save(workdir / "operator" / "identity")
        genesis = workdir / "operator" / "genesis.jsonl"
        genesis.write_text(genesis_entry(operator).line() + "\n")
        hub_dir = workdir / "hub"
        hub_dir.mkdir(mode=0o700)
        say(f"starting the hub at {running.hub_url}")
        running.processes["hub"] = start(
            "hub",
            [
                "hub",
                "start",
                "--dir",
                str(hub_dir),
                "--port",
                str(hub_port),
                "--genesis",
                str(genesis),
            ],
            hub_dir / "hub.log",
        )
        _wait_for(running.hub_url, running.processes["hub"])
        clients["operator"] = Client(running.hub_url, operator)
        for (name, (organisation, dataset)), port in zip(
            STATIONS.items(), station_ports, strict=True
        ):
            token = clients["operator"].invite(name, "station", organisation)
            directory = workdir / "stations" / name
            directory.mkdir(parents=True)
            datasets = {}
            if dataset is not None:
                datasets[dataset] = directory / f"{dataset}.parquet"
                getattr(cohort, dataset).to_parquet(datasets[dataset], index=False)
            enrol(running.hub_url, token, directory)
            config = StationConfig(
                directory=directory,
                hub=running.hub_url,
                address=f"127.0.0.1:{port}",
                datasets=datasets,
                **station_settings,
            ).write()
            running.processes[name] = start(
                name, ["station", "start", "--config", str(config)], directory / "station.log"
            )
        say(f"started {len(STATIONS)} stations: {', '.join(STATIONS)}")
        for user, organisation in [*STEWARDS.items(), (RESEARCHER, "University hospital")]:
            role = "researcher" if user == RESEARCHER else "steward"
            token = clients["operator"].invite(user, role, organisation)
            directory = workdir / "users" / user
            clients[user] = Client(running.hub_url, enrol(running.hub_url, token, directory))
        say(f"enrolled {len(STEWARDS)} data stewards and a researcher")
        _wait_for_stations(clients[RESEARCHER], running)
        yield running, clients
    finally:
        for client in clients.values():
            client.close()
        running.stop()
