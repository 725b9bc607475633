"""`python -m tessera` is the `tessera` command (how the demo starts its processes)."""

from tessera.cli import app

app(prog_name="tessera")
