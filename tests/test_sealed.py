"""Sealed messages: only the recipient reads them, only the named sender can have written
them, and they do not open in another context."""

from __future__ import annotations

import pytest

from tessera.crypto.keys import Identity
from tessera.crypto.sealed import SealError, seal, unseal

RESEARCHER, STATION, OTHER = (Identity.generate(n) for n in ("researcher", "registry", "gp"))
MESSAGE = b'{"analysis": "cox", "covariates": ["age_at_diagnosis", "copd"]}'


def test_the_recipient_reads_what_the_sender_sealed():
    sealed = seal(MESSAGE, RESEARCHER, STATION.public, "task 41 parameters")
    assert MESSAGE not in sealed and b"cox" not in sealed
    assert unseal(sealed, STATION, RESEARCHER.public, "task 41 parameters") == MESSAGE
    # fresh randomness each time: equal messages do not look equal
    assert seal(MESSAGE, RESEARCHER, STATION.public, "task 41 parameters") != sealed


def test_nobody_else_opens_it_and_nothing_else_passes():
    sealed = seal(MESSAGE, RESEARCHER, STATION.public, "task 41 parameters")
    with pytest.raises(SealError, match="cannot open"):
        unseal(sealed, OTHER, RESEARCHER.public, "task 41 parameters")  # another station
    with pytest.raises(SealError, match="cannot open"):
        unseal(sealed, STATION, RESEARCHER.public, "task 42 parameters")  # moved to a task
    with pytest.raises(SealError, match="not sealed by gp"):
        unseal(sealed, STATION, OTHER.public, "task 41 parameters")  # claimed by another
    altered = bytearray(sealed)
    altered[-5] ^= 1
    with pytest.raises(SealError, match="cannot open"):
        unseal(bytes(altered), STATION, RESEARCHER.public, "task 41 parameters")
    with pytest.raises(SealError):
        unseal(b"short", STATION, RESEARCHER.public, "task 41 parameters")
