"""End-to-end encryption of task parameters and results: only the named recipient can read
them, the recipient knows who wrote them, and whoever relays them (the hub) learns nothing.

HPKE (RFC 9180, base mode: X25519, HKDF-SHA256, ChaCha20-Poly1305) as `cryptography`
implements it encrypts to the recipient's X25519 key. Inside, the sender's Ed25519
signature covers the context, the recipient's key and the message, so a ciphertext cannot
be passed off as another sender's, or moved to another task or recipient. The context (e.g.
"task 41 parameters") is also HPKE's `info`: a ciphertext opened under any other context
fails.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from tessera.crypto.keys import Identity, PublicIdentity, decode_key, verify
from tessera.errors import TesseraError

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
LABEL = b"tessera-sealed-v1"
SIGNATURE_BYTES = 64


class SealError(TesseraError, ValueError):
    """A sealed message that is not for this recipient, context or sender, or was altered."""


def _signed_part(context: str, recipient: str, message: bytes) -> bytes:
    parts = [LABEL, context.encode(), recipient.encode(), message]
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)


def seal(message: bytes, sender: Identity, recipient: PublicIdentity, context: str) -> bytes:
    """`message` encrypted to `recipient` and signed by `sender`, bound to `context`."""
    signature = sender.sign(_signed_part(context, recipient.encryption, message))
    key = X25519PublicKey.from_public_bytes(decode_key(recipient.encryption))
    return SUITE.encrypt(signature + message, key, info=LABEL + context.encode())


def unseal(sealed: bytes, recipient: Identity, sender: PublicIdentity, context: str) -> bytes:
    """The message, if `sealed` was sealed by `sender` to `recipient` under `context`."""
    try:
        inner = SUITE.decrypt(sealed, recipient.encryption_key, info=LABEL + context.encode())
    except Exception:  # the library raises InvalidTag (or ValueError for short input)
        raise SealError(f"cannot open this message as {recipient.name} in {context!r}") from None
    signature, message = inner[:SIGNATURE_BYTES], inner[SIGNATURE_BYTES:]
    own = recipient.public.encryption
    if not verify(sender.signing, signature, _signed_part(context, own, message)):
        raise SealError(f"the message was not sealed by {sender.name}")
    return message
