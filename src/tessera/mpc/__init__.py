"""MPC sessions on SPU (ABY3) behind a small interface of our own.

Analyses give a `jax.numpy` function and say who owns which input and who receives the
result; this package does the rest: per-session TLS identities, secret-sharing of inputs,
the engine, and revealing outputs to the recipient only.
"""

from tessera.mpc.certificates import TlsFiles, issue_session_certificates
from tessera.mpc.local import SessionFailed, run_local
from tessera.mpc.session import Accuracy, Party, Session, reconstruct

__all__ = [
    "Accuracy",
    "Party",
    "Session",
    "SessionFailed",
    "TlsFiles",
    "issue_session_certificates",
    "reconstruct",
    "run_local",
]
