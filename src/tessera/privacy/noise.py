"""Discrete Laplace noise for integer aggregates, drawn in shares so that no party knows it.

K stations each hold an integer aggregate, encrypt it under a threshold homomorphic key,
and the ciphertexts are summed. The noise has to be added the same way: each station adds
its own *share* under encryption, and only the sum of the K shares is the calibrated noise.

Why the sum is exact: the discrete Laplace law with scale s, P(x) ∝ t^|x| with
t = exp(-1/s), is the difference A − B of two independent Geometric(1 − t) counts of
failures, and Geometric(p) = NegativeBinomial(1, p) is infinitely divisible:
NegativeBinomial(1, p) is the sum of K independent NegativeBinomial(1/K, p). So with each
party drawing A_i − B_i, A_i, B_i ~ NegativeBinomial(1/K, 1 − t), the sum Σ_i (A_i − B_i)
has exactly the discrete Laplace law of scale s (Goryczka & Xiong 2015). The scale is
calibrated with OpenDP's discrete Laplace measurement on 64-bit integers, whose privacy map
(ε = sensitivity / s) is the one the station's budget accounting relies on.

Honest limits:

- The shares are sampled with numpy's `negative_binomial` (a gamma–Poisson mixture in
  floating point). That is not the exact, constant-time sampler OpenDP uses internally: its
  law is right only up to floating-point error, and its running time depends on the values
  drawn. Those are the side channels (Mironov 2012, timing attacks) OpenDP's sampler is
  built to close; here they are narrowed, not closed, by the fact that a share is only ever
  seen under encryption. The generator (PCG64, seeded from `secrets.randbits(128)`) is not
  a cryptographic one either.
- Each party knows its own share and nothing else; the decrypted result carries the noise
  of all K shares, which no single party knows. A coalition of c parties who pool their
  shares can subtract them and face only the other K − c shares, whose variance is
  (K − c)/K of the calibrated one, so the full ε holds only against parties that do not
  collude. To tolerate up to c colluders, draw each share with `parties = K − c`: any K − c
  honest shares then already have the calibrated law (and the full sum has more noise).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import secrets

import numpy as np
import opendp.prelude as dp

dp.enable_features("contrib")

_INTEGER = "i64"  # the aggregates are numpy int64 counts, so calibrate for OpenDP's i64


def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not math.isfinite(scale) or scale < 0:
        raise ValueError(f"the noise scale must be finite and >= 0, not {scale}")
    return scale


def measurement(scale: float, *, vector: bool = False) -> dp.Measurement:
    """OpenDP's discrete Laplace measurement of `scale` on an i64 (or a vector of them).

    It is the mechanism the shares reproduce in sum; `vector=True` takes the L1 distance.
    """
    scale = _check_scale(scale)
    if vector:
        space = dp.vector_domain(dp.atom_domain(T=_INTEGER)), dp.l1_distance(T=_INTEGER)
    else:
        space = dp.atom_domain(T=_INTEGER), dp.absolute_distance(T=_INTEGER)
    return dp.m.make_laplace(*space, scale=scale)


@functools.lru_cache(maxsize=256)  # a binary search over OpenDP's map: worth keeping
def calibrate(epsilon: float, sensitivity: int = 1) -> float:
    """The discrete Laplace scale that makes an integer query of this L1 `sensitivity` ε-DP.

    OpenDP's binary search finds the smallest scale whose privacy map passes, and the map is
    checked again, so the scale is exactly what OpenDP would accept. `math.inf` means no
    noise (scale 0).
    """
    epsilon = float(epsilon)
    if math.isnan(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be > 0 (or math.inf for no noise), not {epsilon}")
    if isinstance(sensitivity, bool) or not isinstance(sensitivity, int) or sensitivity < 1:
        raise ValueError(f"the sensitivity must be a positive integer, not {sensitivity!r}")
    if math.isinf(epsilon):
        return 0.0
    scale = dp.binary_search_param(measurement, d_in=sensitivity, d_out=epsilon, T=float)
    spent = measurement(scale).map(sensitivity)
    if not spent <= epsilon:  # binary_search_param promises this; a wrong scale leaks
        raise RuntimeError(f"OpenDP calibrated scale {scale} to ε={spent} > {epsilon}")
    return float(scale)


def noise_shares(
    scale: float,
    parties: int,
    size: int | tuple[int, ...],
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One party's share (int64, of shape `size`) of discrete Laplace noise of `scale`.

    The shares of `parties` independent draws add up to the discrete Laplace law exactly;
    one share alone has only 1/`parties` of its variance. Without `rng`, a generator is
    seeded from 128 bits of the OS's randomness, so shares are not reproducible.
    """
    scale = _check_scale(scale)
    if isinstance(parties, bool) or not isinstance(parties, int) or parties < 1:
        raise ValueError(f"the number of parties must be a positive integer, not {parties!r}")
    if scale == 0:
        return np.zeros(size, dtype=np.int64)
    if rng is None:
        rng = np.random.default_rng(secrets.randbits(128))
    success = -math.expm1(-1.0 / scale)  # 1 − t, t = exp(−1/s), precise for large s
    share = 1.0 / parties
    gains = rng.negative_binomial(share, success, size)
    losses = rng.negative_binomial(share, success, size)
    return np.asarray(gains, dtype=np.int64) - np.asarray(losses, dtype=np.int64)


def accuracy(scale: float, alpha: float = 0.05) -> float:
    """The integer half-width a with P(|noise| > a) <= `alpha` for discrete Laplace `scale`.

    OpenDP's bound is for P(|noise| >= a); for integer noise its floor keeps the coverage
    (P(|noise| > ⌊a⌋) = P(|noise| >= ⌊a⌋ + 1) <= alpha) and is at most one unit too wide.
    """
    scale = _check_scale(scale)
    alpha = float(alpha)
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], not {alpha}")
    if scale == 0:
        return 0.0
    bound = dp.discrete_laplacian_scale_to_accuracy(scale, alpha, T=float)
    return float(max(0, math.floor(bound)))


def variance(scale: float) -> float:
    """The variance 2t / (1 − t)², t = exp(−1/s), of the discrete Laplace law of `scale`."""
    scale = _check_scale(scale)
    if scale == 0:
        return 0.0
    t = math.exp(-1.0 / scale)
    return 2.0 * t / math.expm1(-1.0 / scale) ** 2


@dataclasses.dataclass(frozen=True)
class Noise:
    """Discrete Laplace noise for an integer query with this L1 sensitivity, produced in
    shares by the registries; epsilon = inf means none (local mode only)."""

    epsilon: float
    sensitivity: int = 1

    @property
    def scale(self) -> float:
        return 0.0 if math.isinf(self.epsilon) else calibrate(self.epsilon, self.sensitivity)


NO_NOISE = Noise(math.inf)
