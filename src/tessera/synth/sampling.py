"""Small vectorised sampling helpers shared by the cohort generators."""

from __future__ import annotations

import numpy as np


def categorical(rng: np.random.Generator, probs: np.ndarray, n: int | None = None) -> np.ndarray:
    """Indices drawn from per-row (n x k) or shared (k,) probabilities, in one vectorised pass."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        size = n if n is not None else 1
        return rng.choice(len(probs), size=size, p=probs / probs.sum())
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cumulative).sum(axis=1), probs.shape[1] - 1)


def choose(rng: np.random.Generator, labels: list[str], probs: np.ndarray, n: int | None = None):
    """Like `categorical`, returning the labels as an object array."""
    return np.asarray(labels, dtype=object)[categorical(rng, probs, n)]


def mixture_rows(
    conditions: list[np.ndarray], mixes: list[list[float]], default: list[float]
) -> np.ndarray:
    """Per-row probability vectors: the mix of the first condition a row meets, else default."""
    return np.select(
        [c[:, None] for c in conditions],
        [np.asarray(m, float)[None, :] for m in mixes],
        np.asarray(default, float)[None, :],
    )


def bernoulli(rng: np.random.Generator, p: np.ndarray | float, n: int) -> np.ndarray:
    """0/1 draws with per-row probabilities (clipped to [0, 1])."""
    return (rng.random(n) < np.clip(p, 0.0, 1.0)).astype(np.int64)


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def rounded_scale(values: np.ndarray, steps: int) -> np.ndarray:
    """Clip to 0-100 and round to the values a questionnaire scale with `steps` steps can take."""
    width = 100.0 / steps
    return np.round(np.clip(values, 0, 100) / width) * width
