"""One party's end of an MPC session on SPU (ABY3: 3 parties, honest majority, semi-honest).

Analyses never touch SPU: they hand `Session.run` a `jax.numpy` function, the inputs this
party owns, the public shapes of everyone else's inputs, and who receives the result.
Inputs enter as secret shares sent over the session's mutually authenticated TLS link;
outputs are reconstructed at the recipient only. Nothing secret is logged or written.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import jax
import numpy as np
import spu.libspu as libspu
from spu import api as spu_api
from spu.libspu import link
from spu.utils import frontend

from tessera.mpc.certificates import TlsFiles
from tessera.mpc.gate import Gate, free_ports

WORLD_SIZE = 3  # ABY3
jax.config.update("jax_enable_x64", True)  # float64 inputs keep their precision until sharing


def _quiet_engine_logs() -> None:
    """The engine logs to stdout, where it would corrupt a command's JSON; and to a file in
    the working directory otherwise. Neither is wanted; TESSERA_DEBUG=1 keeps the logs."""
    if os.environ.get("TESSERA_DEBUG") != "1":
        options = libspu.logging.LogOptions()
        options.enable_console_logger = False
        options.system_log_path = os.devnull
        libspu.logging.setup_logging(options)


_quiet_engine_logs()


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
        # Shuffle-then-quicksort: opens only comparisons of a secretly shuffled sequence.
        config.sort_method = config.SORT_QUICK
        config.sigmoid_mode = config.SIGMOID_REAL  # 1/(1+exp(-x)), not a piecewise fit
        # Public randomness must agree across parties; derive it from the session id.
        config.public_random_seed = int.from_bytes(hashlib.sha256(session.encode()).digest()[:8])
        return config


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
        gate: bool | None = None,
    ):
        """`gate`: put `tessera.mpc.gate` in front of the engine's port. By default only
        off loopback: there, any local user could reach the engine's private port anyway,
        and the gate's extra hop costs Cox on 10,000 rows half again its time."""
        if len(parties) != WORLD_SIZE:
            raise ValueError(f"ABY3 needs exactly {WORLD_SIZE} parties, got {len(parties)}")
        names = [p.name for p in parties]
        if len(set(names)) != len(names) or me not in names:
            raise ValueError(f"party names must be distinct and include {me!r}: {names}")
        self.session, self.names, self.me = session, names, me
        self.rank = names.index(me)
        address = parties[self.rank].address
        self.gate = None
        if gate if gate is not None else not _loopback(address):
            # the engine listens privately; peers reach it through a gate that admits TLS only
            private = f"127.0.0.1:{free_ports(1)[0]}"
            self.gate, address = Gate(address, private), private
        desc = link.Desc()
        desc.id = session
        for party in parties:
            desc.add_party(party.name, address if party.name == me else party.address)
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
            if self.gate:
                self.gate.close()
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
        layout: Sequence[tuple[str, str]],
        mine: Mapping[str, np.ndarray],
    ) -> list[bytes]:
        """Evaluate `function(*inputs)` on secret shares; return this party's output shares.

        `layout` is the public, ordered list of (input name, owner party); `mine` holds this
        party's values for the inputs it owns. Parties first tell each other the shapes of
        their inputs (public metadata), so nobody needs to see another party's data to
        compile. Each party delivers its encoded output shares to the result recipient, who
        alone combines them with `reconstruct`.
        """
        shapes = self._exchange_shapes(layout, mine)
        names = [f"{self.session}-{name}" for name, _ in layout]
        placeholders = [np.zeros(shape, dtype=dtype) for shape, dtype in shapes]
        executable, _ = frontend.compile(
            frontend.Kind.JAX,
            function,
            placeholders,
            {},
            names,
            [libspu.Visibility.VIS_SECRET] * len(layout),
            lambda outputs: [f"{self.session}-out{i}" for i in range(len(outputs))],
        )
        for name, (slot, owner) in zip(names, layout, strict=True):
            self.runtime.set_var(name, self._share_in(owner, mine.get(slot)))
        self.runtime.run(executable)
        outputs = [_encode(self.runtime.get_var(n)) for n in executable.output_names]
        for name in [*names, *executable.output_names]:
            self.runtime.del_var(name)
        return outputs

    def _exchange_shapes(
        self, layout: Sequence[tuple[str, str]], mine: Mapping[str, np.ndarray]
    ) -> list[tuple[tuple[int, ...], str]]:
        """Tell the others the shape and dtype of each of my inputs; learn theirs."""
        owned = [name for name, owner in layout if owner == self.me]
        missing = sorted(set(owned) - set(mine))
        if missing:
            raise ValueError(f"{self.me} must supply its inputs {missing}")
        announce = {n: [list(np.shape(mine[n])), str(np.asarray(mine[n]).dtype)] for n in owned}
        for rank in range(WORLD_SIZE):
            if rank != self.rank:
                self.link.send(rank, json.dumps(announce))
        known = dict(announce)
        for rank in range(WORLD_SIZE):
            if rank != self.rank:
                known.update(json.loads(self.link.recv(rank)))
        return [(tuple(known[name][0]), known[name][1]) for name, _ in layout]

    def _share_in(self, owner_name: str, value: np.ndarray | None) -> libspu.Share:
        """The owner splits its value and sends each party its share; others receive theirs."""
        owner = self.names.index(owner_name)
        if self.rank != owner:
            return _decode(self.link.recv(owner))
        shares = self.io.make_shares(np.asarray(value), libspu.Visibility.VIS_SECRET)
        for rank, share in enumerate(shares):
            if rank != self.rank:
                self.link.send(rank, _encode(share))
        return shares[self.rank]

    def run_for(
        self,
        recipient: str,
        function: Callable[..., object],
        layout: Sequence[tuple[str, str]],
        mine: Mapping[str, np.ndarray],
    ) -> list[np.ndarray] | None:
        """`run`, with the outputs opened to `recipient` alone (the others get None): a
        step inside a protocol whose result only one party may see."""
        shares = self.run(function, layout, mine)
        if self.me != recipient:
            for share in shares:
                self.send(recipient, share)
            return None
        ranks = [
            shares if rank == self.rank else [self.link.recv(rank) for _ in shares]
            for rank in range(WORLD_SIZE)
        ]
        return _combine(self.io, ranks)

    def send(self, party: str, data: bytes) -> None:
        """A message to one party over this session's TLS link (in order, per peer)."""
        self.link.send(self.names.index(party), data)

    def receive(self, party: str) -> bytes:
        """The next message from one party."""
        return self.link.recv(self.names.index(party))

    def settle(self, linger: float = 0.5) -> None:
        """After a successful run: wait until every party has finished, then a moment more.
        A party's exit ends its connections, and brpc aborts a peer whose call is still
        under way on one (CHECK 'error_code is 0'): the rare "stopped unexpectedly (exit
        code 255)" of a party in busy test runs."""
        self.link.barrier()
        time.sleep(linger)

    def close(self) -> None:
        self.link.stop_link()
        if self.gate:
            self.gate.close()


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        return False


def reconstruct(shares_by_rank: Sequence[Sequence[bytes]], accuracy: Accuracy) -> list[np.ndarray]:
    """The recipient's side of `Session.run`: combine the parties' output shares."""
    if len(shares_by_rank) != WORLD_SIZE:
        raise ValueError(f"need the output shares of all {WORLD_SIZE} parties")
    return _combine(spu_api.Io(WORLD_SIZE, accuracy.runtime_config("reconstruct")), shares_by_rank)


def _combine(io: spu_api.Io, shares_by_rank: Sequence[Sequence[bytes]]) -> list[np.ndarray]:
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
