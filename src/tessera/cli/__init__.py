"""The `tessera` command, built from its command modules:

- `tessera.cli.data`: synth, summary, schema, validate;
- `tessera.cli.importing`: import (FHIR mCODE, oBDS, OMOP into a canonical table);
- `tessera.cli.federation`: operator, hub, enrol, station, study, login, demo, audit;
- `tessera.cli.local_pooled` and `tessera.cli.local`: `tessera local ...`, which run the
  analyses of `tessera.analyses.registry` through `tessera.cli.runner`.

They share one set of options, parsers and error handling (`tessera.cli.options`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from tessera import __version__
from tessera.cli import data, federation, importing, local, local_pooled

app = typer.Typer(
    help="Tessera: privacy-preserving analysis of cancer data that stays at home.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"tessera {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Tessera: privacy-preserving analysis of cancer data that stays at home."""


local_app = typer.Typer(
    help="Run an analysis among separate local party processes, exactly as stations will.",
    no_args_is_help=True,
)
local_app.add_typer(local_pooled.app)  # query first, then the others in catalogue order
local_app.add_typer(local.app)

app.add_typer(data.app)
app.add_typer(importing.app)
app.add_typer(federation.app)
app.add_typer(local_app, name="local")

__all__ = ["app"]
