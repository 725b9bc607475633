"""Models over registries fitted round by round by Newton's method: what logistic and Cox
(`tessera.analyses.logistic`, `tessera.analyses.cox`, their `POOLED`) have in common.

A fit is a conversation. In each round the researcher *asks* (the round's number, the
current coefficients and the centre the covariates are taken from); every registry computes
its sums at them on its own rows (a gradient and a Hessian, or Cox's per-time-bin risk-set
sums), adds its share of the round's noise, and encrypts; the sums are added up and
key-switched to the researcher, who takes the Newton step and asks again. The same
researcher code (`Fit.researcher`, a generator of asks) runs against registries in this
process and across the federation: `tessera.protocol.pooled` carries the rounds.

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

from tessera.analyses.grid import numeric_rows, selected
from tessera.analyses.results import RegressionResult
from tessera.analyses.specs import Options
from tessera.crypto.threshold import FixedPoint
from tessera.privacy.noise import NO_NOISE, Noise, variance

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
    `researcher(options)` asks, receives the pooled sums, and returns the result;
    `intercept`: whether the coefficients include a constant."""

    options: Callable[[Options, Mapping[str, pd.DataFrame], Noise], dict]
    rows: Callable[[pd.DataFrame, Options], dict]
    vector: Callable[[dict, Options, Ask], np.ndarray]
    sensitivity: Callable[[Options, Ask], float]
    researcher: Callable[[Options], Rounds]
    intercept: bool = False


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
    k = size(fit, options)
    try:
        number = int(ask["round"])
        beta = [float(b) for b in ask["beta"]]
        centre = [float(c) for c in ask["centre"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError("a round's ask needs its round, beta and centre") from None
    if number != expected or not 0 <= number < int(options["rounds"]):
        raise ValueError(f"round {number} asked where round {expected} was due")
    if len(beta) != k or len(centre) != len(covariate_names(options)):
        raise ValueError("a round's ask has the wrong number of coefficients")
    if not all(math.isfinite(v) and abs(v) < 1e6 for v in [*beta, *centre]):
        raise ValueError("a round's ask has coefficients that are not finite numbers")
    noisy = not math.isinf(float(options["epsilon"]))
    if noisy and max(map(abs, beta), default=0.0) > NOISY_BOUND:
        raise ValueError(f"a round's ask has a coefficient beyond ±{NOISY_BOUND:g}")
    return {"round": number, "beta": beta, "centre": centre}


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


def covariate_names(options: Options) -> list[str]:
    return list(options["covariates"])


def size(fit: Fit, options: Options) -> int:
    return len(covariate_names(options)) + fit.intercept


def common_options(options: Options, noise: Noise, needed: Sequence[str], first: int) -> dict:
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


def clipped_rows(frame: pd.DataFrame, options: Options) -> pd.DataFrame:
    rows = numeric_rows(selected(frame, options.get("where")), options["columns"])
    for name, (low, high) in dict(options["clip"]).items():
        rows[name] = rows[name].clip(low, high)
    return rows


def midpoints(options: Options) -> list[float]:
    """The centre: the bounds' midpoints (standardised values then lie in [-1, 1]), 0 for a
    covariate without bounds (local mode only)."""
    clip = options["clip"]
    return [sum(clip[c]) / 2 if c in clip else 0.0 for c in covariate_names(options)]


def standardised(x: np.ndarray, options: Options, ask: Ask) -> np.ndarray:
    return (x - np.asarray(ask["centre"])) / np.asarray(options["scale"])


def box(options: Options, ask: Ask) -> tuple[np.ndarray, np.ndarray]:
    """The standardised covariates' lowest and highest values under the ask's centre."""
    bounds = np.array([options["clip"][c] for c in covariate_names(options)]).reshape(-1, 2)
    centre, scale = np.asarray(ask["centre"]), np.asarray(options["scale"])
    return (bounds[:, 0] - centre) / scale, (bounds[:, 1] - centre) / scale


def reach_of(options: Options, ask: Ask) -> np.ndarray:
    """Per covariate, the largest |standardised x| a clipped value can have."""
    low, high = box(options, ask)
    return np.maximum(np.abs(low), np.abs(high))


def triangle(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(matrix.shape[-1])]


def square(values: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, k))
    out[np.triu_indices(k)] = values
    return out + np.triu(out, 1).T


def outer_rows(x: np.ndarray) -> np.ndarray:
    """Each row's x x' upper triangle."""
    i, j = np.triu_indices(x.shape[1])
    return x[:, i] * x[:, j]


def pairs(reach: np.ndarray) -> float:
    """Σ_{i<=j} reach_i reach_j: the most one row's x x' triangle can hold."""
    return float(np.sum(triangle(np.outer(reach, reach))))


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


def regression(names, beta, covariance, n, options, **more) -> RegressionResult:
    epsilon = float(options["epsilon"])
    ses = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    return RegressionResult(
        dict(zip(names, beta.tolist(), strict=True)),
        dict(zip(names, ses.tolist(), strict=True)),
        n,
        epsilon=None if math.isinf(epsilon) else epsilon,
        **more,
    )
