"""Private record linkage: find the same patients across sources without a shared identifier."""

from tessera.linkage.normalise import normalise

__all__ = ["normalise"]
