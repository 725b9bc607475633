"""One party's end of an MPC session on SPU (ABY3: 3 parties, honest majority, semi-honest).

Analyses never touch SPU: they hand `Session.run` a `jax.numpy` function, the inputs this
party owns, the public shapes of everyone else's inputs, and who receives the result.
Inputs enter as secret shares sent over the session's mutually authenticated TLS link;
outputs are reconstructed at the recipient only. Nothing secret is logged or written.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import jax
import numpy as np
import spu.libspu as libspu
from spu import api as spu_api
from spu.libspu import link
from spu.utils import frontend

from tessera.mpc.certificates import TlsFiles

WORLD_SIZE = 3  # ABY3
jax.config.update("jax_enable_x64", True)  # float64 inputs keep their precision until sharing


@dataclass(frozen=True)
class Party:
    name: str
    address: str  # host:port this party listens on


@dataclass(frozen=True)
class Accuracy:
    """The accuracy/time setting: ring size, fixed-point precision, exp approximation.

    The defaults (64-bit ring, 18 fraction bits, Padé exp) keep relative errors near 1e-5
    for the magnitudes our analyses produce; "precise" trades speed for a 128-bit ring.
    """

    field: Literal["FM64", "FM128"] = "FM64"
    fraction_bits: int = 18
    exp: Literal["pade", "taylor"] = "pade"

    @classmethod
    def preset(cls, name: str) -> Accuracy:
        presets = {"fast": cls(), "precise": cls(field="FM128", fraction_bits=40)}
        if name not in presets:
            raise ValueError(f"unknown accuracy {name!r}: choose {' or '.join(presets)}")
        return presets[name]

    def runtime_config(self, session: str) -> libspu.RuntimeConfig:
        config = libspu.RuntimeConfig(
            protocol=libspu.ProtocolKind.ABY3,
            field=getattr(libspu.FieldType, self.field),
            fxp_fraction_bits=self.fraction_bits,
        )
        config.fxp_exp_mode = {"pade": config.EXP_PADE, "taylor": config.EXP_TAYLOR}[self.exp]
        # Public randomness must agree across parties; derive it from the session id.
        config.public_random_seed = int.from_bytes(hashlib.sha256(session.encode()).digest()[:8])
        return config


@dataclass(frozen=True)
class Input:
    """One secret input: its owner, its public shape and dtype, and (at the owner) its value."""

    owner: str
    shape: tuple[int, ...]
    dtype: str = "float64"
    value: np.ndarray | None = None

    @classmethod
    def mine(cls, owner: str, value: np.ndarray) -> Input:
        value = np.asarray(value)
        return cls(owner, tuple(value.shape), str(value.dtype), value)


class Session:
    """This party's runtime in one session: a TLS link to the other two and an SPU runtime."""

    def __init__(
        self,
        session: str,
        parties: Sequence[Party],
        me: str,
        tls: TlsFiles,
        accuracy: Accuracy = Accuracy(),
        timeout_ms: int = 120_000,
        connect_seconds: float = 30.0,
    ):
        if len(parties) != WORLD_SIZE:
            raise ValueError(f"ABY3 needs exactly {WORLD_SIZE} parties, got {len(parties)}")
        names = [p.name for p in parties]
        if len(set(names)) != len(names) or me not in names:
            raise ValueError(f"party names must be distinct and include {me!r}: {names}")
        self.session, self.names, self.me = session, names, me
        self.rank = names.index(me)
        desc = link.Desc()
        desc.id = session
        for party in parties:
            desc.add_party(party.name, party.address)
        desc.recv_timeout_ms = timeout_ms
        desc.http_timeout_ms = timeout_ms
        desc.connect_retry_interval_ms = 500
        desc.connect_retry_times = max(1, int(connect_seconds * 2))
        desc.enable_ssl = True
        for options in (desc.server_ssl_opts, desc.client_ssl_opts):
            options.cert.certificate_path = str(tls.certificate)
            options.cert.private_key_path = str(tls.private_key)
            options.verify.ca_file_path = str(tls.ca)
            options.verify.verify_depth = 1
        self.config = accuracy.runtime_config(session)
        try:
            self.link = link.create_brpc(desc, self.rank)
        except RuntimeError as exc:
            raise ConnectionError(
                f"{me} could not open mutually authenticated TLS links to the other parties "
                f"({', '.join(p.address for p in parties if p.name != me)}): a peer is down, "
                "unreachable, or presented a certificate this session did not issue"
            ) from exc
        self.runtime = spu_api.Runtime(self.link, self.config)
        self.io = spu_api.Io(WORLD_SIZE, self.config)

    def run(
        self,
        function: Callable[..., object],
        inputs: Sequence[Input],
        recipient: str | None,
    ) -> list[np.ndarray] | list[bytes] | None:
        """Evaluate `function(*inputs)` on secret shares; the recipient gets the outputs.

        Every party calls this with the same function and input shapes; only owners pass
        values. With a party as recipient, it gets the flat list of outputs and the others
        None. With `recipient=None` (someone outside the session, e.g. the researcher) every
        party gets its own encoded output shares to deliver; `reconstruct` combines them.
        """
        if recipient is not None and recipient not in self.names:
            raise ValueError(f"recipient {recipient!r} is not a party of this session")
        names = [f"{self.session}-in{i}" for i in range(len(inputs))]
        placeholders = [np.zeros(i.shape, dtype=i.dtype) for i in inputs]
        executable, _ = frontend.compile(
            frontend.Kind.JAX,
            function,
            placeholders,
            {},
            names,
            [libspu.Visibility.VIS_SECRET] * len(inputs),
            lambda outputs: [f"{self.session}-out{i}" for i in range(len(outputs))],
        )
        for name, spec in zip(names, inputs, strict=True):
            self.runtime.set_var(name, self._share_in(spec))
        self.runtime.run(executable)
        if recipient is None:
            outputs = [_encode(self.runtime.get_var(n)) for n in executable.output_names]
            for name in [*names, *executable.output_names]:
                self.runtime.del_var(name)
            return outputs
        results = [self._reveal(name, recipient) for name in executable.output_names]
        for name in [*names, *executable.output_names]:
            self.runtime.del_var(name)
        return results if self.me == recipient else None

    def _share_in(self, spec: Input) -> libspu.Share:
        """The owner splits its value and sends each party its share; others receive theirs."""
        owner = self.names.index(spec.owner)
        if self.rank != owner:
            return _decode(self.link.recv(owner))
        if spec.value is None or tuple(np.shape(spec.value)) != spec.shape:
            raise ValueError(f"{spec.owner} must supply its input of shape {spec.shape}")
        shares = self.io.make_shares(np.asarray(spec.value), libspu.Visibility.VIS_SECRET)
        for rank, share in enumerate(shares):
            if rank != self.rank:
                self.link.send(rank, _encode(share))
        return shares[self.rank]

    def _reveal(self, name: str, recipient: str) -> np.ndarray | None:
        """Send this party's output share to the recipient, who reconstructs the value."""
        share = self.runtime.get_var(name)
        target = self.names.index(recipient)
        if self.rank != target:
            self.link.send(target, _encode(share))
            return None
        shares = [share if r == target else _decode(self.link.recv(r)) for r in range(WORLD_SIZE)]
        return np.asarray(self.io.reconstruct(shares))

    def close(self) -> None:
        self.link.stop_link()


def reconstruct(shares_by_rank: Sequence[Sequence[bytes]], accuracy: Accuracy) -> list[np.ndarray]:
    """The recipient's side of `run(..., recipient=None)`: combine the parties' output shares."""
    if len(shares_by_rank) != WORLD_SIZE:
        raise ValueError(f"need the output shares of all {WORLD_SIZE} parties")
    io = spu_api.Io(WORLD_SIZE, accuracy.runtime_config("reconstruct"))
    return [
        np.asarray(io.reconstruct([_decode(s) for s in output]))
        for output in zip(*shares_by_rank, strict=True)
    ]


def _encode(share: libspu.Share) -> bytes:
    """Length-prefixed frames: meta, then each chunk. Never pickle: peers are not trusted."""
    parts = [share.meta, *share.share_chunks]
    return struct.pack("<I", len(parts)) + b"".join(struct.pack("<Q", len(p)) + p for p in parts)


def _decode(data: bytes) -> libspu.Share:
    count, offset = struct.unpack_from("<I", data)[0], 4
    parts = []
    for _ in range(count):
        (size,) = struct.unpack_from("<Q", data, offset)
        offset += 8
        parts.append(data[offset : offset + size])
        offset += size
    if offset != len(data) or count < 1:
        raise ValueError("malformed share message")
    share = libspu.Share()
    share.meta, share.share_chunks = parts[0], parts[1:]
    return share
