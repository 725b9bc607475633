"""The root of Tessera's own exceptions, so a caller can catch everything the platform
raises on purpose (`except TesseraError`) apart from programming errors.

Each subclass also keeps the built-in base its callers have always caught (`ValueError` for
bad input, `RuntimeError` for a failed run, ...), so `except ValueError` goes on working.
Messages name columns, parties and rules, never a patient's value: they reach researchers.
"""

from __future__ import annotations


class TesseraError(Exception):
    """Something Tessera refused or could not do; the message says what to do about it."""


class InputError(TesseraError, ValueError):
    """Input the user can correct: an option, a file, a column, a configuration."""
