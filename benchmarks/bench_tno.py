"""TNO's MPyC tools on the workloads of bench_vertical.py, for comparison with Tessera.

- `tno.mpc.protocols.kaplan_meier`: the log-rank test by COPD on vertically split data. Alice
  (the registry) holds survival time and event, Bob (the GP network) the COPD column; Bob
  sends Paillier-encrypted group indicators to Alice, and the statistic is finished in MPyC
  with a helper as third party. It reveals the chi-square statistic only, not the curves.
- `tno.mpc.mpyc.secure_learning`: logistic regression of unplanned admission on age, ECOG,
  Charlson index (registry: target, age, ECOG; GP: Charlson, COPD; a third party computes),
  by the tool's full-batch gradient descent, with its exact logistic function and with its
  piecewise-linear approximation.
- Cox regression: neither tool has it (nor does any other TNO package).

The tools pin numpy<2 and old MPyC, so each gets a venv of its own under benchmarks/.venvs/,
built on first use from the pinned lists in benchmarks/tno/ and reused afterwards. Each run is
three local processes started the MPyC way (`-M3 -I i`), running the small drivers in
benchmarks/tno/; data goes to them as CSV files and results come back as JSON.

The tools take rows that are already aligned across the parties: we hand them the joined
rows, so the private record linkage that Tessera's figures include is missing here, which
favours the tools. They are far slower than Tessera's engine, so they run on smaller cohorts
and few epochs; the rows marked "extrapolated" scale the measured costs up (the model is in
each row's notes) and are estimates, not measurements. Accuracy is against lifelines and
statsmodels on the same rows; the logistic runs are also compared with a NumPy replica of the
tool's own solver, which separates the error of secure arithmetic from that of stopping early;
the same replica counts the epochs the tool would need on the larger cohorts, with its default
step size and with a larger one that is safe for standardised features (its eta0 argument).
Timings vary run to run, and more when other work shares the host: each row notes the load.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines.statistics import multivariate_logrank_test

from benchmarks.tools import free_ports, last_line, start_party, stop_parties, timed, venv
from tessera.synth import generate

HERE = Path(__file__).parent
DRIVERS = HERE / "tno"
TIMEOUT = 600  # seconds for one three-process run

KM_PATIENTS = (1_000, 2_000, 4_000)
TIME, EVENT, GROUP = "survival_months", "vital_status", "copd"

TARGET = "unplanned_admission_90d"
REGISTRY_FEATURES = ("age_at_diagnosis", "ecog")
GP_FEATURES = ("charlson_index", "copd")
FEATURES = (*REGISTRY_FEATURES, *GP_FEATURES)
# (the tool's logistic function, patients, epochs)
LOGISTIC_RUNS = (("exact", 100, 2), ("exact", 300, 2), ("approx", 300, 2), ("approx", 1_000, 2))
WITHIN = 1e-3  # "converged": every coefficient within this of statsmodels (or of its limit)
REPLICA_EPOCHS = 10_000

EXTRAPOLATE = (10_000, 100_000)
COLUMNS = (
    "analysis",
    "data",
    "TNO, 3 processes (s)",
    "plaintext library (s)",
    "accuracy vs library",
    "notes",
)


def run() -> list[dict]:
    rows = []
    large = {patients: _cohort(patients) for patients in EXTRAPOLATE}
    try:
        python = venv("kaplan-meier", DRIVERS)
    except RuntimeError as error:
        rows.append(_row("log-rank by COPD (kaplan_meier)", "-", "failed", "-", "-", str(error)))
    else:
        rows += _kaplan_meier(python, large)
    try:
        python = venv("secure-learning", DRIVERS)
    except RuntimeError as error:
        rows.append(_row("logistic (secure_learning)", "-", "failed", "-", "-", str(error)))
    else:
        rows += _logistic(python, large)
    rows.append(
        _row(
            "Cox regression",
            "-",
            "not available",
            "-",
            "-",
            "neither tool fits a Cox model: secure_learning has linear, ridge, lasso, elastic "
            "net, logistic regression and SVM; kaplan_meier only the log-rank test",
        )
    )
    return rows


# Kaplan-Meier / log-rank


def _kaplan_meier(python: Path, large: dict) -> list[dict]:
    analysis = "log-rank by COPD (kaplan_meier)"
    rows, runs = [], []
    for patients in KM_PATIENTS:
        cohort, table = _cohort(patients)
        table = table[[TIME, EVENT, GROUP]].dropna()
        label = _label(patients, cohort, table, events=_event_times(table))
        try:
            measured, row = _kaplan_meier_run(python, table, analysis, label)
        except RuntimeError as error:
            rows.append(_row(analysis, label, "failed", "-", "-", str(error)))
            continue
        if not runs:
            row["notes"] += "; " + _versions(measured["versions"])
        runs.append(measured)
        rows.append(row)
    if not runs:
        return rows

    # Extrapolation. The Paillier part grows with rows (Bob encrypts one group indicator per
    # row, Alice adds them up), the rest with distinct event times (Bob decrypts two masked
    # counts per event time, MPyC works on one entry per event time), on top of a fixed part
    # (every party generates a 2,048-bit Paillier key at import). The event-time part is
    # measured in each run; the rates are pooled over all runs.
    fixed = float(np.mean([m["fixed"] for m in runs]))
    per_event = sum(m["event_part"] for m in runs) / sum(m["events"] for m in runs)
    per_row = sum(m["wall"] - fixed - m["event_part"] for m in runs) / sum(m["rows"] for m in runs)

    def model(rows_, events):
        return fixed + per_row * rows_ + per_event * events

    checks = ", ".join(
        f"{m['rows']:,} rows {model(m['rows'], m['events']):.0f} s (measured {m['wall']:.0f})"
        for m in runs
    )
    tessera = _tessera_figure("Kaplan-Meier")
    for patients in EXTRAPOLATE:
        cohort, table = large[patients]
        table = table[[TIME, EVENT, GROUP]].dropna()
        events = _event_times(table)
        plain = timed(lambda t=table: _logrank(t))[1]
        notes = (
            f"EXTRAPOLATED from the runs above: {fixed:.1f} s fixed + {per_row * 1e3:.1f} ms "
            f"per row (Paillier) + {per_event * 1e3:.1f} ms per distinct event time "
            f"(decryption, MPyC); the model gives back {checks}"
        )
        if patients == 10_000 and tessera:
            notes += f"; Tessera on this cohort, with the private join: {tessera} s"
        rows.append(
            _row(
                analysis,
                _label(patients, cohort, table, events=events),
                f"~{model(len(table), events):,.0f} (extrapolated)",
                round(plain, 3),
                "-",
                notes,
            )
        )
    return rows


def _kaplan_meier_run(python: Path, table: pd.DataFrame, analysis: str, label: str):
    levels = sorted(table[GROUP].astype(int).unique())
    with tempfile.TemporaryDirectory(prefix="tno-km-") as folder:
        work = Path(folder)
        pd.DataFrame({"time": table[TIME].astype(float), "event": table[EVENT].astype(int)}).to_csv(
            work / "alice.csv", index=False
        )
        # Bob's groups one-hot; the tool encrypts all columns but the last.
        pd.DataFrame(
            {f"{GROUP}={v}": (table[GROUP].astype(int) == v).astype(int) for v in levels[::-1]}
        ).to_csv(work / "bob.csv", index=False)
        base = free_ports(5)
        common = ["--data", str(work), "--http", f"{base + 3},{base + 4}"]
        wall, results = _run_parties(
            python,
            DRIVERS / "km_party.py",
            [["--role", role, *common] for role in ("alice", "bob", "helper")],
            base,
            work,
        )
    alice, bob, _ = results
    test, plain = timed(lambda: _logrank(table))
    chi2_error = abs(alice["chi2"] / test.test_statistic - 1)
    progress = {message: at for at, message in reversed(bob["progress"])}  # first of each
    encrypting = progress["Done encrypting group data"] - bob["import_s"]
    decrypting = progress["Done decrypting data"] - progress["Decrypting data..."]
    mpyc = bob["protocol_end_s"] - progress["Done decrypting data"]
    sent = (alice["http_bytes_sent"] + bob["http_bytes_sent"]) / 1e6
    notes = (
        f"Bob: {encrypting:.1f} s to encrypt the group column, {decrypting:.1f} s to decrypt "
        f"the masked counts; MPyC log-rank {mpyc:.1f} s; Paillier key generation at import "
        f"{bob['import_s']:.1f} s; {sent:.1f} MB over HTTP (MPyC traffic not counted); "
        f"only chi2 is revealed, no curves; host load before the run "
        f"{alice['load_before']:.1f}"
    )
    measured = {
        "versions": alice["versions"],
        "rows": len(table),
        "events": _event_times(table),
        "wall": wall,
        "fixed": max(r["import_s"] for r in results),
        "event_part": bob["protocol_end_s"] - progress["Decrypting data..."],
    }
    row = _row(
        analysis,
        label,
        round(wall, 1),
        round(plain, 3),
        f"chi2 rel {chi2_error:.1e}; p {alice['p']:.4g} vs {test.p_value:.4g}",
        notes,
    )
    return measured, row


def _logrank(table: pd.DataFrame):
    return multivariate_logrank_test(
        table[TIME].astype(float), table[GROUP].astype(int), table[EVENT].astype(int)
    )


def _event_times(table: pd.DataFrame) -> int:
    """Distinct times with an event: the length of the tables the tool encrypts and shares."""
    return int(table.loc[table[EVENT].astype(int) == 1, TIME].nunique())


# Logistic regression


def _logistic(python: Path, large: dict) -> list[dict]:
    rows, rates = [], {}
    told = False
    for sigmoid, patients, epochs in LOGISTIC_RUNS:
        analysis = f"logistic, {len(FEATURES)} features (secure_learning, {sigmoid} sigmoid)"
        cohort, table = _cohort(patients)
        data = _standardised(table)
        label = _label(patients, cohort, data) + f", {epochs} epochs"
        try:
            wall, result = _logistic_run(python, data, sigmoid, epochs)
        except RuntimeError as error:
            rows.append(_row(analysis, label, "failed", "-", "-", str(error)))
            continue
        x, y = _design(data)
        fit, plain = timed(lambda x=x, y=y: sm.Logit(y, x).fit(disp=0))
        secure = np.array([result["coefficients"][k] for k in ("const", *FEATURES)])
        replica = _tno_gradient_descent(x, y, result["epochs"], sigmoid)[-1]
        epoch_s = result["epoch_s"]
        rates[sigmoid] = (epoch_s[-1] / len(data), len(data))  # epoch 1 also finds the step
        notes = (
            f"epochs took {', '.join(f'{s:.1f}' for s in epoch_s)} s (the first includes the "
            f"step size, a secure maximum over rows); {rates[sigmoid][0] * 1e3:.0f} ms per row "
            f"per epoch; features standardised by their owners; "
            f"{_convergence(x, y, fit.params, sigmoid)}; host load before the run "
            f"{result['load_before']:.1f}"
        )
        if not told:
            told = True
            notes += "; " + _versions(result["versions"])
        rows.append(
            _row(
                analysis,
                label,
                round(wall, 1),
                round(plain, 3),
                f"max |d coef| {np.abs(secure - fit.params).max():.2g} (not converged); "
                f"{np.abs(secure - replica).max():.1e} vs the same epochs in NumPy",
                notes,
            )
        )

    # Extrapolation: an epoch costs the same per row (one logistic function and a few
    # products per row); the number of epochs to converge comes from running the NumPy
    # replica of the tool's solver on the larger cohorts themselves.
    for sigmoid, (rate, measured) in rates.items():
        analysis = f"logistic, {len(FEATURES)} features (secure_learning, {sigmoid} sigmoid)"
        for patients in EXTRAPOLATE:
            cohort, table = large[patients]
            data = _standardised(table)
            x, y = _design(data)
            fit, plain = timed(lambda x=x, y=y: sm.Logit(y, x).fit(disp=0))
            epochs, error, name = _epochs_to_converge(x, y, fit.params, sigmoid)
            per_epoch = rate * len(data)
            public = _public_step(sigmoid)
            fewer = _epochs_to_converge(x, y, fit.params, sigmoid, public)[0]
            if fewer is not None:
                fewer = (
                    f"; with eta0={public:g} passed to the tool (safe for standardised "
                    f"features) the replica needs {fewer:,} epochs: ~{fewer * per_epoch:,.0f} s"
                )
            else:
                fewer = ""
            if epochs is None:
                estimate = f">{REPLICA_EPOCHS * per_epoch:,.0f} (extrapolated)"
                count = f"not settled after {REPLICA_EPOCHS:,} epochs"
                accuracy = "-"
            else:
                estimate = f"~{epochs * per_epoch:,.0f} (extrapolated)"
                count = f"{epochs:,} epochs"
                accuracy = (
                    f"max |d coef| < {WITHIN:g} by then"
                    if sigmoid == "exact"
                    else f"converges {error:.2g} away from statsmodels ({name})"
                )
            rows.append(
                _row(
                    analysis,
                    _label(patients, cohort, data),
                    estimate,
                    round(plain, 3),
                    accuracy,
                    f"EXTRAPOLATED: {count} to converge (NumPy replica of the tool's solver "
                    f"with its default step, on these rows) x {per_epoch:,.0f} s per epoch "
                    f"({rate * 1e3:.0f} ms per row per epoch: the last epoch of the "
                    f"{measured:,}-row run){fewer}",
                )
            )
    return rows


def _logistic_run(python: Path, data: pd.DataFrame, sigmoid: str, epochs: int):
    with tempfile.TemporaryDirectory(prefix="tno-logistic-") as folder:
        work = Path(folder)
        columns = [[TARGET, *REGISTRY_FEATURES], list(GP_FEATURES), []]
        (work / "meta.json").write_text(
            json.dumps({"rows": len(data), "target": TARGET, "columns": columns})
        )
        for party, names in enumerate(columns[:2]):
            data[names].to_csv(work / f"party{party}.csv", index=False)
        base = free_ports(3)
        args = ["--data", str(work), "--epochs", str(epochs), "--sigmoid", sigmoid]
        wall, results = _run_parties(python, DRIVERS / "logreg_party.py", [args] * 3, base, work)
    return wall, results[0]


def _standardised(table: pd.DataFrame) -> pd.DataFrame:
    """Complete rows; each owner standardises its own features (it holds all their rows)."""
    data = table[[TARGET, *FEATURES]].dropna().astype(float).reset_index(drop=True)
    for name in FEATURES:
        data[name] = (data[name] - data[name].mean()) / data[name].std()
    return data


def _design(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return sm.add_constant(data[list(FEATURES)]), data[TARGET]


def _tno_gradient_descent(x, y, epochs: int, sigmoid: str, step=None) -> np.ndarray:
    """The iterates of the tool's solver, in NumPy (secure_learning 1.1.1, GD and Logistic).

    Full batch, step 1 / max_i |x_i|^2 over the features without the intercept (the tool's
    default; `step` stands for its eta0 argument), Nesterov-style momentum (e-1)/(e+2) in
    epoch e, gradient X^T (2 h(Xv) - 1 - y) / 2n with y in {-1, +1}; h is the logistic
    function ("exact") or min(1, max(0, z + 1/2)) ("approx").
    """
    x = np.asarray(x, dtype=float)
    y = 2 * np.asarray(y, dtype=float) - 1
    if step is None:
        step = 1 / (x[:, 1:] ** 2).sum(axis=1).max()
    w = np.zeros(x.shape[1])
    previous = w
    iterates = np.empty((epochs, x.shape[1]))
    for epoch in range(1, epochs + 1):
        v = w + (epoch - 1) / (epoch + 2) * (w - previous)
        z = x @ v
        h = 1 / (1 + np.exp(-z)) if sigmoid == "exact" else np.clip(z + 0.5, 0, 1)
        previous, w = w, v - step * (x.T @ (2 * h - 1 - y)) / (2 * len(x))
        iterates[epoch - 1] = w
    return iterates


def _public_step(sigmoid: str) -> float:
    """A step that is safe for any standardised data, so needs no secure computation.

    The mean log-loss gradient is Lipschitz with L <= lambda_max(X^T X) / 4n and
    lambda_max(X^T X) / n <= trace(X^T X) / n < p + 1 for p standardised features plus the
    intercept; the approximation's slope is up to 1 instead of 1/4.
    """
    return (4 if sigmoid == "exact" else 1) / (len(FEATURES) + 1)


def _epochs_to_converge(x, y, params, sigmoid: str, step=None) -> tuple[int | None, float, str]:
    """Epochs until every coefficient stays within WITHIN of where the solver ends up.

    For the exact logistic function that is the maximum-likelihood fit (statsmodels); the
    approximation converges elsewhere, to its own limit (the last of REPLICA_EPOCHS
    iterates). Also returns how far the last iterate is from statsmodels, and in which
    coefficient; epochs is None if the replica has not settled within REPLICA_EPOCHS.
    """
    iterates = _tno_gradient_descent(x, y, REPLICA_EPOCHS, sigmoid, step)
    target = np.asarray(params) if sigmoid == "exact" else iterates[-1]
    error = np.abs(iterates[-1] - np.asarray(params))
    worst = (float(error.max()), str(params.index[int(error.argmax())]))
    outside = np.abs(iterates - target).max(axis=1) >= WITHIN
    unsettled = np.abs(iterates[-1] - iterates[-101]).max() > WITHIN / 10
    if outside[-1] or unsettled:
        return None, *worst
    return (int(np.flatnonzero(outside)[-1]) + 2 if outside.any() else 1), *worst


def _convergence(x, y, params, sigmoid: str) -> str:
    epochs, error, name = _epochs_to_converge(x, y, params, sigmoid)
    if epochs is None:
        return f"the replica has not settled after {REPLICA_EPOCHS:,} epochs"
    if sigmoid == "exact":
        return f"the replica gets within {WITHIN:g} of statsmodels after {epochs:,} epochs"
    return (
        f"the replica settles (within {WITHIN:g} of its limit) after {epochs:,} epochs, "
        f"but that limit is {error:.2g} from statsmodels ({name})"
    )


# Running the tools


def _run_parties(
    python: Path, script: Path, arguments: list[list[str]], base: int, work: Path
) -> tuple[float, list[dict]]:
    """Run party i as `python script ARGS --result FILE -M3 -I i -B base`; wall time, results.

    Every party gets its own process group, so that a failure or time-out ends it together
    with any helper processes it started (the Paillier randomness pool).
    """
    processes = []
    load = os.getloadavg()[0]  # other work on the host slows the parties down
    started = time.perf_counter()
    try:
        for index, args in enumerate(arguments):
            command = [str(python), str(script), *args, "--result", str(work / f"{index}.json")]
            command += ["-M3", f"-I{index}", f"-B{base}"]
            processes.append(start_party(command, work / f"party{index}.log"))
        while True:
            codes = [process.poll() for process in processes]
            if all(code == 0 for code in codes):
                break
            for index, code in enumerate(codes):
                if code not in (None, 0):
                    raise RuntimeError(
                        f"party {index} exited with status {code}: {last_line(work, index)}"
                    )
            if time.perf_counter() - started > TIMEOUT:
                raise RuntimeError(f"no result within {TIMEOUT} s")
            time.sleep(0.1)
        wall = time.perf_counter() - started
    finally:
        stop_parties(processes)
    results = [json.loads((work / f"{i}.json").read_text()) for i in range(len(arguments))]
    for result in results:
        result["load_before"] = load
    return wall, results


# Helpers


def _cohort(patients: int):
    cohort = generate("nsclc", patients, seed=11, pseudonyms=True)
    return cohort, cohort.joined("registry", "gp")


def _label(patients: int, cohort, table: pd.DataFrame, events: int | None = None) -> str:
    label = f"{patients:,} registry x {len(cohort.gp):,} GP ({len(table):,} aligned rows"
    return label + (f", {events:,} event times)" if events is not None else ")")


def _tessera_figure(analysis: str) -> str | None:
    """Tessera's time for the same analysis from benchmarks/results/vertical.json, if there."""
    path = HERE / "results" / "vertical.json"
    if not path.exists():
        return None
    for row in json.loads(path.read_text()).get("rows", []):
        if row.get("analysis", "").startswith(analysis):
            return str(row.get("secure, 3 processes (s)"))
    return None


def _versions(versions: dict) -> str:
    return "installed: " + ", ".join(f"{name} {v}" for name, v in versions.items())


def _row(analysis, data, secure, plain, accuracy, notes) -> dict:
    return dict(zip(COLUMNS, (analysis, data, secure, plain, accuracy, notes), strict=True))
