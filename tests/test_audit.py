"""The audit ledger: every change, deletion, insertion or reordering is found and named."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from tessera.audit import Ledger, LedgerError, compare, read, verify_ledger
from tessera.cli import app
from tessera.crypto.keys import Identity, fingerprint

OPERATOR = Identity.generate("operator")
REGISTRY = Identity.generate("registry")
GP = Identity.generate("gp")


@pytest.fixture
def ledger(tmp_path):
    """Genesis, two enrolments, then entries by both stations: 8 entries."""
    book = Ledger.create(tmp_path / "ledger.jsonl", OPERATOR)
    book.enrol(OPERATOR, REGISTRY.public, "station")
    book.enrol(OPERATOR, GP.public, "station")
    book.append(OPERATOR, "study proposed", {"study": "s1", "purpose": "DUO:0000007"})
    book.append(REGISTRY, "study approved", {"study": "s1"})
    book.append(GP, "study approved", {"study": "s1"})
    book.append(REGISTRY, "task run", {"study": "s1", "analysis": "kaplan-meier"})
    book.append(GP, "task run", {"study": "s1", "analysis": "kaplan-meier"})
    return book


def lines(book: Ledger) -> list[str]:
    return book.path.read_text().splitlines()


def rewrite(book: Ledger, new: list[str]) -> None:
    book.path.write_text("".join(line + "\n" for line in new))


def verdict(path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", "--ledger", str(path)])
    return result.exit_code, result.output


def test_an_untouched_ledger_verifies(ledger):
    head = verify_ledger(ledger.entries(), fingerprint(OPERATOR.public.signing))
    code, output = verdict(ledger.path)
    assert code == 0 and "ok: 8 entries" in output and head in output


def test_a_changed_body_is_named(ledger):
    text = lines(ledger)
    entry = json.loads(text[4])
    entry["body"]["study"] = "s2"
    text[4] = json.dumps(entry)
    rewrite(ledger, text)
    code, output = verdict(ledger.path)
    assert code == 1 and "entry 4: the signature is not by 'registry'" in output


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (lambda t: t[:3] + t[4:], 3),  # deletion
        (lambda t: [*t[:5], t[5], *t[5:]], 6),  # insertion of a copy
        (lambda t: [*t[:4], t[5], t[4], *t[6:]], 4),  # reordering
    ],
)
def test_deletion_insertion_and_reordering_are_named(ledger, edit, line):
    rewrite(ledger, edit(lines(ledger)))
    code, output = verdict(ledger.path)
    assert code == 1 and f"entry {line}:" in output


def test_a_well_formed_forgery_is_refused(ledger, tmp_path):
    """An outsider re-chains and re-signs everything after entry 3 with its own key."""
    mallory = Identity.generate("registry")
    forged = Ledger(tmp_path / "forged.jsonl")
    rewrite(forged, lines(ledger)[:4])
    with pytest.raises(LedgerError, match="entry 4: the signature is not by 'registry'"):
        forged.append(mallory, "study approved", {"study": "s9"})
    stranger = Identity.generate("stranger")
    with pytest.raises(LedgerError, match="'stranger' was never enrolled"):
        forged.append(stranger, "task run", {})
    with pytest.raises(LedgerError, match="only the operator may enrol"):
        forged.enrol(REGISTRY, stranger.public, "station")
    with pytest.raises(LedgerError, match="not the expected operator"):
        verify_ledger(read(ledger.path), fingerprint(REGISTRY.public.signing))


def test_a_copy_shows_what_one_ledger_lost(ledger, tmp_path):
    copy = tmp_path / "station-copy.jsonl"
    copy.write_text(ledger.path.read_text())
    rewrite(ledger, lines(ledger)[:6])  # the last two entries cut off: still a valid chain
    assert verdict(ledger.path)[0] == 0
    with pytest.raises(LedgerError, match="entry 6: is missing here"):
        compare(read(ledger.path), read(copy))
    result = CliRunner().invoke(
        app, ["audit", "verify", "--ledger", str(ledger.path), "--against", str(copy)]
    )
    assert result.exit_code == 1 and "entry 6" in result.output
    compare(read(copy), read(ledger.path))  # the longer copy is not contradicted


def test_garbage_and_missing_files(ledger, tmp_path):
    rewrite(ledger, [*lines(ledger), "{not json"])
    code, output = verdict(ledger.path)
    assert code == 1 and "entry 8: not a ledger entry" in output
    code, output = verdict(tmp_path / "nowhere.jsonl")
    assert code == 2 and "error:" in output


def test_private_keys_stay_private(tmp_path):
    OPERATOR.save(tmp_path / "operator", passphrase=b"correct horse")
    for name in ("signing.pem", "encryption.pem"):
        mode = stat.S_IMODE(os.stat(tmp_path / "operator" / name).st_mode)
        assert mode == 0o600
        assert b"ENCRYPTED" in (tmp_path / "operator" / name).read_bytes()
    again = Identity.load(tmp_path / "operator", passphrase=b"correct horse")
    assert again.public == OPERATOR.public
    with pytest.raises(ValueError, match="wrong or missing passphrase"):
        Identity.load(tmp_path / "operator", passphrase=b"wrong")
