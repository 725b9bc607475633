"""Every party's own key pairs: Ed25519 to sign, X25519 to receive encrypted messages.

Keys are created where they are used and the private halves never leave that place: they
are written PKCS#8 PEM, readable by the owner only (mode 0600), optionally encrypted with a
passphrase. Public keys travel as unpadded URL-safe base64 of their 32 raw bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_key(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 32:
        raise ValueError("a public key is 32 bytes")
    return raw


def encode_signature(signature: bytes) -> str:
    return base64.b64encode(signature).decode()


def decode_signature(text: str) -> bytes | None:
    """A signature from its base64 text; None if the text is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def fingerprint(public: str) -> str:
    """A short, stable name for a public key (SHA-256, first 16 hex digits)."""
    return hashlib.sha256(decode_key(public)).hexdigest()[:16]


def verify(public: str, signature: bytes, message: bytes) -> bool:
    """Whether `signature` is the Ed25519 signature of `message` by the key `public`."""
    try:
        Ed25519PublicKey.from_public_bytes(decode_key(public)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class PublicIdentity:
    """What others know of a party: its name and its two public keys."""

    name: str
    signing: str
    encryption: str


@dataclass(frozen=True)
class Identity:
    """A party's key pairs. Create with `generate`, keep with `save`, reopen with `load`."""

    name: str
    signing_key: Ed25519PrivateKey
    encryption_key: X25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Identity:
        return cls(name, Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @property
    def public(self) -> PublicIdentity:
        signing = self.signing_key.public_key().public_bytes(*_RAW)
        encryption = self.encryption_key.public_key().public_bytes(*_RAW)
        return PublicIdentity(self.name, encode_key(signing), encode_key(encryption))

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message)

    def save(self, directory: Path, passphrase: bytes | None = None) -> None:
        """Write `signing.pem` and `encryption.pem` (owner-only) and `name` into `directory`."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        protection = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        for filename, key in (("signing.pem", self.signing_key),
                              ("encryption.pem", self.encryption_key)):  # fmt: skip
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection
            )
            descriptor = os.open(directory / filename, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
        (directory / "name").write_text(self.name + "\n")

    @classmethod
    def load(cls, directory: Path, passphrase: bytes | None = None) -> Identity:
        def key(filename: str):
            try:
                return serialization.load_pem_private_key(
                    (directory / filename).read_bytes(), passphrase
                )
            except FileNotFoundError:
                raise ValueError(f"no {filename} in {directory}: not an identity") from None
            except (TypeError, ValueError):
                raise ValueError(f"{directory / filename}: wrong or missing passphrase") from None

        signing, encryption = key("signing.pem"), key("encryption.pem")
        if not isinstance(signing, Ed25519PrivateKey) or not isinstance(
            encryption, X25519PrivateKey
        ):
            raise ValueError(f"{directory} holds keys of the wrong kind")
        return cls((directory / "name").read_text().strip(), signing, encryption)
