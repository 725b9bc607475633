"""`tessera local query`: counts, histograms and means over registries that share one
schema, each a pooled analysis of the registry (counts, histogram, mean)."""

from __future__ import annotations

from typing import Annotated

import typer

from tessera.analyses.registry import analysis
from tessera.cli import options as parse
from tessera.cli.options import (
    EpsilonOption,
    Format,
    FormatOption,
    LevelsOption,
    MinCellOption,
    PartyOption,
    PlotOption,
    RegistryThresholdOption,
    show,
    user_errors,
)
from tessera.cli.runner import pooled
from tessera.errors import InputError

app = typer.Typer()

RESOLUTION = analysis("mean").defaults("pooled")["resolution"]


@app.command("query")
def local_query(
    party: PartyOption,
    count: Annotated[bool, typer.Option("--count", help="Count patients (the default).")] = False,
    histogram: Annotated[
        str | None, typer.Option(help="Count a numeric column's values in --bins instead.")
    ] = None,
    mean: Annotated[
        str | None, typer.Option(help="Sum and average a numeric column within --bounds.")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Columns to count by, comma-separated, e.g. stage,sex.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help="Count only rows where this holds, e.g. 'morphology in (\"8140/3\",)'."),
    ] = None,
    bins: Annotated[
        str | None, typer.Option(help="With --histogram: LOW..HIGH/WIDTH or A,B,C edges.")
    ] = None,
    quantiles: Annotated[
        str | None, typer.Option(help="With --histogram: e.g. 0.25,0.5,0.75, from the bins.")
    ] = None,
    bounds: Annotated[
        str | None, typer.Option(help="With --mean: LOW,HIGH; values are clipped to them.")
    ] = None,
    resolution: Annotated[
        float | None,
        typer.Option(
            min=0.0, help=f"With --mean: values are rounded to this (default {RESOLUTION:g})."
        ),
    ] = None,
    epsilon: EpsilonOption = "1.0",
    min_cell: MinCellOption = None,
    levels: LevelsOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
    plot: PlotOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Counts, histograms or means across registries that share one schema, none
    revealing its own figures.

    Each registry encrypts its aggregate (plus its share of the noise) under a key the
    registries generated together; the sums are tested for small cells without being
    decrypted and then re-encrypted to you alone. `--epsilon inf` and `--min-cell 0`
    switch noise and suppression off; only local mode accepts them."""
    from tessera.analyses.grid import parse_edges

    with user_errors():
        chosen = [flag for flag, on in (("--count", count), ("--histogram", histogram),
                                        ("--mean", mean)) if on]  # fmt: skip
        if len(chosen) > 1:
            raise InputError(f"ask one query at a time, not {' and '.join(chosen)}")
        parse.epsilon(epsilon)  # before any file is read
        common = {"by": parse.listed(by, "--by"), "where": where, "min_cell": min_cell,
                  "levels": parse.levels(levels)}  # fmt: skip
        if histogram:
            if not bins:
                raise InputError("--histogram needs --bins LOW..HIGH/WIDTH")
            qs = parse.numbers(quantiles, "--quantiles")
            name, options = "histogram", {**common, "column": histogram,
                                          "edges": parse_edges(bins), "quantiles": qs}  # fmt: skip
        elif mean:
            if not bounds:
                raise InputError("--mean needs --bounds LOW,HIGH (its values are clipped there)")
            name, options = "mean", {**common, "column": mean,
                                     "bounds": parse.numbers(bounds, "--bounds"),
                                     "resolution": resolution}  # fmt: skip
        else:
            name, options = "counts", common
        result = pooled(name, party, options, epsilon, decrypt_threshold)
    show(result, format, plot)
