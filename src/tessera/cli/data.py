"""Commands on data at hand: make a synthetic cohort, summarise it, show the canonical
schema, check local data against it."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tessera.cli.options import Format, err, user_errors

app = typer.Typer()


class Cancer(StrEnum):
    nsclc = "nsclc"
    ovarian = "ovarian"


@app.command()
def synth(
    cancer: Annotated[Cancer, typer.Argument(help="Which cancer: nsclc or ovarian.")],
    out: Annotated[Path, typer.Option(help="Directory to write the Parquet files into.")],
    patients: Annotated[int, typer.Option(min=1, help="Number of cancer patients.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    registries: Annotated[
        int | None,
        typer.Option(min=1, help="Also split the registry into K regional registries."),
    ] = None,
    pseudonyms: Annotated[
        bool, typer.Option("--pseudonyms", help="Add a shared pseudonym column to every source.")
    ] = False,
    error_scale: Annotated[
        float, typer.Option(min=0.0, help="Multiply every identifier error rate (0 = exact).")
    ] = 1.0,
    gp_without_cancer: Annotated[
        float, typer.Option(min=0.0, help="People without cancer in the GP data per patient.")
    ] = 1.0,
) -> None:
    """Generate a synthetic cohort: registry, GP and survey tables plus truth.json."""
    from tessera.synth import generate

    with user_errors():
        with err.status(f"generating {patients:,} {cancer.value} patients"):
            cohort = generate(
                cancer.value,
                patients,
                seed=seed,
                registries=registries,
                pseudonyms=pseudonyms,
                error_scale=error_scale,
                gp_without_cancer=gp_without_cancer,
            )
        with err.status(f"writing {out}"):
            paths = cohort.write(out)
    for path in paths:
        print(path)


@app.command()
def summary(
    directory: Annotated[Path, typer.Argument(help="A directory written by `tessera synth`.")],
    format: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    plot: Annotated[
        Path | None, typer.Option(help="Also save Kaplan-Meier curves by stage to this PNG.")
    ] = None,
) -> None:
    """Summarise a synthetic cohort: overlap of the sources and survival by stage."""
    from tessera.synth import summarise

    with user_errors():
        result = summarise(directory)
        if plot is not None:
            result.plot(directory).figure.savefig(plot, dpi=120, bbox_inches="tight")
    print(json.dumps(result.to_dict(), indent=1) if format is Format.json else result)


@app.command()
def schema(
    tables: Annotated[
        list[str] | None, typer.Argument(help="Tables to show (default: all).")
    ] = None,
) -> None:
    """Show the canonical tables, their columns and the codes they accept (Markdown)."""
    from tessera.schema import table
    from tessera.schema.describe import describe

    with user_errors():
        for name in tables or []:
            table(name)
        print(describe(tables), end="")


@app.command()
def validate(
    location: Annotated[str, typer.Argument(help="CSV/Parquet file or SQLAlchemy URL.")],
    table: Annotated[str, typer.Option(help="Canonical table: registry, gp or survey.")],
    mapping: Annotated[
        Path | None, typer.Option(help="YAML mapping of local columns and codes.")
    ] = None,
    sql_table: Annotated[str | None, typer.Option(help="Table to read from a database.")] = None,
    query: Annotated[str | None, typer.Option(help="SELECT to read from a database.")] = None,
) -> None:
    """Check that local data maps onto a canonical table; list every problem if not."""
    from tessera.sources import load

    with user_errors():
        frame = load(location, table, mapping=mapping, sql_table=sql_table, query=query)
    print(f"ok: {len(frame):,} rows fit the canonical {table!r} table")
