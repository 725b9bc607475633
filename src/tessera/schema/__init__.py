"""The canonical cancer data model: tables, code lists and validation.

Stations map local data onto these tables; analyses refer to their column names.
"""

from tessera.schema.tables import GP, IDENTIFIERS, REGISTRY, SURVEY, TABLES, Column, Table, table
from tessera.schema.validate import Problem, SchemaError, validate

__all__ = [
    "GP",
    "IDENTIFIERS",
    "REGISTRY",
    "SURVEY",
    "TABLES",
    "Column",
    "Problem",
    "SchemaError",
    "Table",
    "table",
    "validate",
]
