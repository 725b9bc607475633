"""Cell suppression: hand examples, and an LP attacker who knows every margin."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.optimize import linprog

from tessera.privacy.disclosure import apply, determined, primary, secondary, suppress


def _lp_ranges(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Min and max of each suppressed cell (flat order) over the attacker's feasible set.

    The attacker knows the published cells and the sum of every axis-aligned line (axes of
    length ≥ 2), and that counts are non-negative; this is the LP relaxation of that.
    """
    shape, flat, sup_flat = values.shape, values.ravel(), mask.ravel()
    sup = np.flatnonzero(sup_flat)
    col = {int(c): i for i, c in enumerate(sup)}
    idx = np.arange(values.size).reshape(shape)
    rows, rhs = [], []
    for k in range(values.ndim):
        if shape[k] < 2:
            continue
        for line in np.moveaxis(idx, k, -1).reshape(-1, shape[k]):
            hidden = line[sup_flat[line]]
            if hidden.size == 0:
                continue
            row = np.zeros(sup.size)
            row[[col[int(c)] for c in hidden]] = 1.0
            rows.append(row)
            rhs.append(float(flat[line].sum() - flat[line[~sup_flat[line]]].sum()))
    a_eq, b_eq = np.array(rows), np.array(rhs)
    out = np.zeros((sup.size, 2))
    for i in range(sup.size):
        c = np.zeros(sup.size)
        c[i] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert lo.status == 0 and hi.status == 0
        out[i] = lo.fun, -hi.fun
    return out


def _random_table(rng: np.random.Generator, ndim: int) -> tuple[np.ndarray, int]:
    """Poisson counts with many small cells and some zeros, shapes up to 6×5×4."""
    shape = tuple(int(rng.integers(2, n + 1)) for n in (6, 5, 4)[:ndim])
    return rng.poisson(rng.uniform(1.5, 8.0), shape), int(rng.integers(3, 8))


def _assert_protected(values: np.ndarray, mask: np.ndarray) -> None:
    """No suppressed cell is determined, and each has at least one unit of LP range."""
    assert not determined(mask).any()
    ranges = _lp_ranges(values, mask)
    widths = ranges[:, 1] - ranges[:, 0]
    assert (widths >= 1 - 1e-6).all(), widths


def _check_random(values: np.ndarray, k: int, mask: np.ndarray) -> bool:
    """The module's promise: never determined; with no zero hidden, an LP range as well.

    Zeros may be hidden only when they must: when even hiding every non-zero cell would leave
    some cell determined (suppressing more only enlarges the null space). Returns whether a
    zero was hidden.
    """
    p = primary(values, k)
    assert (mask >= p).all()
    if not (mask & (values == 0)).any():
        if mask.any():
            _assert_protected(values, mask)
        return False
    assert not determined(mask).any()
    assert determined(p | (values != 0)).any()
    return True


# --- primary ----------------------------------------------------------------------------


def test_primary_flags_small_positive_cells_only():
    v = np.array([0, 1, 2, 4, 5, 9, -3, -1])
    assert primary(v, 5).tolist() == [False, True, True, True, False, False, False, False]
    assert not primary(v, 1).any()
    assert not primary(v, 0).any()
    assert primary(np.array([0.5, 1.0, 4.9, 5.0]), 5).tolist() == [False, True, True, False]


# --- hand examples ----------------------------------------------------------------------


def test_one_dimensional_table_with_a_public_total_needs_one_more_cell():
    v = np.array([5, 2, 7, 9])
    assert determined(primary(v, 3)).tolist() == [False, True, False, False]
    # the smallest other cell is taken
    assert suppress(v, 3).tolist() == [True, True, False, False]
    assert suppress(np.array([50, 2, 7, 30]), 3).tolist() == [False, True, True, False]
    # without values: flat order decides
    assert secondary(primary(np.array([50, 2, 7, 30]), 3)).tolist() == [True, True, False, False]


def test_single_small_cell_in_two_dimensions_gives_a_rectangle():
    v = np.full((4, 5), 40)
    v[1, 2] = 2
    v[3, 2], v[1, 4], v[3, 4] = 11, 12, 13  # the cheapest rectangle through (1, 2)
    mask = suppress(v, 5)
    expected = np.zeros_like(mask)
    expected[np.ix_([1, 3], [2, 4])] = True
    assert (mask == expected).all()
    _assert_protected(v, mask)


def test_single_small_cell_in_three_dimensions_gives_a_cube():
    v = np.full((3, 4, 3), 40)
    cube = np.ix_([0, 2], [1, 3], [0, 1])
    v[cube] = 10  # the cheapest 2×2×2 box through (2, 1, 0)
    v[2, 1, 0] = 3
    mask = suppress(v, 5)
    expected = np.zeros_like(mask)
    expected[cube] = True
    assert (mask == expected).all()
    _assert_protected(v, mask)


def test_two_small_cells_in_a_row_need_nothing_more_in_that_row():
    v = np.full((4, 4), 30)
    v[0, 0], v[0, 1] = 1, 3
    v[2, 0], v[2, 1] = 9, 8
    mask = suppress(v, 5)
    assert mask[0].sum() == 2  # the row hides them from each other already
    assert mask.sum() == 4  # but each column needs a partner: the same two columns below
    assert mask[2, 0] and mask[2, 1]
    _assert_protected(v, mask)


def test_determined_on_small_patterns():
    assert determined(np.ones((2, 2), dtype=bool)).sum() == 0
    three = np.ones((2, 2), dtype=bool)
    three[1, 1] = False
    assert (determined(three) == three).all()
    assert determined(np.array([True, False, False])).tolist() == [True, False, False]
    assert determined(np.array([True, True, False])).tolist() == [False, False, False]
    cube = np.ones((2, 2, 2), dtype=bool)
    assert not determined(cube).any()
    cube[1, 1, 1] = False  # seven corners of a cube are fixed by the 2-D margins
    assert (determined(cube) == cube).all()
    assert not determined(np.zeros((3, 3), dtype=bool)).any()


def test_axes_of_length_one_are_not_margins():
    v = np.array([5, 2, 7, 9])
    assert (determined(primary(v, 3)[None, :])[0] == determined(primary(v, 3))).all()
    assert (suppress(v[None, :, None], 3)[0, :, 0] == suppress(v, 3)).all()
    assert not determined(np.ones((1, 1), dtype=bool)).any()  # no margin but the cell


def test_fallback_to_the_lines_of_the_cell():
    # (0,0) is small and sits alone in its row and column; (1,2), (2,1), (2,2) are small too.
    # No single cell and no box of non-zero cells frees (0,0); its two other non-zero
    # neighbours do, by closing the 6-cycle through the small cells.
    v = np.array([[1, 5, 0], [5, 0, 2], [0, 2, 2]])
    mask = suppress(v, 3)
    assert (mask == (v != 0)).all()
    _assert_protected(v, mask)


def test_last_resort_box_through_a_zero():
    v = np.array([[1, 5, 0], [5, 0, 0], [0, 0, 0]])
    mask = suppress(v, 3)
    expected = np.zeros_like(mask)
    expected[:2, :2] = True  # (1,1) is a zero: no other way
    assert (mask == expected).all()
    _assert_protected(v, mask)  # one zero, on one side of the pattern: still a range


def test_apply_uses_nan():
    v = np.array([[5, 2], [7, 9]])
    out = apply(v, np.array([[False, True], [False, False]]))
    assert out.dtype == float
    assert np.isnan(out[0, 1]) and out[0, 0] == 5 and out[1, 1] == 9


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        secondary(np.zeros((2, 3), dtype=bool), eligible=np.ones((3, 2), dtype=bool))
    with pytest.raises(ValueError):
        secondary(np.zeros((2, 3), dtype=bool), values=np.ones(6))


# --- the LP attacker on random tables ---------------------------------------------------


@pytest.mark.parametrize("ndim", [2, 3])
def test_suppress_resists_the_lp_attack(ndim):
    rng = np.random.default_rng(100 + ndim)
    hidden, zeros_hidden = 0, 0
    for _ in range(30):
        v, k = _random_table(rng, ndim)
        mask = suppress(v, k)
        zeros_hidden += _check_random(v, k, mask)
        hidden += int(mask.sum())
    assert hidden > 250  # the check had something to bite on
    assert zeros_hidden <= 10  # tiny tables with a length-2 axis and zeros, mostly


@pytest.mark.parametrize("ndim", [2, 3])
def test_masks_only_resist_the_lp_attack(ndim):
    """What a station does: it knows which cells are small and which are zero, nothing more."""
    rng = np.random.default_rng(200 + ndim)
    zeros_hidden = 0
    for _ in range(24):
        v, k = _random_table(rng, ndim)
        p = primary(v, k)
        zeros_hidden += _check_random(v, k, secondary(p, eligible=(v != 0) & ~p))
    assert zeros_hidden <= 8


def test_four_dimensional_tables():
    rng = np.random.default_rng(4)
    for _ in range(3):
        v = rng.poisson(4.0, (3, 3, 2, 2))
        _assert_protected(v, suppress(v, 4))


def test_determined_agrees_with_the_lp():
    """Linear algebra vs LP: with every cell ≥ 1, a cell is pinned iff `determined` says so."""
    rng = np.random.default_rng(300)
    seen = {True: 0, False: 0}
    for it in range(16):
        shape = (5, 4) if it % 2 else (4, 3, 3)
        v = rng.poisson(5.0, shape) + 1
        mask = rng.random(shape) < rng.uniform(0.15, 0.6)
        if not mask.any():
            continue
        det = determined(mask).ravel()[np.flatnonzero(mask)]
        ranges = _lp_ranges(v, mask)
        pinned = ranges[:, 1] - ranges[:, 0] < 1e-6
        assert (pinned == det).all()
        seen[True] += int(det.sum())
        seen[False] += int((~det).sum())
    assert seen[True] > 20 and seen[False] > 20


def test_sparse_tables_keep_the_linear_guarantee():
    """Mostly zeros and small cells: zeros may have to be hidden, but no cell is determined."""
    rng = np.random.default_rng(400)
    for it in range(30):
        ndim = 1 + it % 3
        shape = tuple(int(rng.integers(2, n + 1)) for n in (6, 5, 4)[:ndim])
        v = rng.poisson(rng.uniform(0.3, 1.5), shape)
        p = primary(v, 3)
        for mask in (suppress(v, 3), secondary(p, eligible=(v != 0) & ~p)):
            assert (mask >= p).all()
            assert not determined(mask).any()


# --- determinism and speed --------------------------------------------------------------


def test_deterministic():
    rng = np.random.default_rng(500)
    v = rng.poisson(6.0, (6, 5, 4))
    p = primary(v, 5)
    first = secondary(p, eligible=(v != 0) & ~p)
    for _ in range(3):
        assert (secondary(p.copy(), eligible=((v != 0) & ~p).copy()) == first).all()
        assert (suppress(v.copy(), 5) == suppress(v, 5)).all()


def test_fast_on_a_2000_cell_table():
    rng = np.random.default_rng(600)
    v = rng.poisson(40.0, (40, 50))
    small = rng.random(v.shape) < 0.05
    v[small] = rng.integers(1, 5, int(small.sum()))
    start = time.perf_counter()
    mask = suppress(v, 5)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert (mask >= small).all() and not determined(mask).any()
