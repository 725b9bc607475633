"""The audit ledger every party keeps a copy of and anyone can verify."""

from tessera.audit.ledger import Entry, Ledger, LedgerError, compare, read, verify_ledger

__all__ = ["Entry", "Ledger", "LedgerError", "compare", "read", "verify_ledger"]
