"""Hospital data as hospitals hold it: FHIR R4 mCODE Bundles (`fhir`), oBDS 3.0 XML
(`obds`) and OMOP CDM 5.4 databases with the oncology extension (`omop`), read into the
canonical tables and written from them (so that round trips are tested exactly).

Each format module provides `read(source, table, progress=None) -> (DataFrame,
ImportReport)`, the frame canonical and validated, and `write(frame, table, destination)`.
"""

from __future__ import annotations

import importlib

import pandas as pd

from tessera.errors import InputError
from tessera.sources.formats.report import ImportReport, Progress, Refusal

FORMATS = ("fhir", "obds", "omop")


def module(name: str):
    """The format's module, loaded when used (each brings its own parser)."""
    if name not in FORMATS:
        raise InputError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}")
    return importlib.import_module(f"tessera.sources.formats.{name}")


def read(
    name: str, source, table: str, progress: Progress | None = None, **options
) -> tuple[pd.DataFrame, ImportReport]:
    """The canonical `table` from a `name`-format source, and what the import did."""
    return module(name).read(source, table, progress=progress, **options)


def write(name: str, frame: pd.DataFrame, table: str, destination, **options):
    """A canonical table written as the format, readable back exactly."""
    return module(name).write(frame, table, destination, **options)


__all__ = ["FORMATS", "ImportReport", "Progress", "Refusal", "module", "read", "write"]
