"""A station's table: where it lives, how it maps, and loading it into the canonical model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tessera.schema import Problem, SchemaError, validate
from tessera.schema import table as canonical_table
from tessera.sources.mapping import Mapping, merge_problems
from tessera.sources.readers import is_url, read_file, read_sql, safe_url


@dataclass(frozen=True)
class Source:
    """Where a station's table lives: a file path or an SQLAlchemy URL (+ table or query)."""

    location: str  # .csv/.tsv/.parquet/.pq path, or e.g. postgresql+psycopg://user@host/db
    table: str  # canonical table name
    mapping: Mapping | None = None
    sql_table: str | None = None  # for SQL: a table, optionally "schema.table"
    query: str | None = None  # for SQL: a read-only SELECT instead of sql_table

    def __post_init__(self) -> None:
        canonical_table(self.table)  # a wrong name fails here, listing the right ones
        if self.mapping is not None and self.mapping.table != self.table:
            raise ValueError(
                f"{self.mapping.origin} maps onto the {self.mapping.table!r} table, "
                f"not {self.table!r}"
            )
        if is_url(self.location):
            if (self.sql_table is None) == (self.query is None):
                raise ValueError(f"{self.label}: give exactly one of sql_table or query")
        elif self.sql_table is not None or self.query is not None:
            raise ValueError(f"{self.location}: sql_table and query apply only to a database URL")

    @property
    def label(self) -> str:
        """How errors name this source: the path, or the URL without its password."""
        if not is_url(self.location):
            return self.location
        what = f"table {self.sql_table}" if self.sql_table is not None else "query"
        return f"{safe_url(self.location)} {what}"

    def read(self) -> pd.DataFrame:
        """The local table as stored, before mapping and validation."""
        if is_url(self.location):
            frame = read_sql(self.location, self.sql_table, self.query)
        else:
            frame = read_file(Path(self.location))
        repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        if repeated:  # e.g. SELECT a.id, b.id: one would shadow the other downstream
            raise ValueError(
                f"{self.label}: these columns occur more than once: {', '.join(repeated)}; "
                "give them distinct names"
            )
        return frame

    def load(self) -> pd.DataFrame:
        """The canonical, typed table, or one SchemaError listing everything to fix."""
        raw = self.read()
        problems: list[Problem] = []
        frame = raw
        if self.mapping is not None:
            frame, problems = self.mapping.map(raw)
        try:
            out = validate(frame, self.table, source=self.label)
        except SchemaError as error:
            if not problems:
                raise
            raise SchemaError(self.table, merge_problems(problems, error), self.label) from None
        if problems:
            raise SchemaError(self.table, problems, self.label)
        if len(out) != len(raw):  # cannot happen; checked because a silent loss would be worse
            raise RuntimeError(f"{self.label}: {len(raw)} rows read but {len(out)} loaded")
        return out


def load(
    location: str | Path,
    table: str,
    mapping: Mapping | str | Path | None = None,
    sql_table: str | None = None,
    query: str | None = None,
) -> pd.DataFrame:
    """Load a canonical table from a file or database, with an optional mapping (or its file)."""
    if isinstance(mapping, str | Path):
        mapping = Mapping.from_file(mapping)
    return Source(str(location), table, mapping, sql_table, query).load()
