"""Reading a station's local table from a file (CSV, Parquet) or any SQLAlchemy database.

Readers return the data as the station holds it: CSV cells stay text so that '0123' and
'12a' reach validation unchanged, and no reader drops or reorders rows. Errors say what to
do next and never contain row values (those appear only in validation's report to the
steward) nor a database password.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
DELIMITERS = (",", ";", "\t")

# Comments, string literals and quoted identifiers: removed before looking at the statement.
_SQL_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", re.DOTALL)


def is_url(location: str) -> bool:
    """An SQLAlchemy URL (dialect[+driver]://...) rather than a file path."""
    return re.match(r"^[A-Za-z][\w+.-]*://", location) is not None


def read_file(path: Path) -> pd.DataFrame:
    """A CSV/TSV file as text cells, or a Parquet file with its own types."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"unsupported file type {suffix or '(none)'!r} for {path}: use one of "
            f"{', '.join(SUFFIXES)} or an SQLAlchemy URL such as postgresql+psycopg://user@host/db"
        )
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    if not path.is_file():
        raise ValueError(f"not a file: {path}")
    return read_csv(path) if suffix in CSV_SUFFIXES else read_parquet(path)


def read_csv(path: Path) -> pd.DataFrame:
    """Every column as text, split on ',' ';' or tab as the header shows; '' is missing."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            delimiter = sniff_delimiter(handle.readline())
        # header=None: a row with more cells than the header is an error instead of pandas
        # silently turning the first column into the index or dropping the last cells.
        cells = pd.read_csv(
            path,
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,  # 'NA' may be a real value (a name, a code): keep it
            na_values=[""],
            skip_blank_lines=False,  # a blank line is a row, so row numbers match the file
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text (invalid byte at position {error.start}); "
            "export it as UTF-8 (CSV UTF-8 in Excel)"
        ) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty: expected a header line with the column names") from None
    except pd.errors.ParserError as error:
        reason = str(error).strip().splitlines()[-1].removeprefix("Error tokenizing data. ")
        raise ValueError(
            f"{path}: cannot read as CSV with delimiter {delimiter!r}: {reason}"
        ) from None
    names = [
        f"Unnamed: {i}" if pd.isna(name) else str(name).strip()
        for i, name in enumerate(cells.iloc[0])
    ]
    repeated = sorted({n for n, count in Counter(names).items() if count > 1})
    if repeated:
        raise ValueError(
            f"{path}: the header has these columns more than once: {', '.join(repeated)}"
        )
    return cells.iloc[1:].set_axis(names, axis=1).reset_index(drop=True)


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most fields (',' on a tie)."""
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file through pyarrow, with the types it was written with."""
    import pyarrow

    try:
        return pd.read_parquet(path, engine="pyarrow")
    except (pyarrow.ArrowException, OSError) as error:
        raise ValueError(f"{path} is not a readable Parquet file: {error}") from None


def read_sql(url: str, sql_table: str | None = None, query: str | None = None) -> pd.DataFrame:
    """A whole table (reflected and quoted) or a SELECT query, read in a read-only transaction."""
    if (sql_table is None) == (query is None):
        raise ValueError(f"{safe_url(url)}: give exactly one of sql_table or query")
    if query is not None:
        check_query(query)
    engine = _engine(url)
    try:
        with _connect(engine, url) as connection:
            if sql_table is not None:
                statement: sa.Executable = sa.select(_reflect(connection, sql_table, url))
            else:
                statement = sa.text(query or "")
            try:
                return pd.read_sql(statement, connection)
            except SQLAlchemyError as error:
                what = "the query" if query is not None else f"reading {sql_table}"
                reason = _reason(error, url)
                raise ValueError(f"{safe_url(url)}: {what} failed: {reason}") from None
    finally:
        engine.dispose()


def check_query(query: str) -> None:
    """Accept a single SELECT or WITH statement; anything else is refused before connecting.

    This guards against mistakes, not against malice: reading also happens in a read-only
    transaction where the database supports one, and a station should connect as a user
    that may only read.
    """
    code = _SQL_NOISE.sub(" ", query).strip().rstrip(";").strip()
    first = re.match(r"[\s(]*(\w+)", code)
    if first is None or first.group(1).lower() not in ("select", "with"):
        raise ValueError(
            "only a SELECT (or WITH ... SELECT) query can be read; use sql_table for a table"
        )
    if ";" in code:
        raise ValueError(
            "give a single SELECT statement: the query contains ';' between statements"
        )


def safe_url(url: str | URL) -> str:
    """The URL as it may appear in logs and errors: without the password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(malformed database URL)"


def _engine(url: str) -> sa.Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            "malformed database URL: expected dialect+driver://user:password@host:port/database"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        on_disk = database not in ("", ":memory:") and not database.startswith("file:")
        if on_disk and not Path(database).is_file():  # SQLite would create an empty file
            raise ValueError(f"no such file: {database}")
    try:
        return sa.create_engine(parsed)
    except NoSuchModuleError:
        raise ValueError(
            f"{safe_url(parsed)}: unknown database dialect/driver {parsed.drivername!r}"
        ) from None
    except ModuleNotFoundError as error:
        hint = " (use postgresql+psycopg://)" if parsed.get_backend_name() == "postgresql" else ""
        raise ValueError(
            f"{safe_url(parsed)}: database driver not installed: {error}{hint}"
        ) from None


def _connect(engine: sa.Engine, url: str) -> Connection:
    """A connection that refuses writes where the database lets us say so."""
    try:
        connection = engine.connect()
    except DBAPIError as error:
        raise ValueError(f"cannot connect to {safe_url(url)}: {_reason(error, url)}") from None
    name = engine.dialect.name
    if name == "postgresql":
        connection = connection.execution_options(postgresql_readonly=True)
    elif name == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
    return connection


def _reflect(connection: Connection, sql_table: str, url: str) -> sa.Table:
    """The table's definition as the database has it, so its name is quoted, never pasted."""
    schema, _, name = sql_table.rpartition(".")
    inspector = sa.inspect(connection)
    where = f"{safe_url(url)}" + (f" schema {schema!r}" if schema else "")
    if schema and schema not in inspector.get_schema_names():
        schemas = ", ".join(inspector.get_schema_names()) or "(none)"
        raise ValueError(f"{safe_url(url)}: no schema {schema!r}; schemas: {schemas}")
    found = inspector.get_table_names(schema or None) + inspector.get_view_names(schema or None)
    if name not in found:
        listed = ", ".join(sorted(found)) or "(none)"
        raise ValueError(f"{where}: no table {name!r}; tables: {listed}")
    return sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=connection)


def _reason(error: SQLAlchemyError, url: str | None = None) -> str:
    """The driver's own words on one line, with any password blanked out."""
    original = getattr(error, "orig", None) or error
    reason = " ".join(line.strip() for line in str(original).splitlines() if line.strip())
    reason = reason or type(original).__name__
    password = make_url(url).password if url else None
    return reason.replace(str(password), "***") if password else reason
