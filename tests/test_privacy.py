"""Differential privacy: OpenDP calibration, noise in shares, the budget under concurrency."""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tessera.privacy.budget import Budget, BudgetExceeded, composed_epsilon
from tessera.privacy.noise import accuracy, calibrate, measurement, noise_shares, variance

SAMPLES = 100_000


def law(scale: float) -> stats.rv_discrete:
    """The exact discrete Laplace law of `scale`: P(x) ∝ exp(−|x|/scale)."""
    return stats.dlaplace(1.0 / scale)


def noise_sums(scale: float, parties: int, size: int, seed: int) -> np.ndarray:
    """`size` draws of the noise the decrypted sum carries: the shares of `parties` added."""
    rng = np.random.default_rng(seed)
    return sum(noise_shares(scale, parties, size, rng) for _ in range(parties))


def support(size: int, scale: float) -> int:
    """The m such that each of −m..m, and each tail beyond, expects >= 5 of `size` samples."""
    dist, m = law(scale), 0
    while size * dist.pmf(m + 1) >= 5 and size * dist.sf(m + 1) >= 5:
        m += 1
    return m


def counts(samples: np.ndarray, m: int) -> np.ndarray:
    """How many `samples` are below −m, equal to each of −m..m, and above m."""
    edges = np.concatenate([[-np.inf], np.arange(-m, m + 2) - 0.5, [np.inf]])
    return np.histogram(samples, edges)[0]


def goodness_of_fit(samples: np.ndarray, scale: float) -> float:
    """The chi-square p-value of `samples` against the discrete Laplace law of `scale`."""
    m, dist = support(len(samples), scale), law(scale)
    values = np.arange(-m, m + 1)
    probabilities = np.concatenate([[dist.cdf(-m - 1)], dist.pmf(values), [dist.sf(m)]])
    observed = counts(samples, m)
    expected = probabilities / probabilities.sum() * observed.sum()
    return float(stats.chisquare(observed, expected).pvalue)


# -- calibration ---------------------------------------------------------------------------


def test_calibrate_decreases_with_epsilon_and_passes_opendps_map() -> None:
    epsilons = [0.05, 0.1, 0.5, 1.0, 2.0, 8.0]
    scales = [calibrate(epsilon) for epsilon in epsilons]
    assert scales == sorted(scales, reverse=True)
    for epsilon, scale in zip(epsilons, scales, strict=True):
        assert scale == pytest.approx(1 / epsilon, rel=1e-9)
        assert measurement(scale).map(1) <= epsilon
        # calibrated tightly: any less noise and OpenDP would not accept it
        assert measurement(scale * (1 - 1e-6)).map(1) > epsilon


@pytest.mark.parametrize("sensitivity", [1, 2, 7])
def test_calibrate_scales_with_sensitivity(sensitivity: int) -> None:
    scale = calibrate(0.3, sensitivity)
    assert scale == pytest.approx(sensitivity * calibrate(0.3), rel=1e-9)
    assert measurement(scale).map(sensitivity) <= 0.3
    assert measurement(scale, vector=True).map(sensitivity) <= 0.3


def test_calibrate_rejects_bad_epsilon_and_sensitivity() -> None:
    for epsilon in (0.0, -1.0, math.nan, -math.inf):
        with pytest.raises(ValueError, match="epsilon"):
            calibrate(epsilon)
    for sensitivity in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="sensitivity"):
            calibrate(1.0, sensitivity)  # type: ignore[arg-type]
    assert calibrate(math.inf) == 0.0


# -- noise in shares -----------------------------------------------------------------------


@pytest.mark.parametrize("parties", [1, 3, 10])
@pytest.mark.parametrize("scale", [1.0, 4.5])
def test_shares_sum_to_the_calibrated_distribution(parties: int, scale: float) -> None:
    sums = noise_sums(scale, parties, SAMPLES, seed=1000 * parties + int(10 * scale))
    assert sums.dtype == np.int64
    assert goodness_of_fit(sums, scale) > 1e-3
    assert np.var(sums) == pytest.approx(variance(scale), rel=0.03)
    assert np.var(sums) == pytest.approx(law(scale).var(), rel=0.03)
    assert abs(np.mean(sums)) < 4 * math.sqrt(variance(scale) / SAMPLES)


@pytest.mark.parametrize("scale", [2.0, 6.0])
def test_shares_match_opendps_own_discrete_laplace(scale: float) -> None:
    """Two-sample test against OpenDP's exact sampler (which cannot be seeded: hence 1e-4)."""
    size = 50_000
    ours = noise_sums(scale, 5, size, seed=int(scale))
    theirs = np.asarray(measurement(scale, vector=True)([0] * size), dtype=np.int64)
    # OpenDP's own samples have the law we calibrate against, so the parametrisation agrees
    assert goodness_of_fit(theirs, scale) > 1e-4
    m = support(size, scale)
    table = np.array([counts(ours, m), counts(theirs, m)])
    assert stats.chi2_contingency(table).pvalue > 1e-4
    assert np.var(ours) == pytest.approx(np.var(theirs), rel=0.05)


def test_one_share_alone_is_not_the_noise() -> None:
    """A party knows its share, but that carries 1/K of the noise: it does not know the noise."""
    scale, parties = 4.0, 10
    share = noise_shares(scale, parties, SAMPLES, np.random.default_rng(7))
    assert np.var(share) == pytest.approx(variance(scale) / parties, rel=0.03)
    assert np.var(share) < variance(scale) / 5
    assert goodness_of_fit(share, scale) < 1e-12
    # with all ten shares, the party's own explains 1/K of the noise; the rest it never sees
    rng = np.random.default_rng(8)
    shares = [noise_shares(scale, parties, SAMPLES, rng) for _ in range(parties)]
    noise = sum(shares)
    assert np.corrcoef(shares[0], noise)[0, 1] ** 2 == pytest.approx(1 / parties, abs=0.01)
    unknown = noise - shares[0]
    assert np.var(unknown) == pytest.approx(variance(scale) * (parties - 1) / parties, rel=0.03)


def test_noise_shares_shapes_zero_scale_and_fresh_randomness() -> None:
    assert noise_shares(2.0, 3, (4, 5), np.random.default_rng(0)).shape == (4, 5)
    zeros = noise_shares(0.0, 3, 6)
    assert zeros.dtype == np.int64
    assert not zeros.any()
    first, second = noise_shares(3.0, 2, 1000), noise_shares(3.0, 2, 1000)
    assert not np.array_equal(first, second)  # seeded from the OS, not reproducible
    with pytest.raises(ValueError, match="parties"):
        noise_shares(1.0, 0, 3)
    for scale in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="scale"):
            noise_shares(scale, 2, 3)


def test_variance_is_the_closed_form() -> None:
    for scale in (0.3, 1.0, 4.5, 100.0):
        assert variance(scale) == pytest.approx(law(scale).var(), rel=1e-9)
    assert variance(0.0) == 0.0


@pytest.mark.parametrize(("scale", "alpha"), [(2.0, 0.05), (30.0, 0.05), (30.0, 0.2)])
def test_accuracy_bounds_the_tail(scale: float, alpha: float) -> None:
    a = accuracy(scale, alpha)
    assert a == int(a) >= 0
    tail = 2 * law(scale).sf(a)  # exact P(|noise| > a)
    assert tail <= alpha
    assert 2 * law(scale).sf(a - 1) > alpha  # one unit narrower would not do
    sums = noise_sums(scale, 4, 200_000, seed=int(scale / alpha))
    observed = float(np.mean(np.abs(sums) > a))
    assert observed == pytest.approx(tail, abs=4 * math.sqrt(tail * (1 - tail) / 200_000))
    if scale >= 30:  # fine enough that the integer half-width loses little coverage
        assert observed == pytest.approx(alpha, rel=0.1)


def test_accuracy_edge_cases() -> None:
    assert accuracy(0.0) == 0.0
    assert accuracy(1.0, 1.0) == 0.0
    for alpha in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="alpha"):
            accuracy(1.0, alpha)


# -- the budget ----------------------------------------------------------------------------


def test_budget_spends_up_to_the_limit_then_refuses(tmp_path: Path) -> None:
    budget = Budget(tmp_path / "budget.sqlite")
    left = [budget.spend("cohort", "S-1", 0.1, 1.0, query=f"count {i}") for i in range(10)]
    assert left == pytest.approx([1.0 - 0.1 * (i + 1) for i in range(10)], abs=1e-9)
    assert left[-1] == 0.0
    assert budget.spent("cohort", "S-1") == pytest.approx(1.0)
    assert budget.remaining("cohort", "S-1", 1.0) == 0.0
    with pytest.raises(BudgetExceeded, match=r"asked for ε=0\.1.*only ε=0 .*raise the limit"):
        budget.spend("cohort", "S-1", 0.1, 1.0)
    history = budget.history("cohort", "S-1")
    assert [h["query"] for h in history] == [f"count {i}" for i in range(10)]
    assert [h["epsilon"] for h in history] == [0.1] * 10
    assert all(h["time"].endswith("+00:00") for h in history)
    # a raised limit leaves room again
    assert budget.spend("cohort", "S-1", 0.5, 1.5) == pytest.approx(0.0, abs=1e-9)


def test_budget_refuses_what_does_not_fit_and_records_nothing(tmp_path: Path) -> None:
    budget = Budget(tmp_path / "budget.sqlite")
    assert budget.spend("cohort", "S-1", 0.7, 1.0) == pytest.approx(0.3)
    with pytest.raises(BudgetExceeded) as refused:
        budget.spend("cohort", "S-1", 0.5, 1.0, query="too much")
    assert (refused.value.asked, refused.value.limit) == (0.5, 1.0)
    assert refused.value.remaining == pytest.approx(0.3)
    assert len(budget.history("cohort", "S-1")) == 1
    assert budget.spend("cohort", "S-1", 0.3, 1.0) == 0.0  # 0.7 + 0.3 fits exactly
    for epsilon in (0.0, -0.1, math.inf, math.nan):
        with pytest.raises(ValueError, match="epsilon") as error:
            budget.spend("cohort", "S-2", epsilon, 1.0)
        assert type(error.value) is ValueError
    with pytest.raises(ValueError, match="limit"):
        budget.spend("cohort", "S-2", 0.1, math.inf)


def test_budgets_are_per_dataset_and_study_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "budget.sqlite"
    budget = Budget(path)
    budget.spend("cohort", "S-1", 0.9, 1.0)
    budget.spend("cohort", "S-2", 0.4, 1.0)
    budget.spend("screening", "S-1", 0.2, 1.0)
    assert budget.spent("screening", "S-2") == 0.0
    assert budget.history("screening", "S-2") == []
    with pytest.raises(BudgetExceeded):
        budget.spend("cohort", "S-1", 0.2, 1.0)
    assert budget.spend("cohort", "S-2", 0.2, 1.0) == pytest.approx(0.4)
    reopened = Budget(path)
    assert reopened.spent("cohort", "S-1") == pytest.approx(0.9)
    assert reopened.spent("cohort", "S-2") == pytest.approx(0.6)
    assert reopened.remaining("screening", "S-1", 1.0) == pytest.approx(0.8)
    assert reopened.history("cohort", "S-2") == budget.history("cohort", "S-2")


@pytest.mark.parametrize(
    "epsilons", [[0.1] * 10, [0.3, 0.25, 0.05, 1.2], [2.0], [0.01 * (i + 1) for i in range(12)]]
)
def test_accounting_agrees_with_opendps_composition(tmp_path: Path, epsilons: list[float]) -> None:
    budget = Budget(tmp_path / "budget.sqlite")
    for epsilon in epsilons:
        budget.spend("cohort", "S-1", epsilon, 100.0)
    assert composed_epsilon(epsilons) == pytest.approx(budget.spent("cohort", "S-1"), rel=1e-9)
    assert composed_epsilon([]) == 0.0


def _spend_five(
    path: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.queues.Queue
) -> None:
    """One process's requests: five spendings of 0.1, all started together."""
    budget = Budget(Path(path))
    barrier.wait()
    granted = 0
    for i in range(5):
        try:
            budget.spend("cohort", "S-1", 0.1, 1.0, query=f"{os.getpid()}/{i}")
            granted += 1
        except BudgetExceeded:
            pass
    results.put(granted)


def test_budget_is_exact_under_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "budget.sqlite"
    Budget(path)
    # a fresh server process forks the workers: forking this one, where JAX runs threads,
    # may deadlock; the server imports the budget once, so the workers start fast
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tessera.privacy.budget"])
    barrier, results = context.Barrier(8), context.Queue()
    workers = [
        context.Process(target=_spend_five, args=(str(path), barrier, results)) for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    granted = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sum(granted) == 10
    budget = Budget(path)
    assert budget.spent("cohort", "S-1") == pytest.approx(1.0)
    assert len(budget.history("cohort", "S-1")) == 10
    assert budget.remaining("cohort", "S-1", 1.0) == 0.0


def test_budget_is_exact_under_concurrent_threads(tmp_path: Path) -> None:
    budget = Budget(tmp_path / "budget.sqlite")
    barrier = threading.Barrier(8)

    def spend_five() -> int:
        barrier.wait()
        granted = 0
        for _ in range(5):
            try:
                budget.spend("cohort", "S-1", 0.1, 1.0)
                granted += 1
            except BudgetExceeded:
                pass
        return granted

    with ThreadPoolExecutor(8) as pool:
        granted = [future.result() for future in [pool.submit(spend_five) for _ in range(8)]]
    assert sum(granted) == 10
    assert budget.spent("cohort", "S-1") == pytest.approx(1.0)
    assert len(budget.history("cohort", "S-1")) == 10
