"""Loading a station's local data (CSV, Parquet, any SQLAlchemy database) into the canonical model.

    from tessera.sources import load
    registry = load("export.csv", "registry", mapping="ncr.yaml")

A `Mapping` (usually a YAML file) renames local columns, recodes local values and parses
local date formats; validation then types the result or lists every problem with its row.
See docs/data-sources.md.
"""

from tessera.sources.mapping import Mapping
from tessera.sources.readers import SUFFIXES, check_query, safe_url
from tessera.sources.source import Source, load

__all__ = ["SUFFIXES", "Mapping", "Source", "check_query", "load", "safe_url"]
