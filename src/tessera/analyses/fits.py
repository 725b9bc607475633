"""Models over registries, fitted round by round by Newton's method: logistic and Cox.

A fit is a conversation. In each round the researcher *asks* (the round's number, the
current coefficients and the centre the covariates are taken from); every registry computes
its sums at them on its own rows (a gradient and a Hessian, or Cox's per-time-bin risk-set
sums), adds its share of the round's noise, and encrypts; the sums are added up and
key-switched to the researcher, who takes the Newton step and asks again. The same
researcher code (`Fit.researcher`, a generator of asks) runs against registries in this
process (`fit`) and across the federation (`tessera.station.pooled`, `Client.query`).

Differential privacy: with a finite epsilon, each covariate is clipped to public bounds
(`clip`) and the registries work on it standardised to [-1, 1] (centred on the bounds'
midpoint, divided by their half-width), so one patient changes a round's sums by at most
`Fit.sensitivity(options, ask)` in L1 norm, computed from the model's size and the ask
alone; every round spends
epsilon / `rounds`, the number of rounds being fixed before the first. The noisy Hessians
are made positive definite before a step (post-processing, no privacy cost), and the
standard errors are those of the noisy final Hessian: they do not include the noise.
Without noise (local mode only) the estimates equal the pooled fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tessera.analyses.horizontal import NO_NOISE, Aggregation, Noise
from tessera.analyses.queries import _complete, registries, selected, time_grid
from tessera.analyses.results import RegressionResult
from tessera.crypto.threshold import FixedPoint
from tessera.privacy.noise import variance

Options = Mapping[str, object]
Ask = dict  # {"round": r, "beta": [...], "centre": [...]}, JSON as it travels; beta is on
# the standardised covariates (x - centre) / scale
Rounds = Generator[Ask, np.ndarray, RegressionResult]

# Sums of reals in fixed point with 2^-24 resolution (up to ~5e11), which puts the Newton
# steps' rounding noise near 1e-9: without noise they stop once a step is below CONVERGED.
FRACTION_BITS = 24
CODEC = FixedPoint(FRACTION_BITS)
CONVERGED = 1e-7
EXACT_ITERATIONS = 25  # without noise: Newton's method stops on convergence before this
NOISY_ITERATIONS = 5  # with noise: a fixed number, so that each round's share is known
# With noise, on standardised covariates: a Newton step moves no coefficient by more than
# NOISY_STEP, nor beyond ±NOISY_BOUND (a hazard or odds ratio of e^10 over half the range)
NOISY_STEP, NOISY_BOUND = 1.0, 10.0


@dataclass(frozen=True)
class Fit:
    """A model fitted in rounds. `options(options, frames, noise)` resolves the public
    settings (bounds, time grid, how many rounds); `rows(frame, options)` is a registry's
    own complete, clipped rows; `vector(rows, options, ask)` its sums for one round;
    `sensitivity(options, ask)` bounds one patient's effect on them (L1, in real units);
    `researcher(options)` asks, receives the pooled sums, and returns the result."""

    name: str
    options: Callable[[Options, Mapping[str, pd.DataFrame], Noise], dict]
    rows: Callable[[pd.DataFrame, Options], dict]
    vector: Callable[[dict, Options, Ask], np.ndarray]
    sensitivity: Callable[[Options, Ask], float]
    researcher: Callable[[Options], Rounds]


def round_noise(fit: Fit, options: Options, ask: Ask, size: int) -> Noise:
    """The noise of one round's `size` sums in fixed-point units: epsilon / rounds for a
    sensitivity of the real one in units, plus one unit per sum for the rounding of each
    registry's local sum."""
    epsilon = float(options.get("epsilon", math.inf))
    if math.isinf(epsilon):
        return NO_NOISE
    units = math.ceil(fit.sensitivity(options, ask) * (1 << FRACTION_BITS)) + size
    return Noise(epsilon / int(options["rounds"]), units)


def noise_spread(fit: Fit, options: Options, ask: Ask, size: int) -> float:
    """The standard deviation of one round's noise on each sum, in real units."""
    scale = round_noise(fit, options, ask, size).scale
    return math.sqrt(variance(scale)) / (1 << FRACTION_BITS) if scale else 0.0


def check_ask(fit: Fit, options: Options, ask: Mapping, expected: int) -> Ask:
    """An ask as a registry accepts it: the round it waits for, within the rounds the
    budget was charged for, with finite coefficients and centre of the model's size."""
    k = _size(fit, options)
    try:
        number = int(ask["round"])
        beta = [float(b) for b in ask["beta"]]
        centre = [float(c) for c in ask["centre"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError("a round's ask needs its round, beta and centre") from None
    if number != expected or not 0 <= number < int(options["rounds"]):
        raise ValueError(f"round {number} asked where round {expected} was due")
    if len(beta) != k or len(centre) != len(_covariates(options)):
        raise ValueError("a round's ask has the wrong number of coefficients")
    if not all(math.isfinite(v) and abs(v) < 1e6 for v in [*beta, *centre]):
        raise ValueError("a round's ask has coefficients that are not finite numbers")
    noisy = not math.isinf(float(options["epsilon"]))
    if noisy and max(map(abs, beta), default=0.0) > NOISY_BOUND:
        raise ValueError(f"a round's ask has a coefficient beyond ±{NOISY_BOUND:g}")
    return {"round": number, "beta": beta, "centre": centre}


def fit(
    name: str,
    frames: Mapping[str, pd.DataFrame],
    options: Options,
    noise: Noise = NO_NOISE,
    aggregation: Aggregation | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RegressionResult:
    """Fit a `FITS` model among the registries in this process."""
    model = FITS[name]
    options = model.options(options, frames, noise)
    rows = {registry: model.rows(frame, options) for registry, frame in frames.items()}
    if not sum(len(r["x"]) for r in rows.values()):
        raise ValueError("no complete rows among the selected patients: nothing to fit")
    aggregation = aggregation or Aggregation(registries(frames))

    def answer(ask: Ask) -> np.ndarray:
        if progress:
            progress(ask["round"], int(options["rounds"]))
        vectors = {n: model.vector(r, options, ask) for n, r in rows.items()}
        size = np.size(next(iter(vectors.values())))
        return aggregation.run_fixed(vectors, CODEC, round_noise(model, options, ask, size))

    return converse(model, options, answer)


def converse(model: Fit, options: Options, answer: Callable[[Ask], np.ndarray]):
    """Run the researcher's side: each ask answered with the pooled sums, at most `rounds`
    of them; returns the result."""
    steps = model.researcher(options)
    ask = next(steps)
    while True:
        if ask["round"] >= int(options["rounds"]):
            raise RuntimeError(f"the fit wants more than the {options['rounds']} rounds charged")
        try:
            ask = steps.send(answer(ask))
        except StopIteration as done:
            return done.value


# -- what the models share --


def _covariates(options: Options) -> list[str]:
    return list(options["covariates"])


def _size(fit: Fit, options: Options) -> int:
    k = len(_covariates(options))
    return k + 1 if fit.name == "logistic" else k


def _common(options: Options, noise: Noise, needed: Sequence[str], first: int) -> dict:
    """Options both models resolve alike: the covariates, their clipping bounds (required
    with noise) and scale, and the rounds (`first` rounds before the Newton steps)."""
    covariates = [str(c) for c in options["covariates"]]
    clip = {str(k): [float(v) for v in b] for k, b in dict(options.get("clip") or {}).items()}
    noisy = not math.isinf(noise.epsilon)
    missing = [c for c in covariates if c not in clip]
    if noisy and missing:
        raise ValueError(
            f"with noise every covariate needs public bounds: give --clip {missing[0]}=LOW,HIGH"
        )
    for name, bounds in clip.items():
        if name not in covariates or len(bounds) != 2 or not bounds[0] < bounds[1]:
            raise ValueError(f"--clip {name}: a covariate of the model, LOW,HIGH with LOW < HIGH")
    default = NOISY_ITERATIONS if noisy else EXACT_ITERATIONS
    iterations = int(options.get("iterations") or default)
    if not 1 <= iterations <= 100:
        raise ValueError("iterations: between 1 and 100")
    return {
        **options,
        "covariates": covariates,
        "clip": clip,
        "scale": [(clip[c][1] - clip[c][0]) / 2 if c in clip else 1.0 for c in covariates],
        "columns": [*needed, *covariates],
        "iterations": iterations,
        "rounds": first + iterations + 1,
        "epsilon": noise.epsilon,
    }


def _clipped(frame: pd.DataFrame, options: Options) -> pd.DataFrame:
    rows = _complete(selected(frame, options.get("where")), options["columns"])
    for name, (low, high) in dict(options["clip"]).items():
        rows[name] = rows[name].clip(low, high)
    return rows


def _midpoints(options: Options) -> list[float]:
    """The centre: the bounds' midpoints (standardised values then lie in [-1, 1]), 0 for a
    covariate without bounds (local mode only)."""
    clip = options["clip"]
    return [sum(clip[c]) / 2 if c in clip else 0.0 for c in _covariates(options)]


def _standardised(x: np.ndarray, options: Options, ask: Ask) -> np.ndarray:
    return (x - np.asarray(ask["centre"])) / np.asarray(options["scale"])


def _box(options: Options, ask: Ask) -> tuple[np.ndarray, np.ndarray]:
    """The standardised covariates' lowest and highest values under the ask's centre."""
    bounds = np.array([options["clip"][c] for c in _covariates(options)]).reshape(-1, 2)
    centre, scale = np.asarray(ask["centre"]), np.asarray(options["scale"])
    return (bounds[:, 0] - centre) / scale, (bounds[:, 1] - centre) / scale


def _reach(options: Options, ask: Ask) -> np.ndarray:
    """Per covariate, the largest |standardised x| a clipped value can have."""
    low, high = _box(options, ask)
    return np.maximum(np.abs(low), np.abs(high))


def _triangle(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(matrix.shape[-1])]


def _square(values: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, k))
    out[np.triu_indices(k)] = values
    return out + np.triu(out, 1).T


def _outer_rows(x: np.ndarray) -> np.ndarray:
    """Each row's x x' upper triangle."""
    i, j = np.triu_indices(x.shape[1])
    return x[:, i] * x[:, j]


def _pairs(reach: np.ndarray) -> float:
    """Σ_{i<=j} reach_i reach_j: the most one row's x x' triangle can hold."""
    return float(np.sum(_triangle(np.outer(reach, reach))))


def newton(options: Options, k: int) -> Generator[np.ndarray, tuple, tuple]:
    """Newton's method from zero: yields coefficients, receives (gradient, Hessian of the
    negative log-likelihood, extra) at them; returns the estimates, their covariance and
    the extra of one last evaluation at the estimates. With noise, the steps are damped
    and bounded (`NOISY_STEP`, `NOISY_BOUND`): a noisy gradient must not send the next
    round's coefficients, and with them the Cox sensitivity, off to extremes."""
    beta, noisy = np.zeros(k), not math.isinf(float(options["epsilon"]))
    for _ in range(int(options["iterations"])):
        gradient, hessian, _ = yield beta
        step = np.linalg.solve(positive(hessian), gradient)
        if noisy:
            step = step * min(1.0, NOISY_STEP / max(float(np.max(np.abs(step))), 1e-300))
            step = np.clip(beta + step, -NOISY_BOUND, NOISY_BOUND) - beta
        beta = beta + step
        if np.max(np.abs(step)) < CONVERGED:
            break
    _, hessian, extra = yield beta
    return beta, np.linalg.inv(positive(hessian)), extra


def positive(hessian: np.ndarray) -> np.ndarray:
    """The symmetric matrix with its eigenvalues raised to at least 1e-9 of the largest: a
    no-op on a fit's Hessian, a guard on a noisy one."""
    symmetric = (hessian + hessian.T) / 2
    values, vectors = np.linalg.eigh(symmetric)
    floor = max(float(np.max(np.abs(values))), 1e-12) * 1e-9
    if values.min() >= floor:
        return symmetric
    return (vectors * np.maximum(values, floor)) @ vectors.T


def _regression(names, beta, covariance, n, options, **more) -> RegressionResult:
    epsilon = float(options["epsilon"])
    ses = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    return RegressionResult(
        dict(zip(names, beta.tolist(), strict=True)),
        dict(zip(names, ses.tolist(), strict=True)),
        n,
        epsilon=None if math.isinf(epsilon) else epsilon,
        **more,
    )


# -- logistic regression --


def _logistic_options(options: Options, frames, noise: Noise) -> dict:
    target = str(options["target"])
    resolved = _common({**options, "covariates": list(options.get("features") or
                                                       options.get("covariates") or [])},
                       noise, [target], 0)  # fmt: skip
    return {**resolved, "target": target, "l2": float(options.get("l2") or 0.0)}


def _logistic_rows(frame: pd.DataFrame, options: Options) -> dict:
    rows = _clipped(frame, options)
    y = rows[options["target"]].to_numpy()
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{options['target']}: a logistic model's outcome must be 0 or 1")
    return {"x": rows[_covariates(options)].to_numpy(), "y": y}


def _logistic_vector(rows: dict, options: Options, ask: Ask) -> np.ndarray:
    """Gradient, Hessian triangle and row count at the ask's coefficients."""
    x = np.column_stack([np.ones(len(rows["x"])), _standardised(rows["x"], options, ask)])
    mu = 1.0 / (1.0 + np.exp(-(x @ np.asarray(ask["beta"]))))
    hessian = (x.T * (mu * (1 - mu))) @ x
    return np.r_[x.T @ (rows["y"] - mu), _triangle(hessian), len(x)]


def _logistic_sensitivity(options: Options, ask: Ask) -> float:
    """|y - mu| <= 1 and mu(1 - mu) <= 1/4, with the constant's reach 1."""
    reach = np.r_[1.0, _reach(options, ask)]
    return float(reach.sum()) + _pairs(reach) / 4 + 1


def _logistic_researcher(options: Options) -> Rounds:
    """Newton's method; an L2 penalty acts on the slopes, as scikit-learn's C = 1/l2."""
    names = _covariates(options)
    k = len(names) + 1
    centre = _midpoints(options)
    penalty = np.r_[0.0, np.full(k - 1, float(options["l2"]))]
    steps, number = newton(options, k), 0
    beta = next(steps)
    while True:
        total = yield {"round": number, "beta": beta.tolist(), "centre": centre}
        gradient = total[:k] - penalty * beta
        hessian = _square(total[k:-1], k) + np.diag(penalty)
        try:
            beta = steps.send((gradient, hessian, max(int(np.rint(total[-1])), 0)))
        except StopIteration as done:
            beta, covariance, n = done.value
            break
        number += 1
    # back from the standardised covariates: b_j / scale_j, and the constant moves
    scale = np.asarray(options["scale"])
    back = np.diag(np.r_[1.0, 1.0 / scale])
    back[0, 1:] = -np.asarray(centre) / scale
    beta, covariance = back @ beta, back @ covariance @ back.T
    return _regression(["const", *names], beta, covariance, n, options)


# -- Cox proportional hazards (Breslow's ties on a public time grid) --


def _cox_options(options: Options, frames, noise: Noise) -> dict:
    time, event = str(options["time"]), str(options["event"])
    resolved = _common(options, noise, [time, event], 1)
    if not resolved["covariates"]:
        raise ValueError("a Cox model needs at least one covariate")
    step = float(options.get("step") or 1.0)
    grid = time_grid(frames, time, step, options.get("horizon"), noise)
    return {**resolved, "time": time, "event": event, "step": grid.step, "horizon": grid.horizon}


def _grid(options: Options):
    from tessera.analyses.queries import TimeGrid

    return TimeGrid(float(options["step"]), float(options["horizon"]))


def _cox_rows(frame: pd.DataFrame, options: Options) -> dict:
    rows = _clipped(frame, options)
    where, dead = _grid(options).place(rows[options["time"]].to_numpy(),
                                       rows[options["event"]].to_numpy())  # fmt: skip
    return {"x": rows[_covariates(options)].to_numpy(), "bin": where, "dead": dead}


def _cox_vector(rows: dict, options: Options, ask: Ask) -> np.ndarray:
    """Round 0: the row count, Σ x, and per time bin the events and the events' Σ x; later
    rounds: per bin of departure Σ exp(x'b), Σ x exp(x'b) and Σ x x' exp(x'b)."""
    bins, x = _grid(options).bins, _standardised(rows["x"], options, ask)
    where, dead = rows["bin"], rows["dead"]
    if ask["round"] == 0:
        died = np.zeros(bins)
        np.add.at(died, where, dead.astype(float))
        dead_x = np.zeros((bins, x.shape[1]))
        np.add.at(dead_x, where[dead], x[dead])
        return np.r_[len(x), x.sum(axis=0), died, dead_x.ravel()]
    risk = np.exp(x @ np.asarray(ask["beta"]))
    parts = np.column_stack([risk, x * risk[:, None], _outer_rows(x) * risk[:, None]])
    per_bin = np.zeros((bins, parts.shape[1]))
    np.add.at(per_bin, where, parts)
    return per_bin.ravel()


def _cox_sensitivity(options: Options, ask: Ask) -> float:
    """A patient sits in one bin: round 0 moves n, Σ x, one bin's events and Σ x; later
    rounds one bin's risk sums, which the largest exp(x'b) on the clipped box bounds."""
    reach = _reach(options, ask)
    if ask["round"] == 0:
        return 2 * (1 + float(reach.sum()))
    low, high = _box(options, ask)
    beta = np.asarray(ask["beta"])
    largest = math.exp(float(np.sum(np.maximum(beta * low, beta * high))))
    return largest * (1 + float(reach.sum()) + _pairs(reach))


def _cox_researcher(options: Options) -> Rounds:
    """Round 0 gives n, the covariates' means and the events per bin; then Newton's method
    on the partial likelihood, whose risk sets are the suffix sums of the bins' sums.
    Covariates are centred on the bounds' midpoints, or without bounds on their pooled
    means (estimates unchanged)."""
    names = _covariates(options)
    k, bins = len(names), _grid(options).bins
    start, bounded = _midpoints(options), set(options["clip"]) == set(names)
    total = yield {"round": 0, "beta": [0.0] * k, "centre": start}
    n = max(int(np.rint(total[0])), 0)
    scale = np.asarray(options["scale"])
    means = np.asarray(start) + scale * total[1 : 1 + k] / max(n, 1)
    centre = start if bounded else [float(c) for c in means]
    died = np.maximum(total[1 + k : 1 + k + bins], 0.0)
    if math.isinf(float(options["epsilon"])):
        died = np.rint(died)
    moved = (np.asarray(centre) - np.asarray(start)) / scale
    dead_x = total[1 + k + bins :].reshape(bins, k) - died[:, None] * moved
    if not died.sum() > 0:
        raise ValueError("no events among the selected patients: a Cox model needs events")
    steps, number = newton(options, k), 1
    beta = next(steps)
    while True:
        ask = {"round": number, "beta": beta.tolist(), "centre": centre}
        sums = yield ask
        suffix = sums.reshape(bins, -1)[::-1].cumsum(axis=0)[::-1]
        spread = noise_spread(COX, options, ask, sums.size) * np.sqrt(np.arange(bins, 0, -1))
        use = (died > 0) & (suffix[:, 0] > 10 * spread)  # risk sets clear of their noise
        if not use.any():
            raise ValueError("the noise drowns every risk set: give a larger epsilon, wider "
                             "--time-step bins or a shorter --horizon")  # fmt: skip
        s0, s1 = suffix[use, 0], suffix[use, 1 : 1 + k]
        s2 = np.array([_square(row, k) for row in suffix[use, 1 + k :]])
        d = died[use]
        loglik = float(np.sum(dead_x[use] @ beta) - np.sum(d * np.log(s0)))
        ratio = s1 / s0[:, None]
        gradient = dead_x[use].sum(axis=0) - d @ ratio
        hessian = np.einsum("b,bij->ij", d, s2 / s0[:, None, None]) - np.einsum(
            "b,bi,bj->ij", d, ratio, ratio
        )
        try:
            beta = steps.send((gradient, hessian, loglik))
        except StopIteration as done:
            beta, covariance, loglik = done.value
            break
        number += 1
    back = np.diag(1.0 / scale)
    events = round(float(died.sum()))
    return _regression(names, back @ beta, back @ covariance @ back.T, n, options,
                       events=events, log_likelihood=loglik, hazard=True)  # fmt: skip


LOGISTIC = Fit("logistic", _logistic_options, _logistic_rows, _logistic_vector,
               _logistic_sensitivity, _logistic_researcher)  # fmt: skip
COX = Fit("cox", _cox_options, _cox_rows, _cox_vector, _cox_sensitivity, _cox_researcher)
FITS: dict[str, Fit] = {"logistic": LOGISTIC, "cox": COX}
