"""The audit ledger every party keeps a copy of and anyone can verify."""

from tessera.audit.ledger import (
    Chain,
    Entry,
    Ledger,
    LedgerError,
    Member,
    compare,
    read,
    sign_entry,
    token_hash,
    verify_ledger,
)

__all__ = [
    "Chain",
    "Entry",
    "Ledger",
    "LedgerError",
    "Member",
    "compare",
    "read",
    "sign_entry",
    "token_hash",
    "verify_ledger",
]
