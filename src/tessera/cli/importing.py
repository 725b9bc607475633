"""`tessera import`: hospital data (FHIR mCODE, oBDS XML, OMOP CDM) into a canonical table,
with a progress bar and a report of what was mapped, defaulted or refused."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tessera.cli.options import Format, err, user_errors

app = typer.Typer()


class Hospital(StrEnum):
    fhir = "fhir"
    obds = "obds"
    omop = "omop"


@app.command("import")
def import_(
    format: Annotated[Hospital, typer.Argument(help="fhir, obds or omop.")],
    source: Annotated[
        str,
        typer.Argument(
            help="FHIR: a Bundle (.json), ndjson or a directory of them; oBDS: an XML file "
            "or a directory; OMOP: a database URL such as postgresql+psycopg://user@host/db."
        ),
    ],
    out: Annotated[Path, typer.Option(help="The canonical table to write (.parquet or .csv).")],
    table: Annotated[str, typer.Option(help="Canonical table: registry or gp.")] = "registry",
    schema: Annotated[str | None, typer.Option(help="OMOP: the CDM's database schema.")] = None,
    report_format: Annotated[
        Format, typer.Option("--report", help="How to print the report: table or json.")
    ] = Format.table,
) -> None:
    """Import a hospital format into a canonical table; the report names what was mapped,
    defaulted or refused, per field and record id, never a patient's value."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tessera.sources import formats

    with user_errors():
        if out.suffix.lower() not in (".parquet", ".pq", ".csv"):
            raise ValueError(f"--out {out}: write a .parquet or .csv file")
        options = {"schema": schema} if schema else {}
        if schema and format is not Hospital.omop:
            raise ValueError("--schema applies to omop only")
        columns = (TextColumn("importing {task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            shown = bar.add_task(f"{format.value} records", total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(shown, completed=done, total=total)

            frame, report = formats.read(format.value, source, table, progress, **options)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            frame.to_csv(out, index=False)
        else:
            frame.to_parquet(out, index=False)
    print(json.dumps(report.to_dict(), indent=1) if report_format is Format.json else report)
    err.print(f"wrote {len(frame):,} rows to {out}", highlight=False)
