"""What an import of hospital data (FHIR mCODE, oBDS XML, OMOP CDM) says it did: per field,
how many records were mapped from the source and how many took a default; and each record
it refused, with the record's own id and why.

A report names fields, codes systems and record ids (a FHIR resource id, an oBDS Meldung_ID,
an OMOP person_id), never a patient's value: a steward reads it, and may pass it on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[int, int | None], None]  # (records done, records in all, if known)


@dataclass(frozen=True)
class Refusal:
    """A record that did not become a row: `where` is its id in the source."""

    where: str
    reason: str


@dataclass
class ImportReport:
    format: str  # "fhir", "obds" or "omop"
    table: str  # the canonical table the rows are for
    rows: int = 0
    mapped: Counter = field(default_factory=Counter)  # canonical column -> rows with a value
    defaulted: Counter = field(default_factory=Counter)  # canonical column -> rows defaulted
    refused: list[Refusal] = field(default_factory=list)

    def refuse(self, where: str, reason: str) -> None:
        self.refused.append(Refusal(str(where), reason))

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "table": self.table,
            "rows": self.rows,
            "mapped": dict(sorted(self.mapped.items())),
            "defaulted": dict(sorted(self.defaulted.items())),
            "refused": [{"where": r.where, "reason": r.reason} for r in self.refused],
        }

    def __str__(self) -> str:
        lines = [f"{self.rows:,} {self.table} rows from {self.format}"]
        if self.mapped:
            shown = ", ".join(f"{k} {v:,}" for k, v in sorted(self.mapped.items()))
            lines.append(f"mapped: {shown}")
        if self.defaulted:
            shown = ", ".join(f"{k} {v:,}" for k, v in sorted(self.defaulted.items()))
            lines.append(f"defaulted: {shown}")
        lines += [f"refused {r.where}: {r.reason}" for r in self.refused]
        return "\n".join(lines)
