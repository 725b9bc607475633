"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, serve on a free port, remove.

The server binaries come from scripts/postgres.sh (Debian's postgresql package); the
Debian system cluster is never used, so tests need no service, password or manual step.
PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OS_USER = "postgres"  # the server's OS account when the tests run as root
USER = "tessera"
DATABASE = "tessera"
HINT = "run scripts/postgres.sh to install the PostgreSQL server binaries"


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the cluster did not start."""


def find_bin() -> Path:
    """The newest Debian PostgreSQL bin directory, else wherever `initdb` is on PATH."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if found:
        newest = max(found, key=lambda p: [int(n) for n in re.findall(r"\d+", p)])
        return Path(newest).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise PostgresUnavailable(f"no initdb found: {HINT}")
    return Path(initdb).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def temporary_cluster() -> Iterator[str]:
    """Yield a `postgresql+psycopg://` URL to an empty database on a fresh local cluster."""
    bindir = find_bin()
    as_user = _run_as()
    # Under root, /tmp so that the postgres user can reach it whatever TMPDIR says.
    home = Path(tempfile.mkdtemp(prefix="tessera-pg-", dir="/tmp" if as_user else None))
    try:
        if as_user:
            shutil.chown(home, user=OS_USER)
        data, log = home / "data", home / "server.log"
        initdb = [bindir / "initdb", "-D", data, "-U", USER, "-A", "trust", "-E", "UTF8"]
        _run([*as_user, *initdb, "--no-locale", "--no-sync"], home)
        port = _start(as_user, bindir, data, home, log)
        try:
            url = f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{DATABASE}"
            _create_database(port)
            yield url
        finally:
            _run([*as_user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_as() -> list[str]:
    """The command prefix that drops root for the `postgres` OS user (empty if not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root but there is no {OS_USER!r} user: {HINT}"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root but runuser (util-linux) is missing")
    return [runuser, "-u", OS_USER, "--"]


def _start(as_user: list[str], bindir: Path, data: Path, home: Path, log: Path) -> int:
    """Start on a free port; retry if another process took the port in the meantime."""
    for _ in range(3):
        port = free_port()
        options = (
            f"-p {port} -k {shlex.quote(str(home))} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        command = [*as_user, bindir / "pg_ctl", "-D", data, "-l", log, "-o", options]
        try:
            _run([*command, "-w", "-t", "30", "start"], home)
            return port
        except PostgresUnavailable:
            if "could not bind" not in _tail(log):
                raise
            time.sleep(0.1)
    raise PostgresUnavailable(f"no free port for PostgreSQL; server log:\n{_tail(log)}")


def _create_database(port: int) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=port, user=USER, dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def _run(command: list[str | Path], cwd: Path) -> None:
    """Run a server tool; on failure, raise with its output and the server log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        log = _tail(cwd / "server.log")
        raise PostgresUnavailable(
            f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}" + (f"\nserver log:\n{log}" if log else "")
        )


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
