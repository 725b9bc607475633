"""One party of secure logistic regression with TNO's `tno.mpc.mpyc.secure_learning`.

Runs inside the venv that `benchmarks/bench_tno.py` builds and never imports tessera. Three
processes make one run, started the way MPyC starts local parties, each with its own index:

    python logreg_party.py --data DIR --epochs 5 --result p0.json -M3 -I0 -B 11365
    python logreg_party.py --data DIR --epochs 5 --result p1.json -M3 -I1 -B 11365
    python logreg_party.py --data DIR --epochs 5 --result p2.json -M3 -I2 -B 11365

DIR/meta.json is public: the number of (already aligned) rows, the target and which columns
each party holds. Party i reads DIR/party{i}.csv if meta.json gives it columns (party 0: the
registry, target and its features; party 1: the GP's features; party 2 only computes) and
secret-shares them with `mpc.input`. The model is the tool's `Logistic` with its defaults
(exact logistic function unless --sigmoid approx, no penalty, accelerated full-batch gradient
descent with step 1 / max_i |x_i|^2 unless --eta0 gives one); it stops after --epochs epochs or
when the tool's own convergence test passes.

Every party writes a JSON file: the revealed coefficients (intercept first, then the features
in meta.json order), the epochs run, and seconds for import, input sharing, training and each
epoch.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import warnings
from importlib.metadata import version
from pathlib import Path


def main() -> None:
    started = time.perf_counter()
    # Importing MPyC parses its own options (-M, -I, -B) and removes them from sys.argv.
    from mpyc.runtime import mpc
    from tno.mpc.mpyc.secure_learning import ExponentiationTypes, Logistic, SolverTypes

    imported = time.perf_counter()

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with meta.json")
    parser.add_argument("--epochs", type=int, required=True, help="at most this many epochs")
    parser.add_argument(
        "--sigmoid",
        choices=("exact", "approx"),
        default="exact",
        help="the tool's exact logistic function or its piecewise-linear approximation",
    )
    parser.add_argument("--eta0", type=float, help="step size (default: the tool's own)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="tool's stop criterion")
    parser.add_argument("--result", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args()
    meta = json.loads((args.data / "meta.json").read_text())
    rows = meta["rows"]
    secfxp = mpc.SecFxp(l=64, f=32)  # what TNO's examples and tests use

    mpc.run(mpc.start())
    begun = time.perf_counter()
    columns = {}  # feature or target name -> list of secret-shared values
    for owner, names in enumerate(meta["columns"]):
        mine = []
        if owner == mpc.pid and names:
            with (args.data / f"party{owner}.csv").open() as handle:
                table = list(csv.DictReader(handle))
            mine = [[float(row[name]) for row in table] for name in names]
        for position, name in enumerate(names):
            values = mine[position] if mine else [None] * rows
            columns[name] = mpc.input([secfxp(v) for v in values], senders=owner)
    features = [name for names in meta["columns"] for name in names if name != meta["target"]]
    x = [list(row) for row in zip(*(columns[name] for name in features), strict=True)]
    y = [2 * v - 1 for v in columns[meta["target"]]]  # the tool wants labels in {-1, +1}
    mpc.run(mpc.barrier())
    shared = time.perf_counter()

    sigmoid = ExponentiationTypes[args.sigmoid.upper()]
    model = Logistic(solver_type=SolverTypes.GD, exponentiation=sigmoid)
    # The solver awaits its convergence test at the end of every epoch, so the moments at which
    # it starts building the next epoch's gradient step mark the epochs (the first also
    # includes the step size, a secure maximum over all rows).
    epoch_starts = []
    step = model.solver.inner_loop_calculation

    def timed_step(*args, **kwargs):
        epoch_starts.append(time.perf_counter())
        return step(*args, **kwargs)

    model.solver.inner_loop_calculation = timed_step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tool warns when it stops before converging
        coefficients = mpc.run(
            model.compute_coef_mpc(
                x, y, tolerance=args.tolerance, nr_maxiters=args.epochs, eta0=args.eta0
            )
        )
    trained = time.perf_counter()
    mpc.run(mpc.shutdown())

    result = {
        "party": mpc.pid,
        "coefficients": dict(zip(["const", *features], coefficients, strict=True)),
        "epochs": model.solver.nr_epochs,
        "rel_update_diff": model.solver.rel_update_diff,
        "import_s": imported - started,
        "share_s": shared - begun,
        "train_s": trained - shared,
        "epoch_s": [b - a for a, b in zip(epoch_starts, [*epoch_starts[1:], trained], strict=True)],
        "versions": {
            name: version(name)
            for name in ("tno.mpc.mpyc.secure_learning", "mpyc", "numpy", "gmpy2")
        },
    }
    args.result.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
