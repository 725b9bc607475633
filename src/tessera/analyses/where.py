"""`--where` filters: which joined patients an analysis counts, over columns of any party.

A filter is a boolean expression of comparisons, e.g.
`stage in ("III", "IV") and age_at_diagnosis >= 70 and not copd == 1`.
A comparison of one party's column with a constant (or with another of its own columns) is
evaluated by that party on its own rows, before anything is shared; the result enters the
MPC session as one more secret 0/1 column. A comparison of two parties' numeric columns is
evaluated inside MPC. `and`, `or` and `not` combine the 0/1 values inside MPC, so nobody
learns which rows pass. A comparison with a missing value is false.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

_OPERATORS = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.In: ("in", None),
    ast.NotIn: ("not in", None),
}
_FUNCTIONS = dict(_OPERATORS.values())
_HINT = 'write comparisons such as stage == "IV" or age_at_diagnosis >= 70, joined by and, or, not'


@dataclass(frozen=True)
class Comparison:
    """`column op value`, or `column op other` when `other` names a column."""

    column: str
    op: str
    value: object = None
    other: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.other is None else (self.column, self.other)

    def on_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """0/1 per row, evaluated by the party holding every column this compares."""
        left = frame[self.column]
        if self.other is not None:
            right = _numeric(frame[self.other], self.other)
            return _compare(_numeric(left, self.column), self.op, right)
        if self.op in ("in", "not in"):
            values = self.value
            numbers = all(isinstance(v, int | float) for v in values)
            series = _numeric(left, self.column) if numbers else left.astype("string")
            hit = series.isin([float(v) for v in values] if numbers else list(values))
            hit = hit & series.notna()
            return (hit if self.op == "in" else ~hit & series.notna()).to_numpy(float)
        if isinstance(self.value, str):
            if pd.api.types.is_datetime64_any_dtype(left):
                return _compare(left, self.op, pd.Timestamp(self.value))
            return _compare(left.astype("string"), self.op, self.value)
        return _compare(_numeric(left, self.column), self.op, self.value)

    def in_mpc(self, left, right):
        """The comparison of two parties' (value, present) columns, inside MPC."""
        function = _FUNCTIONS[self.op]
        return function(left[:, 0], right[:, 0]) * left[:, 1] * right[:, 1]


def _numeric(series: pd.Series, name: str) -> pd.Series:
    numbers = pd.to_numeric(series, errors="coerce").astype(float)
    if (numbers.isna() & series.notna()).any():  # name the column, never a value
        raise ValueError(f"--where compares {name!r} with a number, but it is not numeric")
    return numbers


def _compare(left: pd.Series, op: str, right) -> np.ndarray:
    function = _FUNCTIONS[op]
    present = left.notna() if np.ndim(right) == 0 else left.notna() & right.notna()
    result = function(left, right).fillna(False) & present
    return result.to_numpy(float)


@dataclass(frozen=True, eq=False)  # hashed by identity: JAX hashes what it compiles
class Filter:
    """A parsed `--where`: comparisons, and a tree combining them by index."""

    text: str
    comparisons: tuple[Comparison, ...]
    tree: tuple  # ("cmp", i) | ("not", tree) | ("and" | "or", tree, tree, ...)

    @classmethod
    def parse(cls, text: str) -> Filter:
        try:
            node = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            raise ValueError(f"--where {text!r} is not an expression: {_HINT}") from None
        comparisons: list[Comparison] = []
        tree = _tree(node, comparisons, text)
        return cls(text, tuple(comparisons), tree)

    @property
    def columns(self) -> tuple[str, ...]:
        names = (name for c in self.comparisons for name in c.columns)
        return tuple(dict.fromkeys(names))

    def local(self, owners: Mapping[str, str]) -> dict[int, str]:
        """The comparisons one party evaluates alone, by index, with that party."""
        found = {}
        for i, comparison in enumerate(self.comparisons):
            holders = {owners[name] for name in comparison.columns}
            if len(holders) == 1:
                found[i] = holders.pop()
        return found

    def evaluate(self, table: Mapping[str, object]):
        """The 0/1 weight of each row inside MPC (or in the clear, for the reference);
        `table["where:i"]` holds the locally evaluated comparison i."""

        def value(tree):
            kind = tree[0]
            if kind == "cmp":
                i = tree[1]
                if f"where:{i}" in table:
                    return table[f"where:{i}"][:, 0]
                comparison = self.comparisons[i]
                return comparison.in_mpc(table[comparison.column], table[comparison.other])
            if kind == "not":
                return 1.0 - value(tree[1])
            parts = [value(t) for t in tree[1:]]
            result = parts[0]
            for part in parts[1:]:
                result = result * part if kind == "and" else result + part - result * part
            return result

        return value(self.tree)


def _tree(node: ast.AST, comparisons: list[Comparison], text: str) -> tuple:
    if isinstance(node, ast.BoolOp):
        kind = "and" if isinstance(node.op, ast.And) else "or"
        return (kind, *(_tree(v, comparisons, text) for v in node.values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ("not", _tree(node.operand, comparisons, text))
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op = _OPERATORS.get(type(node.ops[0]))
        left, right = node.left, node.comparators[0]
        if op is not None and isinstance(left, ast.Name):
            comparisons.append(_comparison(left.id, op[0], right, text))
            return ("cmp", len(comparisons) - 1)
    raise ValueError(f"--where {text!r}: cannot use {ast.unparse(node)!r}; {_HINT}")


def _comparison(column: str, op: str, right: ast.AST, text: str) -> Comparison:
    if op in ("in", "not in"):
        if isinstance(right, ast.Tuple | ast.List | ast.Set) and right.elts:
            values = tuple(_constant(e, text) for e in right.elts)
            return Comparison(column, op, values)
        raise ValueError(f'--where {text!r}: {op!r} needs a list such as ("III", "IV")')
    if isinstance(right, ast.Name):
        if op not in ("==", "!=", "<", "<=", ">", ">="):
            raise ValueError(f"--where {text!r}: compare columns with ==, !=, <, <=, > or >=")
        return Comparison(column, op, other=right.id)
    return Comparison(column, op, _constant(right, text))


def _constant(node: ast.AST, text: str) -> object:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand, text)
        if isinstance(value, int | float):
            return -value
    constant = isinstance(node, ast.Constant) and isinstance(node.value, str | int | float)
    if constant and not isinstance(node.value, bool):
        return node.value
    raise ValueError(f"--where {text!r}: {ast.unparse(node)!r} is not a number or a quoted text")
