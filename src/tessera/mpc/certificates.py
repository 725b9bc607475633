"""Per-session TLS certificates for the links between MPC parties.

A fresh certificate authority signs one certificate per party and its private key is then
dropped, never written: nobody can mint another party for this session afterwards. In the
federation each station generates its own key and the federation signs it; locally (`tessera
local`) the launcher plays that role for processes of one user on one machine.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_VALIDITY = dt.timedelta(hours=12)


@dataclass(frozen=True)
class TlsFiles:
    """What one party needs for mutually authenticated TLS: the CA, its certificate and key."""

    ca: Path
    certificate: Path
    private_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (created 0600, never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def issue_session_certificates(
    session: str, parties: list[str], directory: Path, hosts: tuple[str, ...] = ("127.0.0.1",)
) -> dict[str, TlsFiles]:
    """Create a session CA, sign a certificate for each party, and forget the CA key.

    ECDSA P-256 keys: supported by every TLS stack (brpc's OpenSSL included).
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"tessera session {session} CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    addresses = []
    for host in hosts:
        try:
            addresses.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            addresses.append(x509.DNSName(host))
    files = {}
    for party in parties:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(party))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(party), *addresses]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = directory / f"{party}.pem", directory / f"{party}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        files[party] = TlsFiles(ca_path, cert_path, key_path)
    return files
