"""Cell suppression for released count tables: primary and complementary (secondary).

A released table (1-D to 4-D, e.g. stage × sex × year) has its small cells (1 ≤ n < k)
suppressed. That alone is not enough once margins are public: a lone suppressed cell in a
row is the row total minus the published cells. We assume, conservatively, that *every*
margin is public: the sum of every axis-aligned line, and so everything those sums imply
(the 2-D margins of a 3-D table, the grand total, ...). Complementary cells are suppressed
until no suppressed cell is a linear function of the published cells and the margins.

The stations that enforce the rule do not see the cell values: a blinded test tells them only
which cells are primary-suppressed and which are zero. `secondary` therefore works from masks
alone and is deterministic (no randomness, and decisions taken on thresholds far from the
round-off, so stations agree); given values (a local reference) it uses them only to prefer
suppressing smaller cells.

Guaranteed, for the mask `secondary` returns:

- No suppressed cell is *determined*: the system "line sums of the suppressed cells = the
  known remainders" has solutions in which that cell takes different values;
  `determined(mask)` is all False. This is linear algebra and holds whatever the values.
- If the complementary cells are non-zero (callers pass ``eligible = nonzero & ~primary``,
  as `suppress` does) and the counts are non-negative, every suppressed cell is ≥ 1, so a
  null-space direction v through a cell j, scaled to max |v_i| = 1, can be followed both
  ways (x ± v ≥ 0): j's feasible range under non-negativity has more than one value, and
  is at least 2|v_j| wide in the LP relaxation (two units for the ±1 box and cycle patterns).

Not guaranteed:

- Protection intervals of a given width (the p % or protection-level rules of τ-ARGUS):
  one unit either side can be all there is.
- Zeros are published (a zero is not a person). Only the last-resort fallback below
  suppresses them; then non-negativity can pin a cell although the linear algebra does not
  (a sparse table whose non-zero cells are nearly all small may have no better option).
- Integer (rather than LP) feasibility arguments, and other releases of overlapping tables
  (other groupings, earlier versions): only this table and its axis-aligned margins are
  modelled.

Conventions: an axis of length 1 has lines of one cell, whose "sum" is the cell itself and
not a separate margin, so it is ignored (the table behaves as if squeezed); a single-cell
table therefore has no margins. `apply` returns floats with NaN in suppressed cells (NaN
rather than None, so the result stays a numeric array).

How complementary cells are chosen (greedy; always for the determined cell j first in flat
order):

1. Exact one-cell lookahead. Suppressing c frees j iff c's column a_c of the line-sum matrix
   A lies in the span of the suppressed cells' columns and the solution of A z = a_c has
   z_j ≠ 0 (then (−z, 1) is a null vector through j). Among the cells that free j, take the
   one freeing most determined cells, then the smallest |value| (if given), then one sharing
   a line with a determined cell, then flat order. This finds the cheap closures, including
   those that use cells suppressed far away.
2. If no single cell frees j: the cheapest 2×…×2 box through j whose corners are all
   suppressed or eligible. Its alternating ±1 pattern is a null vector, and boxes are the
   smallest patterns that hide a cell (any null vector has at least 2^N non-zeros), so
   they are the natural multi-cell move. Ranked by: no sign conflict among possibly-zero
   corners (see 4), fewest new cells, most determined corners, smallest values, flat order.
3. If no such box exists (boxes blocked by zeros) but suppressing every eligible cell would
   free j: eligible cells are tried, those on j's lines first and then outwards, with the
   lookahead of step 1 after each, until one frees j; only the tried cells on the null
   vector found are kept. (If all eligible cells together leave j determined, so does any
   subset of them: suppressing more only enlarges the null space.)
4. Only then, the last resort: the box with the fewest ineligible (in practice: zero)
   corners, preferring boxes whose possibly-zero corners all carry the same sign (the
   pattern can then still be followed one way). This replaces "suppress j's whole lines",
   which does not work: in 2-D the full row and column through a cell form a tree in the
   row–column graph and leave it determined, whereas a box always frees it.

Cost: an incremental factorisation (`_Basis`) instead of an SVD per step, plus one QR at
the end to check the result independently. A 2,000-cell table takes ~10–20 ms in 2-D,
0.1–0.2 s in 3-D and 0.2–0.6 s in 4-D (where hiding a cell costs a 16-cell box); a 4-D
table with 30–40 % zeros, where step 3 is common, takes a few seconds.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import scipy.linalg

try:  # optional (installed with scikit-learn); see _single_threaded
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover - without it BLAS keeps its default threads
    _threadpool_limits = None

# Rank and membership thresholds. The constraint matrices are 0/1 and small, so the quantities
# compared here are either ~1e-14 (round-off) or at least ~1e-4 (1 / number of cells).
_RANK_TOL = 1e-9
_DET_TOL = 1e-7
_SPAN_TOL = 1e-7
_COEF_TOL = 1e-6


def _single_threaded() -> contextlib.AbstractContextManager[object]:
    """One BLAS thread: the products here are small, and on a busy machine (or under
    pytest-xdist) OpenBLAS threads waiting for a core made a 90×340 QR take 0.2 s, not 1 ms.
    """
    if _threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _threadpool_limits(limits=1, user_api="blas")


def primary(values: np.ndarray, min_cell: int) -> np.ndarray:
    """Cells with 1 ≤ value < min_cell: zeros are not people, negatives are DP noise."""
    v = np.asarray(values)
    if min_cell <= 1:
        return np.zeros(v.shape, dtype=bool)
    return (v >= 1) & (v < min_cell)


def _lines(shape: tuple[int, ...]) -> np.ndarray:
    """Global id of every cell's line along each axis of length ≥ 2: (n_cells, n_axes)."""
    n_cells = int(np.prod(shape, dtype=np.int64))
    idx = np.indices(shape).reshape(len(shape), n_cells)
    cols: list[np.ndarray] = []
    offset = 0
    for k, n in enumerate(shape):
        if n < 2:
            continue  # a line of one cell is the cell itself, not a margin
        others = [d for d in range(len(shape)) if d != k]
        oshape = tuple(shape[d] for d in others)
        if others:
            lid = np.ravel_multi_index(tuple(idx[d] for d in others), oshape)
        else:
            lid = np.zeros(n_cells, dtype=np.int64)
        cols.append(lid + offset)
        offset += int(np.prod(oshape, dtype=np.int64))
    if not cols:
        return np.zeros((n_cells, 0), dtype=np.int64)
    return np.stack(cols, axis=1)


def _determined_flat(lines: np.ndarray, mask_flat: np.ndarray) -> np.ndarray:
    """Flat indices of the determined suppressed cells, by one factorisation of A."""
    sup = np.flatnonzero(mask_flat)
    if sup.size == 0 or lines.shape[1] == 0:
        return sup[:0]
    cell_lines = lines[sup]
    _, inverse = np.unique(cell_lines, return_inverse=True)
    a = np.zeros((int(inverse.max()) + 1, sup.size))
    a[inverse.reshape(cell_lines.shape), np.arange(sup.size)[:, None]] = 1.0
    # Rank-revealing QR of Aᵀ (Householder with column pivoting): the first `rank` columns
    # of Q span the row space of A. Three times faster than an SVD here and, on these 0/1
    # matrices, the gap between the kept and the dropped |R_kk| is ~1e-2 against ~1e-14.
    q, r, _ = scipy.linalg.qr(a.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > _RANK_TOL * max(1.0, float(diag[0]))).sum())
    # e_j lies in the row space (j is determined) iff its projection onto it has norm 1,
    # i.e. iff every vector of the null space vanishes at j.
    return sup[1.0 - (q[:, :rank] ** 2).sum(axis=1) < _DET_TOL]


def determined(mask: np.ndarray) -> np.ndarray:
    """Suppressed cells recoverable exactly from the published cells and all line sums."""
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros(mask.size, dtype=bool)
    with _single_threaded():
        out[_determined_flat(_lines(mask.shape), mask.ravel())] = True
    return out.reshape(mask.shape)


class _Basis:
    """Incremental factorisation of the line-sum matrix A of the suppressed cells.

    Re-running an SVD after every added cell would cost a full factorisation per step;
    instead the column space of A grows one column at a time: an orthonormal basis Q
    (Gram–Schmidt, twice), the pivot cells whose columns raised the rank, and P = R⁻¹
    (A_pivots = Q R), so that a column a = Q w in the span is A z with z = P w on the pivots.
    A non-pivot cell always lies on a null vector (−z, 1); a pivot stays determined until
    some added column has z_k ≠ 0. Adding cells only ever enlarges the null space, so a cell
    once freed stays free. For every cell of the table the coordinates W = Qᵀ a_c and
    ‖Qᵀ a_c‖² are kept up to date (one gather per new pivot), which makes screening all
    candidates cheap: a_c is in the span iff ‖Qᵀ a_c‖² = ‖a_c‖² = number of its lines.
    """

    def __init__(self, lines: np.ndarray) -> None:
        self.lines = lines
        n_cells, self.m = lines.shape
        n_lines = int(lines.max()) + 1 if lines.size else 0
        cap = max(1, min(n_lines, n_cells))  # the rank is at most this
        self.qt = np.zeros((cap, n_lines))  # Q transposed: its first r rows are contiguous
        self.wt = np.zeros((cap, n_cells))  # Wᵀ: row k holds q_k · a_c for every cell c
        self.proj2 = np.zeros(n_cells)  # ‖Qᵀ a_c‖²
        self.p = np.zeros((cap, cap))
        self.pivot = np.full(cap, -1, dtype=np.int64)
        self.free = np.zeros(cap, dtype=bool)
        self.pos: dict[int, int] = {}
        self.r = 0

    def in_span(self, cells: np.ndarray) -> np.ndarray:
        return self.m - self.proj2[cells] < _SPAN_TOL

    def checkpoint(self) -> tuple[int, np.ndarray, np.ndarray, dict[int, int]]:
        """What `add` changes below row/column r; what it writes beyond is rewritten later."""
        return self.r, self.proj2.copy(), self.free.copy(), dict(self.pos)

    def rollback(self, saved: tuple[int, np.ndarray, np.ndarray, dict[int, int]]) -> None:
        self.r, self.proj2, self.free, self.pos = saved

    def add(self, cell: int) -> np.ndarray | None:
        """Add a cell's column; if it lies in the span, return z (A_pivots z = a_cell)."""
        r = self.r
        if self.in_span(np.array([cell]))[0]:
            z = self.p[:r, :r] @ self.wt[:r, cell]
            self.free[:r] |= np.abs(z) > _COEF_TOL
            return z
        rows, qt = self.lines[cell], self.qt[:r]
        w = self.wt[:r, cell].copy()
        res = -(w @ qt)
        res[rows] += 1.0
        rho = float(np.sqrt(res @ res))
        if rho * rho < 0.5 * self.m:  # much cancelled: a second pass (Kahan's "twice is enough")
            w2 = qt @ res
            res -= w2 @ qt
            w += w2
            rho = float(np.sqrt(res @ res))
        self.qt[r] = res / rho
        self.wt[r] = self.qt[r][self.lines].sum(axis=1)
        self.proj2 += self.wt[r] ** 2
        self.p[:r, r] = -(self.p[:r, :r] @ w) / rho
        self.p[r, r] = 1.0 / rho
        self.pivot[r] = cell
        self.pos[cell] = r
        self.r += 1
        return None

    def det_positions(self) -> np.ndarray:
        return np.flatnonzero(~self.free[: self.r])

    def is_determined(self, cell: int) -> bool:
        k = self.pos.get(cell)
        return k is not None and not self.free[k]

    def freeing(
        self, cand: np.ndarray, target: int, det_pos: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates that alone would free pivot `target`, and the determined pivots each frees."""
        r = self.r
        cand = cand[self.in_span(cand)]
        z_target = self.p[target, :r] @ self.wt[:r, cand]
        cand = cand[np.abs(z_target) > _COEF_TOL]
        z = self.p[det_pos, :r] @ self.wt[:r, cand]
        return cand, np.abs(z.T) > _COEF_TOL


def _best_box(
    j: tuple[int, ...],
    mask: np.ndarray,
    eligible: np.ndarray,
    weak: np.ndarray,
    det: np.ndarray,
    cost: np.ndarray,
    allow_ineligible: bool,
) -> list[tuple[int, ...]] | None:
    """New cells of the cheapest 2×…×2 box through j, or None if there is no allowed one.

    The box's null vector is +1 on corners an even number of flips away from j, −1 on the
    others. If the `weak` corners (possibly zero: neither primary nor eligible) all have the
    same sign, the vector can still be followed one way without going negative, so a box
    without that conflict is preferred to any box with it.
    """
    axes = [k for k, n in enumerate(mask.shape) if n >= 2]
    alts = [np.array([i for i in range(mask.shape[k]) if i != j[k]]) for k in axes]
    grids = np.meshgrid(*alts, indexing="ij")
    gshape = grids[0].shape
    n_new = np.zeros(gshape, dtype=np.int64)
    n_bad = np.zeros(gshape, dtype=np.int64)
    n_det = np.zeros(gshape, dtype=np.int64)
    vsum = np.zeros(gshape)
    weak_sign = [np.full(gshape, bool(weak[j])), np.zeros(gshape, dtype=bool)]
    corners = []
    for flips in itertools.product((False, True), repeat=len(axes)):
        if not any(flips):
            continue
        index: list[int | np.ndarray] = list(j)
        for a, k in enumerate(axes):
            if flips[a]:
                index[k] = grids[a]
        idx = tuple(index)
        new = ~mask[idx]
        n_new += new
        n_bad += new & ~eligible[idx]
        n_det += det[idx]
        vsum += np.where(new, cost[idx], 0.0)
        weak_sign[sum(flips) % 2] |= weak[idx]
        corners.append(idx)
    conflict = (weak_sign[0] & weak_sign[1]).ravel()
    ok = np.ones(n_new.size, dtype=bool) if allow_ineligible else n_bad.ravel() == 0
    if not ok.any():
        return None
    # lexsort: last key first, i.e. conflict, ineligible corners, new cells, determined corners
    # covered, values, flat order
    order = np.lexsort(
        (
            np.arange(n_new.size),
            vsum.ravel(),
            -n_det.ravel(),
            n_new.ravel(),
            n_bad.ravel(),
            conflict,
        )
    )
    best = int(order[ok[order]][0])
    g = np.unravel_index(best, gshape)
    out = []
    for idx in corners:
        cell = tuple(int(i if np.ndim(i) == 0 else i[g]) for i in idx)
        if not mask[cell]:
            out.append(cell)
    return out


def secondary(
    primary_mask: np.ndarray,
    eligible: np.ndarray | None = None,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """Primary plus complementary suppressions, so that no suppressed cell is determined.

    Complementary cells come from `eligible` (default: every non-suppressed cell; pass
    "not zero" so that non-negativity cannot pin a cell). `values`, if given, only steer
    the choice towards small cells (by absolute value). See the module docstring for the
    order of the moves and the fallbacks.
    """
    mask = np.array(primary_mask, dtype=bool)
    shape = mask.shape
    elig = ~mask if eligible is None else np.asarray(eligible, dtype=bool) & ~mask
    if elig.shape != shape:
        raise ValueError(f"eligible has shape {elig.shape}, the table {shape}")
    if values is None:
        cost = np.zeros(shape)
    else:
        cost = np.abs(np.asarray(values, dtype=float))
        if cost.shape != shape:
            raise ValueError(f"values have shape {cost.shape}, the table {shape}")
    weak = ~mask & ~elig  # cells that may be zeros (for `suppress`: exactly the zeros)
    lines = _lines(shape)
    with _single_threaded():
        for _rebuild in range(3):
            basis = _Basis(lines)
            for c in np.flatnonzero(mask):
                basis.add(int(c))
            _greedy(basis, mask, elig, weak, cost)
            # Independent check by the factorisation `determined` uses. The incremental
            # basis could only disagree through round-off; a fresh one then carries on.
            if _determined_flat(lines, mask.reshape(-1)).size == 0:
                return mask
    raise RuntimeError("secondary suppression did not converge numerically")


def _greedy(
    basis: _Basis, mask: np.ndarray, elig: np.ndarray, weak: np.ndarray, cost: np.ndarray
) -> None:
    """Add complementary cells to `mask` (in place) until the basis has no determined cell."""
    shape, lines = mask.shape, basis.lines
    flat_mask, flat_elig, flat_cost = mask.reshape(-1), elig.reshape(-1), cost.reshape(-1)

    def add(cells: np.ndarray | list[int]) -> None:
        for c in cells:
            flat_mask[c] = True
            basis.add(int(c))

    everything: _Basis | None = None
    while True:
        det_pos = basis.det_positions()
        if det_pos.size == 0:
            return
        det_cells = basis.pivot[det_pos]
        k = int(np.argmin(det_cells))  # the determined cell first in flat order
        j0 = int(det_cells[k])
        cand = np.flatnonzero(flat_elig & ~flat_mask)
        cand, cov = basis.freeing(cand, int(det_pos[k]), det_pos)
        if cand.size:
            inline = np.isin(lines[cand], lines[det_cells]).any(axis=1)
            add([int(cand[np.lexsort((cand, ~inline, flat_cost[cand], -cov.sum(axis=1)))[0]])])
            continue
        det_full = np.zeros(mask.size, dtype=bool)
        det_full[det_cells] = True
        det_full = det_full.reshape(shape)
        j = tuple(int(i) for i in np.unravel_index(j0, shape))
        box = _best_box(j, mask, elig, weak, det_full, cost, allow_ineligible=False)
        if box is None:
            if everything is None:  # every eligible cell suppressed: what is still determined
                everything = _Basis(lines)
                for c in np.flatnonzero(flat_mask | flat_elig):
                    everything.add(int(c))
            cells = None
            if not everything.is_determined(j0):
                cells = _free_with_eligible(basis, j0, flat_mask, flat_elig, flat_cost)
            if cells is not None:
                add(cells)
                continue
            # last resort: a box through zeros/ineligible cells, which always frees j
            box = _best_box(j, mask, elig, weak, det_full, cost, allow_ineligible=True)
            if box is None:  # pragma: no cover - every axis has length ≥ 2 here
                raise RuntimeError(f"cannot protect cell {j}")
            for cell in box:
                if not elig[cell]:
                    everything.add(int(np.ravel_multi_index(cell, shape)))
        add([int(np.ravel_multi_index(cell, shape)) for cell in box])


def _free_with_eligible(
    basis: _Basis, j0: int, flat_mask: np.ndarray, flat_elig: np.ndarray, flat_cost: np.ndarray
) -> list[int] | None:
    """Eligible cells that together free j0 (the caller knows that some set can), or None.

    Eligible cells are added on trial, nearest first (j0's own lines, then the lines of
    those cells, ...: the support of a null vector is connected through lines, so cells out
    of reach cannot help), then by value and flat order; after each one that grows the span,
    the one-cell lookahead asks whether some further cell now frees j0. That cell lies on a
    null vector (−z, 1) through j0, and the cells kept are those of its support, not
    everything tried.
    """
    lines = basis.lines
    allowed = flat_mask | flat_elig
    dist = np.full(flat_mask.size, -1, dtype=np.int64)
    dist[j0] = 0
    frontier = lines[j0]
    step = 0
    while frontier.size:
        step += 1
        reached = np.isin(lines, frontier).any(axis=1) & allowed & (dist < 0)
        dist[reached] = step
        frontier = np.unique(lines[reached])
    pool = np.flatnonzero(flat_elig & ~flat_mask & (dist > 0))
    pool = pool[np.lexsort((pool, flat_cost[pool], dist[pool]))]  # order of preference
    target = basis.pos[j0]
    saved = basis.checkpoint()
    found: list[int] | None = None
    for i, c in enumerate(pool):
        z = basis.add(int(c))
        if z is None:  # the span grew: can one more cell free j0 now?
            rest = pool[i + 1 :]
            hits, _ = basis.freeing(rest, target, np.array([target]))
            if hits.size == 0:
                continue
            c = rest[np.isin(rest, hits)][0]  # the first in order of preference
            z = basis.add(int(c))
            assert z is not None
        if abs(z[target]) > _COEF_TOL:
            # (−z, 1) is a null vector through j0: the tried cells on it are what j0 needs
            support = basis.pivot[: z.size][np.abs(z) > _COEF_TOL]
            found = [int(c), *(int(x) for x in support if not flat_mask[x])]
            break
    basis.rollback(saved)
    return found


def suppress(values: np.ndarray, min_cell: int) -> np.ndarray:
    """Primary and complementary suppression of a count table whose values are known."""
    values = np.asarray(values)
    p = primary(values, min_cell)
    return secondary(p, eligible=(values != 0) & ~p, values=values)


def apply(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The table as floats with NaN in suppressed cells (NaN keeps it a numeric array)."""
    out = np.array(values, dtype=float)
    out[np.asarray(mask, dtype=bool)] = np.nan
    return out
