"""Signed requests: tampering, replay, stale times and strangers are refused."""

from __future__ import annotations

import pytest

from tessera.crypto.keys import Identity
from tessera.crypto.requests import NonceStore, RequestRefused, sign_request, verify_request

STEWARD = Identity.generate("steward")
KEYS = {"steward": STEWARD.public.signing}
BODY = b'{"study": "s1", "decision": "approve"}'


def check(headers, method="POST", path="/studies/s1/approvals", body=BODY, store=None, now=None):
    return verify_request(headers, method, path, body, KEYS.get, store or NonceStore(), now)


def test_a_signed_request_is_accepted_once():
    headers = sign_request(STEWARD, "POST", "/studies/s1/approvals", BODY)
    store = NonceStore()
    assert check(headers, store=store) == "steward"
    with pytest.raises(RequestRefused, match="replay"):
        check(headers, store=store)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": b'{"study": "s1", "decision": "refuse"}'}, "not by 'steward'"),
        ({"path": "/studies/s2/approvals"}, "not by 'steward'"),
        ({"method": "DELETE"}, "not by 'steward'"),
    ],
)
def test_any_change_breaks_the_signature(change, message):
    headers = sign_request(STEWARD, "POST", "/studies/s1/approvals", BODY)
    with pytest.raises(RequestRefused, match=message):
        check(headers, **change)


def test_stale_unsigned_and_unknown_requests_are_refused():
    old = sign_request(STEWARD, "POST", "/studies/s1/approvals", BODY, now=1_000_000)
    with pytest.raises(RequestRefused, match="outside the accepted window"):
        check(old)
    assert check(old, now=1_000_100) == "steward"
    with pytest.raises(RequestRefused, match="not signed"):
        check({})
    stranger = sign_request(Identity.generate("mallory"), "POST", "/studies/s1/approvals", BODY)
    with pytest.raises(RequestRefused, match="unknown party 'mallory'"):
        check(stranger)
    forged = {**sign_request(Identity.generate("x"), "POST", "/studies/s1/approvals", BODY),
              "X-Tessera-Party": "steward"}  # fmt: skip
    with pytest.raises(RequestRefused, match="not by 'steward'"):
        check(forged)
