"""The notation the name and address lists are written in, so that hundreds of weighted
names fit in a few readable string literals.
"""

from __future__ import annotations


def weighted(spec: str) -> tuple[tuple[str, int], ...]:
    """Parse "Johannes 60, de Jong 86": the last word of each item is its weight."""
    items = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            name, weight = item.rsplit(" ", 1)
            items.append((name.strip(), int(weight)))
    return tuple(items)


def words(spec: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a long literal into its words (or comma-separated items when `sep` is given)."""
    return tuple(w.strip() for w in spec.split(sep) if w.strip())
