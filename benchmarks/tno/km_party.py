"""One party of TNO's Kaplan-Meier / log-rank protocol, `tno.mpc.protocols.kaplan_meier`.

Runs inside the venv that `benchmarks/bench_tno.py` builds (it pins numpy<2 and MPyC 0.7, so
it cannot share the project's venv) and never imports tessera. Three processes make one run,
started the way MPyC starts local parties, each with its own index:

    python km_party.py --role alice  --data DIR --http 8080,8081 --result a.json -M3 -I0 -B 11365
    python km_party.py --role bob    --data DIR --http 8080,8081 --result b.json -M3 -I1 -B 11365
    python km_party.py --role helper --data DIR --http 8080,8081 --result h.json -M3 -I2 -B 11365

Alice holds `time` and `event` (DIR/alice.csv), Bob the group as one-hot columns (DIR/bob.csv),
the helper holds nothing. Bob sends Alice the Paillier-encrypted group columns over the
tool's HTTP pool (ports from --http, on 127.0.0.1); the rest runs in MPyC among all three.
Only the log-rank statistic is revealed: the protocol does not output the Kaplan-Meier curves.

Each party writes a JSON file: its role, the seconds spent importing the tool (which includes
the 2,048-bit Paillier key that Bob's default argument generates at import, in every party),
the seconds for the protocol, bytes it sent over the HTTP pool, the tool's progress messages
with their times (seconds since the process began) and, for every party, the revealed
chi-square statistic and p-value.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from importlib.metadata import version
from pathlib import Path

import pandas as pd


class Progress(logging.Handler):
    """Keeps the protocol's own progress messages with their time since `started`."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.events: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append((round(time.perf_counter() - self.started, 3), record.getMessage()))


def main() -> None:
    started = time.perf_counter()
    # Importing MPyC parses its own options (-M, -I, -B) and removes them from sys.argv.
    from mpyc.runtime import mpc
    from tno.mpc.communication import Pool
    from tno.mpc.protocols.kaplan_meier import Alice, Bob, Helper

    imported = time.perf_counter()

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("alice", "bob", "helper"), required=True)
    parser.add_argument("--data", type=Path, required=True, help="folder with alice/bob.csv")
    parser.add_argument("--http", required=True, help="HTTP pool ports of alice,bob")
    parser.add_argument("--result", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args()
    ports = dict(zip(("alice", "bob"), map(int, args.http.split(",")), strict=True))

    pool = None
    if args.role == "helper":
        player = Helper("helper")
    else:
        pool = Pool()
        pool.add_http_server(port=ports[args.role], addr="127.0.0.1")
        other = "bob" if args.role == "alice" else "alice"
        pool.add_http_client(other, "127.0.0.1", port=ports[other])
        data = pd.read_csv(args.data / f"{args.role}.csv")
        if args.role == "alice":
            player = Alice(identifier="alice", data=data, pool=pool)
        else:
            player = Bob(identifier="bob", data=data, pool=pool)

    progress = Progress(started)
    logging.getLogger(args.role).addHandler(progress)  # the logger the tool's party writes to
    begun = time.perf_counter()
    mpc.run(player.run_protocol())  # on MPyC's own event loop
    finished = time.perf_counter()
    sent = 0
    if pool is not None:
        sent = sum(handler.total_bytes_sent for handler in pool.pool_handlers.values())
        mpc.run(pool.shutdown())

    result = {
        "role": args.role,
        "mpyc_pid": mpc.pid,
        "chi2": float(player.statistic.test_statistic),
        "p": float(player.statistic.p_value),
        "import_s": imported - started,
        "protocol_s": finished - begun,
        "protocol_end_s": finished - started,
        "http_bytes_sent": sent,
        "progress": progress.events,
        "versions": {
            name: version(name)
            for name in ("tno.mpc.protocols.kaplan_meier", "mpyc", "numpy", "gmpy2")
        },
    }
    args.result.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
