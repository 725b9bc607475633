"""A station's privacy budget per (dataset, study), kept in SQLite and safe under concurrency.

Pure ε-DP composes sequentially: a study that runs queries at ε_1, ε_2, … on a dataset has
spent Σ ε_i, which is what OpenDP's composition of the same measurements reports
(`composed_epsilon`). A station records every spending before it releases anything and
refuses one that would take the total past the limit the data holder set.

Each `spend` is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the total
is read, so two requests (threads or processes, each with its own connection) cannot both
see the same remainder and both spend it. WAL lets readers go on meanwhile, and a busy
timeout makes a writer wait its turn instead of failing.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import opendp.prelude as dp

from tessera.errors import TesseraError
from tessera.privacy.noise import calibrate, measurement

# Spendings are floats: 10 × 0.1 adds up to 0.9999999999999999 and 0.1 + 0.2 to more than
# 0.3, so a total within this (relative to the limit, absolute below 1) counts as the limit.
TOLERANCE = 1e-9
TIMEOUT = 60.0  # seconds a spending waits for the write lock before giving up

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS spending (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset TEXT NOT NULL,
        study TEXT NOT NULL,
        epsilon REAL NOT NULL CHECK (epsilon > 0),
        query TEXT NOT NULL DEFAULT '',
        time TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS spending_by_budget ON spending (dataset, study)",
)


class BudgetExceeded(TesseraError, ValueError):
    """A query would take a study's spending on a dataset past its limit."""

    def __init__(
        self, dataset: str, study: str, asked: float, remaining: float, limit: float
    ) -> None:
        self.dataset, self.study = dataset, study
        self.asked, self.remaining, self.limit = asked, remaining, limit
        super().__init__(
            f"study {study!r} asked for ε={asked:g} on dataset {dataset!r}, but only "
            f"ε={remaining:g} of its limit ε={limit:g} is left; ask for ε <= {remaining:g} "
            "(coarser answers, fewer queries) or ask the data holder to raise the limit"
        )


def _check_epsilon(epsilon: float) -> float:
    epsilon = float(epsilon)
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be finite and > 0, not {epsilon}")
    return epsilon


def _check_limit(limit: float) -> float:
    limit = float(limit)
    if not math.isfinite(limit) or limit < 0:
        raise ValueError(f"the budget limit must be finite and >= 0, not {limit}")
    return limit


def _left(limit: float, spent: float) -> float:
    """What is left of `limit`; a remainder within the tolerance is nothing."""
    left = limit - spent
    return 0.0 if left <= TOLERANCE * max(1.0, limit) else left


class Budget:
    """The privacy budgets of one station, in the SQLite file at `path`.

    Every call opens its own connection, so one `Budget` may be shared by threads and
    several may point at the same file from different processes.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("COMMIT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: no implicit transactions, we BEGIN IMMEDIATE ourselves
        db = sqlite3.connect(self.path, timeout=TIMEOUT, isolation_level=None)
        with closing(db):
            db.execute(f"PRAGMA busy_timeout={int(TIMEOUT * 1000)}")
            yield db

    @staticmethod
    def _spent(db: sqlite3.Connection, dataset: str, study: str) -> float:
        rows = db.execute(
            "SELECT epsilon FROM spending WHERE dataset = ? AND study = ?", (dataset, study)
        )
        return math.fsum(epsilon for (epsilon,) in rows)

    def spend(
        self, dataset: str, study: str, epsilon: float, limit: float, query: str = ""
    ) -> float:
        """Record that `study` spends `epsilon` on `dataset` and return what is left of `limit`.

        Raises BudgetExceeded (and records nothing) if the spending would pass the limit.
        """
        epsilon, limit = _check_epsilon(epsilon), _check_limit(limit)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                spent = self._spent(db, dataset, study)
                if spent + epsilon > limit + TOLERANCE * max(1.0, limit):
                    raise BudgetExceeded(dataset, study, epsilon, _left(limit, spent), limit)
                db.execute(
                    "INSERT INTO spending (dataset, study, epsilon, query, time)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (dataset, study, epsilon, query, datetime.now(UTC).isoformat()),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return _left(limit, spent + epsilon)

    def spent(self, dataset: str, study: str) -> float:
        """The ε `study` has spent on `dataset` so far (0 if nothing)."""
        with self._connect() as db:
            return self._spent(db, dataset, study)

    def remaining(self, dataset: str, study: str, limit: float) -> float:
        """What is left of `limit` for `study` on `dataset` (never below 0)."""
        return _left(_check_limit(limit), self.spent(dataset, study))

    def history(self, dataset: str, study: str) -> list[dict]:
        """The spendings of `study` on `dataset`, oldest first: time (UTC), epsilon, query."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT time, epsilon, query FROM spending"
                " WHERE dataset = ? AND study = ? ORDER BY id",
                (dataset, study),
            ).fetchall()
        return [{"time": t, "epsilon": e, "query": q} for t, e, q in rows]


def composed_epsilon(epsilons: Sequence[float]) -> float:
    """The ε OpenDP's basic composition reports for queries run at `epsilons`.

    Each query is the discrete Laplace measurement calibrated to its ε (sensitivity 1), and
    the composition's privacy map at distance 1 is what the whole sequence costs, which is
    what `Budget` adds up (up to OpenDP's rounding, which is upwards).
    """
    epsilons = [_check_epsilon(epsilon) for epsilon in epsilons]
    if not epsilons:
        return 0.0
    queries = [measurement(calibrate(epsilon)) for epsilon in epsilons]
    return float(dp.c.make_composition(queries).map(1))
