"""Run every benchmark module (or those named on the command line) and record the figures.

    python -m benchmarks            # all
    python -m benchmarks synth      # only benchmarks/bench_synth.py

Each module exposes `run() -> list[dict]`; rows are printed as a table and written to
benchmarks/results/<module>.json together with the machine and the command line.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> None:
    modules = names or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    for name in modules:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        rows = module.run()
        record = {
            "benchmark": name,
            "command": f"python -m benchmarks {name}",
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "seconds": round(time.perf_counter() - started, 1),
            "rows": rows,
        }
        (HERE / "results" / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"\n## {name}\n")
        columns = list(rows[0])
        print("| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for row in rows:
            print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
