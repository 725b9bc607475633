"""Mapping files: how a station's local columns, codes and date formats become canonical.

A data steward knows their export; the canonical model knows the analysis. The mapping is
the one place where the two meet, so it is a small YAML file the steward can read, review
and keep under version control, and it is checked strictly: a typo there would otherwise
surface as a confusing validation error far away.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tessera.schema import TABLES, Problem, SchemaError

KEYS = ("table", "columns", "codes", "dates", "constants")
_MISSING_COLUMN = "missing column"  # how validation words an absent required column


class _TextLoader(yaml.SafeLoader):
    """safe_load, except that scalars stay the text written: 01 is '01' (not 1), no is 'no'
    (not False), 2020-01-31 is a string. Only ~ / null / an empty value mean missing."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Mapping:
    """How a station's local columns and codes map onto a canonical table."""

    table: str
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> local column
    codes: dict[str, dict[str, str | None]] = field(default_factory=dict)  # local -> canonical
    dates: dict[str, str] = field(default_factory=dict)  # canonical -> strptime format
    constants: dict[str, str] = field(default_factory=dict)  # canonical -> value for every row
    origin: str = field(default="mapping", compare=False, repr=False)  # named in errors

    def __post_init__(self) -> None:
        problems = _check(self.table, self.columns, self.codes, self.dates, self.constants)
        if problems:
            raise _invalid(self.origin, problems)

    @classmethod
    def from_file(cls, path: str | Path) -> Mapping:
        """Read a YAML mapping file; every problem in it is reported at once."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        try:
            data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_TextLoader)
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: {_yaml_reason(error)}") from None
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not UTF-8 text; save the mapping file as UTF-8") from None
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: Any, origin: str = "mapping") -> Mapping:
        """Build a mapping from parsed YAML/JSON, reporting every problem in one ValueError."""
        if not isinstance(data, dict):
            kind = "empty" if data is None else f"a {type(data).__name__}"
            raise _invalid(origin, [f"expected keys {', '.join(KEYS)}; the mapping is {kind}"])
        problems = [
            f"unknown key {key!r} (allowed: {', '.join(KEYS)})" for key in data if key not in KEYS
        ]
        table = data.get("table")
        if not isinstance(table, str):
            problems.append("'table' is required: one of " + ", ".join(TABLES))
            table = ""
        columns = _names(data.get("columns"), "columns", problems)
        dates = _names(data.get("dates"), "dates", problems)
        constants = _names(data.get("constants"), "constants", problems)
        codes: dict[str, dict[str, str | None]] = {}
        for name, pairs in _section(data.get("codes"), "codes", problems).items():
            if not isinstance(pairs, dict):
                problems.append(f"codes.{name}: expected 'local value: canonical code' pairs")
                continue
            codes[str(name)] = {
                _scalar(k, f"codes.{name}", problems): _code(v, f"codes.{name}.{k}", problems)
                for k, v in pairs.items()
            }
        if table:
            problems += _check(table, columns, codes, dates, constants)
        if problems:
            raise _invalid(origin, problems)
        return cls(table, columns, codes, dates, constants, origin=origin)

    def apply(self, frame: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
        """Rename, recode, reformat dates to ISO and add constants; never drops rows or columns.

        Raises SchemaError naming every mapped local column that the data lacks.
        """
        mapped, problems = self.map(frame)
        if problems:
            raise SchemaError(self.table, problems, source)
        return mapped

    def map(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
        """Apply what fits the data and return what does not, so that validation can still
        report row problems in the same error instead of after the next round trip."""
        problems: list[Problem] = []
        present = [str(c) for c in frame.columns]
        renames: dict[str, str] = {}
        for canonical, local in self.columns.items():
            if local in present:
                renames[local] = canonical
            else:
                problems.append(Problem(canonical, _absent(local, self.origin, present)))
        after = [renames.get(c, c) for c in present]
        clashes = sorted({c for c, n in Counter(after).items() if n > 1})
        for name in clashes:
            sources = " and ".join(repr(c) for c in present if renames.get(c, c) == name)
            problems.append(Problem(name, f"two columns would be called {name!r}: {sources}"))
        if clashes:
            after = [c if renames.get(c, c) in clashes else renames.get(c, c) for c in present]
            if len(set(after)) < len(after):
                after = present
        out = frame.set_axis(after, axis=1)
        missing = {p.column for p in problems}
        for name in (*self.codes, *self.dates):
            if name not in out.columns and name not in missing:
                missing.add(name)
                problems.append(Problem(name, _absent(name, self.origin, present)))
        usable = set(out.columns) - set(clashes)
        for name, pairs in self.codes.items():
            if name in usable:
                out[name] = _recode(out[name], pairs)
        for name, form in self.dates.items():
            if name in usable:
                out[name] = _reformat_dates(out[name], form)
        for name, value in self.constants.items():
            if name in out.columns:
                problems.append(
                    Problem(name, f"set by 'constants' in {self.origin} but also in the data")
                )
            else:
                out[name] = pd.Series(value, index=out.index, dtype="object")
        return out, problems


def merge_problems(mapping_problems: list[Problem], error: SchemaError) -> list[Problem]:
    """The mapping's problems plus validation's, without reporting an absent column twice."""
    covered = {p.column for p in mapping_problems}
    kept = [
        p
        for p in error.problems
        if not (p.row is None and p.column in covered and p.message.startswith(_MISSING_COLUMN))
    ]
    return mapping_problems + kept


def _check(
    table: str,
    columns: dict[str, str],
    codes: dict[str, dict[str, str | None]],
    dates: dict[str, str],
    constants: dict[str, str],
) -> list[str]:
    """Problems a mapping has regardless of the data it will meet."""
    if table not in TABLES:
        return [f"unknown table {table!r}: choose one of {', '.join(TABLES)}"]
    spec = TABLES[table]
    problems: list[str] = []
    for section, names in (
        ("columns", columns),
        ("codes", codes),
        ("dates", dates),
        ("constants", constants),
    ):
        problems += [
            f"{section}: {_unknown(name, table, spec.column_names, section, columns)}"
            for name in names
            if name not in spec.column_names
        ]
    locals_seen: dict[str, list[str]] = {}
    for canonical, local in columns.items():
        locals_seen.setdefault(local, []).append(canonical)
    problems += [
        f"columns: local column {local!r} is mapped twice (to {' and '.join(names)})"
        for local, names in locals_seen.items()
        if len(names) > 1
    ]
    for name in dates:
        if name in spec.column_names and spec[name].kind != "date":
            problems.append(f"dates: {name!r} is not a date column of the {table!r} table")
    for name in constants:
        if name in columns or name in codes or name in dates:
            problems.append(
                f"constants: {name!r} is also mapped from the data; keep one of the two"
            )
    for name, form in dates.items():
        if "%" not in form:
            problems.append(f"dates.{name}: {form!r} is not a strptime format such as '%d-%m-%Y'")
    return problems


def _unknown(
    name: str, table: str, known: tuple[str, ...], section: str, columns: dict[str, str]
) -> str:
    message = f"{name!r} is not a column of the {table!r} table"
    if section == "columns" and columns.get(name) in known:
        return message + f" (write 'canonical: local', e.g. '{columns[name]}: {name}')"
    close = difflib.get_close_matches(name, known, n=1)
    return message + (f" (did you mean {close[0]!r}?)" if close else "")


def _absent(local: str, origin: str, present: Iterable[str]) -> str:
    close = difflib.get_close_matches(local, list(present), n=3)
    hint = f"; similar: {', '.join(close)}" if close else ""
    return f"local column {local!r} (from {origin}) is not in the data{hint}"


def _section(value: Any, name: str, problems: list[str]) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{name}: expected 'canonical column: value' pairs")
        return {}
    return value


def _names(value: Any, name: str, problems: list[str]) -> dict[str, str]:
    return {
        str(k): _scalar(v, f"{name}.{k}", problems)
        for k, v in _section(value, name, problems).items()
    }


def _scalar(value: Any, where: str, problems: list[str]) -> str:
    """A YAML scalar as the text the steward wrote; booleans are ambiguous (yes/on/true)."""
    if isinstance(value, bool):
        problems.append(f"{where}: {value} is a YAML boolean; quote the value, e.g. 'yes'")
    elif value is None or isinstance(value, dict | list):
        problems.append(f"{where}: expected a single value")
    return str(value)


def _code(value: Any, where: str, problems: list[str]) -> str | None:
    """A canonical code, or None: a local value that means 'unknown' becomes missing."""
    return None if value is None else _scalar(value, where, problems)


def _text(value: object) -> str:
    """A local value as the text it stands for: 1, 1.0 and ' 1' all read as '1'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _recode(values: pd.Series, pairs: dict[str, str | None]) -> pd.Series:
    """Translate listed local values; others pass through so that validation reports them."""
    lookup: dict[object, object] = {}
    for value in pd.unique(values.dropna()):
        text = _text(value)
        if text in pairs:
            code = pairs[text]
            lookup[value] = pd.NA if code is None else code
        else:
            lookup[value] = value
    return values.astype("object").map(lookup)


def _reformat_dates(values: pd.Series, form: str) -> pd.Series:
    """Local dates to ISO text; values that do not parse stay as they are for validation."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("object")
    lookup: dict[object, object] = {}
    for value in pd.unique(values.dropna()):
        if isinstance(value, datetime):
            lookup[value] = value.date().isoformat()
        elif isinstance(value, date):
            lookup[value] = value.isoformat()
        else:
            try:
                lookup[value] = datetime.strptime(_text(value), form).date().isoformat()
            except ValueError:
                lookup[value] = value
    return values.astype("object").map(lookup)


def _yaml_reason(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "invalid YAML"
    if mark is None:
        return f"YAML syntax error: {problem}"
    return f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _invalid(origin: str, problems: list[str]) -> ValueError:
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return ValueError(
        f"{origin}: invalid mapping ({count}):\n" + "\n".join(f"  - {p}" for p in problems)
    )
