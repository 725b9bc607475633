"""What a `publish` entry carries: a released result in the shape of its kind, checked.

The hub serves publications to anyone and renders them, so a publication must have the shape
of its kind whatever the publisher's software: every party that replays the ledger checks
it (`problem`), and the SDK shapes a result object with the same models (`shaped`). Which
kind a result is comes from the analysis registry (`Analysis.publishes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from tessera.analyses.registry import ANALYSES

Number = StrictInt | StrictFloat
Level = StrictStr | Number


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Counts(_Shape):
    """Counts across registries: per cell, its levels and a count (null: withheld)."""

    columns: Annotated[list[StrictStr], Field(min_length=1)]
    counts: list[list[Level | None]]

    @model_validator(mode="after")
    def _rows(self) -> Counts:
        _check_cells(self.counts, len(self.columns))
        return self


class CrossTable(_Shape):
    """Two categorical columns' cross-table: [row level, column level, count or null]."""

    rows: StrictStr
    cols: StrictStr
    counts: list[list[Level | None]]

    @model_validator(mode="after")
    def _rows(self) -> CrossTable:
        _check_cells(self.counts, 2)
        return self


class Curve(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    time: list[Number]
    survival: list[Number]
    at_risk: list[Number]
    events: list[Number]

    @model_validator(mode="after")
    def _aligned(self) -> Curve:
        lists = (self.time, self.survival, self.at_risk, self.events)
        if len({len(v) for v in lists}) != 1 or not all(map(_finite, (x for v in lists
                                                                      for x in v))):  # fmt: skip
            raise ValueError("a Kaplan-Meier curve's lists are numbers of one length")
        return self


class Curves(_Shape):
    """Kaplan-Meier curves by group, with the log-rank test (null with one group)."""

    groups: Annotated[dict[str, Curve], Field(min_length=1)]
    logrank: dict[str, Number | None] | None = None


SHAPES: dict[str, type[_Shape]] = {"counts": Counts, "crosstab": CrossTable,
                                   "kaplan-meier": Curves}  # fmt: skip
MESSAGES = {  # what to tell a publisher whose result is not of its kind's shape
    "counts": "counts name their columns",
    "crosstab": "a crosstab names its rows and cols",
    "kaplan-meier": "Kaplan-Meier curves come as groups",
}


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_cells(cells: list[list], levels: int) -> None:
    for row in cells:
        count = row[-1] if row else None
        named = all(isinstance(v, str) or _finite(v) for v in row[:-1])
        if len(row) != levels + 1 or not named or not (count is None or _finite(count)):
            raise ValueError(f"counts are rows of {levels} levels and a count (null: suppressed)")


def kinds() -> tuple[str, ...]:
    """The kinds of publication the catalogue's analyses release."""
    return tuple(dict.fromkeys(a.publishes for a in ANALYSES.values() if a.publishes))


class Publication(BaseModel):
    """A `publish` entry's body, less the task: its title, kind, epsilon (null: no noise),
    the release date the ledger attests, and the result."""

    model_config = ConfigDict(extra="allow", frozen=True)

    title: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    kind: StrictStr
    epsilon: Number | None = None
    released: StrictStr | None
    result: dict


def problem(body: Mapping[str, object], released: str | None) -> str | None:
    """What is wrong with a `publish` entry's body, if anything, in one sentence."""
    try:
        publication = Publication.model_validate(dict(body))
    except ValidationError as error:
        field = str(error.errors()[0]["loc"][0])
        return {
            "title": "a publication needs a title (at most 200 characters)",
            "epsilon": "epsilon is a positive number, or null when the release has no noise",
            "result": "a publication carries its result as an object",
        }.get(field, f"a publication's {field} is missing or malformed")
    if not publication.title.strip():
        return "a publication needs a title (at most 200 characters)"
    if publication.kind not in kinds() or publication.kind not in SHAPES:
        return f"publications are of kind {', '.join(kinds())}, not {publication.kind!r}"
    if publication.epsilon is not None and not publication.epsilon > 0:
        return "epsilon is a positive number, or null when the release has no noise"
    if publication.released != released:
        return f"the task's release is dated {released}, not {publication.released!r}"
    try:
        SHAPES[publication.kind].model_validate(publication.result)
    except ValidationError as error:
        reason = error.errors()[0]
        if reason["type"] == "value_error":
            return str(reason["msg"]).removeprefix("Value error, ")
        return MESSAGES[publication.kind]
    return None


def kind_of(result: object) -> str:
    """The kind of publication a result object is, by the registry's analyses."""
    name = type(result).__name__
    for entry in ANALYSES.values():
        if entry.publishes and entry.result == name:
            return entry.publishes
    publishable = sorted({a.result for a in ANALYSES.values() if a.publishes})
    raise TypeError(f"a {name} cannot be published: only {', '.join(publishable)} can")


def shaped(result: Any) -> tuple[str, dict]:
    """The kind and JSON of a result object that may be published."""
    kind = kind_of(result)
    if kind == "kaplan-meier":
        body = result.to_dict()
    elif kind == "crosstab":
        body = {"rows": result.rows, "cols": result.cols, "counts": result.cells}
    else:
        body = {"columns": list(result.by), "counts": result.cells}
        for extra in ("min_cell", "registries"):  # context a reader needs, when known
            if getattr(result, extra, None) is not None:
                body[extra] = getattr(result, extra)
    plain = _plain(body)
    SHAPES[kind].model_validate(plain)
    return kind, plain


def epsilon_of(result: object) -> float | None:
    """The release's privacy loss ε; None when it was not noised (no ε, or an infinite one)."""
    epsilon = getattr(result, "epsilon", None)
    if epsilon is None or not math.isfinite(float(epsilon)):
        return None
    return float(epsilon)


def _plain(value: object) -> object:
    """JSON values only: numpy scalars become Python ones, tuples lists, NaN null."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # a numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
