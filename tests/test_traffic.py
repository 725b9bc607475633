"""What a party exposes: its link traffic, the files it leaves, and who may talk to its port.

Issue 3's acceptance: a captured party's traffic contains none of its input values, no log
or file of a party holds another party's values or shares after the session, and an
unauthenticated peer cannot inject link messages. Every party here is a real OS process on
a real TLS link, as `tessera local` runs them. SPU 0.9.5's link port itself accepts plain
HTTP; each party's gate (`tessera.mpc.gate`) is what refuses it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import multiprocessing
import os
import queue
import secrets
import socket
import ssl
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from tessera.analyses.vertical import Plan, plaintext, run_vertical
from tessera.mpc import Accuracy, issue_session_certificates, reconstruct
from tessera.mpc.gate import Gate, free_ports
from tessera.mpc.join import OFFSET, to_fixed
from tessera.mpc.local import Launch, party_main
from tessera.mpc.session import Party, _encode

PARTIES = ["registry", "gp", "helper"]
ACCURACY = Accuracy()
PLAN = Plan(
    ("registry", "gp"),
    "pseudonym",
    {"tumour_mm": "registry", "creatinine": "gp"},
    numeric=("tumour_mm", "creatinine"),
)


# --- what a party's inputs look like on a wire, in every encoding we can think of ---------


def _cohort() -> dict[str, pd.DataFrame]:
    """Two overlapping sources with values that are distinctive as bytes and as text.

    Full-precision floats in [10, 90) (well inside fixed-point range) give 8-byte float64 and
    fixed-point patterns and 15+ character decimal strings, none of which occur by chance in
    a few MB of traffic.
    """
    rng = np.random.default_rng(20260515)
    pseudonyms = [f"PSN-{secrets.token_hex(6)}" for _ in range(48)]
    registry = pd.DataFrame({"pseudonym": pseudonyms[:40], "tumour_mm": rng.uniform(10, 90, 40)})
    gp = pd.DataFrame({"pseudonym": pseudonyms[8:], "creatinine": rng.uniform(10, 90, 40)})
    return {"registry": registry, "gp": gp}


def _encodings(value: float | int | str) -> set[bytes]:
    """Byte patterns under which `value` could travel: raw binary in either byte order,
    decimal text, SPU's fixed-point ring element (trunc(x * 2^f), mod 2^64) and the
    alignment's offset fixed-point integer before masking."""
    if isinstance(value, str):
        return {value.encode()}
    x = float(value)
    patterns = {struct.pack("<d", x), struct.pack(">d", x), repr(x).encode(), f"{x:.3f}".encode()}
    scaled = x * 2**ACCURACY.fraction_bits
    for fixed in {int(np.floor(scaled)), int(np.rint(scaled))}:
        for ring in (fixed % 2**64, (fixed + OFFSET) % 2**64):
            patterns |= {struct.pack("<Q", ring), struct.pack(">Q", ring)}
    return patterns


def _inputs_of(party: str, frame: pd.DataFrame) -> list[float | int | str]:
    """A party's distinctive values: its pseudonyms and its column values."""
    column = next(c for c, owner in PLAN.owners.items() if owner == party)
    return [*frame["pseudonym"], *frame[column].tolist()]


def _found(values: list[float | int | str], data: bytes) -> list[float | int | str]:
    return [v for v in values if any(p in data for p in _encodings(v))]


def test_the_value_search_finds_planted_values():
    """The traffic check is only as good as this search: it must see values where they are."""
    from spu import api
    from spu.libspu import Visibility

    frames = _cohort()
    io = api.Io(3, ACCURACY.runtime_config("plant"))
    noise = np.random.default_rng(1).bytes(50_000)
    for party, frame in frames.items():
        values = _inputs_of(party, frame)
        mine, _ = PLAN.encode(party, frame)
        column = mine[f"col:{next(c for c, o in PLAN.owners.items() if o == party)}"][:, 0]
        for name, plant in {
            "float64": column.tobytes(),
            "float64 big-endian": column.astype(">f8").tobytes(),
            "csv text": frame.to_csv(index=False).encode(),
            # SPU's own ring encoding of the public values: what a share would be unmasked
            "fixed point": b"".join(io.make_shares(column, Visibility.VIS_PUBLIC)[0].share_chunks),
            "offset fixed point": to_fixed(
                column[:, None], ACCURACY.fraction_bits, "x", party
            ).tobytes(),
        }.items():
            data = noise + plant + noise
            assert _found(column.tolist(), data) == column.tolist(), name
        pseudonyms = frame["pseudonym"].tolist()
        assert _found(pseudonyms, noise + "\n".join(pseudonyms).encode()) == pseudonyms
        assert _found(values, noise) == []
        # secret shares of the very same values hide them: the search does not over-report
        secret = b"".join(_encode(s) for s in io.make_shares(column, Visibility.VIS_SECRET))
        assert _found(column.tolist(), secret) == []


# --- a recording relay in front of each party ------------------------------------------------


def _tls_records(stream: bytes) -> list[tuple[int, bytes]]:
    """(content type, payload) of each TLS record; fails unless the stream is all records."""
    records, offset = [], 0
    while offset < len(stream):
        kind, version, length = struct.unpack_from(">BHH", stream, offset)
        assert kind in (20, 21, 22, 23) and version in (0x0301, 0x0303), stream[offset:][:16]
        assert length <= 2**14 + 256 and offset + 5 + length <= len(stream)
        records.append((kind, bytes(stream[offset + 5 : offset + 5 + length])))
        offset += 5 + length
    return records


def _server_hello_version(payload: bytes) -> int:
    """The version a ServerHello selects: supported_versions (TLS 1.3) or its legacy field."""
    assert payload[0] == 2, "not a ServerHello"
    version = struct.unpack_from(">H", payload, 4)[0]
    offset = 4 + 2 + 32
    offset += 1 + payload[offset] + 2 + 1  # session id, cipher suite, compression
    end = offset + 2 + struct.unpack_from(">H", payload, offset)[0]
    offset += 2
    while offset < end:
        kind, length = struct.unpack_from(">HH", payload, offset)
        if kind == 43:  # supported_versions
            version = struct.unpack_from(">H", payload, offset + 4)[0]
        offset += 4 + length
    return version


# --- one real session through the relays, in a sandboxed TMPDIR, HOME and cwd ---------------


def summary(table, weight):
    """A little of everything on the joined table: sums, products, a comparison."""
    a, b = table["tumour_mm"], table["creatinine"]
    w = weight * a[:, 1] * b[:, 1]
    x, y = a[:, 0], b[:, 0]
    return jnp.stack([jnp.sum(w), jnp.sum(w * x), jnp.sum(w * x * y), jnp.sum(w * (x > y))])


@dataclass
class Captured:
    outputs: list[np.ndarray]
    expected: np.ndarray
    relays: dict[str, Gate]
    frames: dict[str, pd.DataFrame]
    during: dict[str, list[str]]  # the sandbox while the session ran
    after: dict[str, list[str]]
    log: bytes  # what the party processes wrote to their inherited stdout/stderr


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@contextlib.contextmanager
def _streams_to(path: Path) -> Iterator[None]:
    """Point fds 1 and 2 at `path` meanwhile: child processes inherit them."""
    saved = [os.dup(1), os.dup(2)]
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    frames = _cohort()
    data = tmp_path_factory.mktemp("inputs")
    paths = {}
    for party, frame in frames.items():
        paths[party] = str(data / f"{party}.csv")
        frame.to_csv(paths[party], index=False, float_format="%r")
    sandbox = tmp_path_factory.mktemp("sandbox")
    dirs = {name: sandbox / name for name in ("tmp", "home", "cwd")}
    for path in dirs.values():
        path.mkdir()
    relays: dict[str, Gate] = {}
    during: dict[str, list[str]] = {}

    def reach(name: str, address: str) -> str:
        during.update({place: _tree(path) for place, path in dirs.items()})
        relays[name] = Gate("127.0.0.1:0", address, admit=None, record=True, outside=True)
        return relays[name].address

    log = tmp_path_factory.mktemp("log") / "parties.log"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TMPDIR", str(dirs["tmp"]))
            patch.setenv("HOME", str(dirs["home"]))
            patch.delenv("TESSERA_DEBUG", raising=False)
            patch.setattr(tempfile, "tempdir", None)  # the launcher's session files too
            patch.chdir(dirs["cwd"])
            with _streams_to(log):
                outputs, _ = run_vertical(PLAN, paths, summary, helper=True,
                                          session={"timeout": 120, "reach": reach})  # fmt: skip
        after = {name: _tree(path) for name, path in dirs.items()}
    finally:
        for relay in relays.values():
            relay.close()
    expected, _ = plaintext(PLAN, frames, summary)
    yield Captured(outputs, np.asarray(expected), relays, frames, during, after,
                   log.read_bytes())  # fmt: skip


def test_the_relayed_session_gives_the_right_answer(captured: Captured):
    (result,) = captured.outputs
    np.testing.assert_allclose(result, captured.expected, rtol=1e-4)
    assert captured.expected[0] == 32  # the overlap of the two sources


def test_every_link_carries_tls_1_3_only(captured: Captured):
    for name, relay in captured.relays.items():
        # both other parties reached this one only through its relay (there is no other way)
        streams = [s for s in relay.streams if s[0]]
        assert len(streams) >= 2, f"{name}: {len(streams)} connections"
        assert sum(len(inbound) + len(outbound) for inbound, outbound in streams) > 10_000
        for inbound, outbound in streams:
            client, server = _tls_records(inbound), _tls_records(outbound)
            # in the clear: hellos only (twice when the server asks for another key share)
            # and TLS 1.3's compatibility change_cipher_spec; then only encrypted records
            for records, hello in ((client, 1), (server, 2)):
                clear = list(takewhile(lambda r: r[0] != 23, records))
                assert {kind for kind, _ in clear} <= {20, 22} and clear[0][0] == 22
                assert all(payload[0] == hello for kind, payload in clear if kind == 22)
                assert len(records) > len(clear), "no encrypted records"
                assert all(kind == 23 for kind, _ in records[len(clear) :])
            versions = {_server_hello_version(payload) for kind, payload in server if kind == 22}
            assert versions == {0x0304}, versions


def test_no_input_value_appears_in_any_party_traffic(captured: Captured):
    streams = [bytes(s) for relay in captured.relays.values() for pair in relay.streams
               for s in pair]  # fmt: skip
    for party, frame in captured.frames.items():
        values = _inputs_of(party, frame)
        assert len(values) == 2 * len(frame)
        leaked = {repr(v) for stream in streams for v in _found(values, stream)}
        assert not leaked, f"{party}'s inputs on the wire: {sorted(leaked)[:5]}"


def test_parties_leave_no_files_and_log_nothing(captured: Captured):
    # while the session ran, its keys and certificates were in the sandboxed TMPDIR ...
    (session_dir,) = [p for p in captured.during["tmp"] if "/" not in p]
    assert session_dir.startswith("tessera-session-")
    assert sorted(Path(p).name for p in captured.during["tmp"] if "/" in p) == sorted(
        ["ca.pem", *(f"{n}.pem" for n in PARTIES), *(f"{n}.key" for n in PARTIES)]
    )
    # ... and afterwards nothing at all is left in TMPDIR, HOME or the working directory
    assert captured.after == {"tmp": [], "home": [], "cwd": []}
    assert captured.log == b""


# --- an unauthenticated client at a party's port while the party waits ----------------------


def cross_products(x, y):
    return x.T @ y, jnp.sum(x * x, axis=0)


LAYOUT = (("x", "registry"), ("y", "gp"))
X = np.random.default_rng(0).normal(size=(500, 3))
Y = np.random.default_rng(1).normal(size=(500, 2))


@dataclass(frozen=True)
class _HeldBack:
    """Each party's own inputs; gp joins only once `go` is set, so the others wait at the
    mesh with their ports open, as a party started late would keep them."""

    go: object  # a multiprocessing Event

    def __call__(self, me: str) -> tuple[dict[str, np.ndarray], dict]:
        if me == "gp":
            self.go.wait(60)
        return {"registry": {"x": X}, "gp": {"y": Y}}.get(me, {}), {}


@dataclass
class Probed:
    tls_error: str | None  # why the certificate-less TLS client failed, if it did
    tls_reply: bytes  # any application data it got back
    plain_reply: tuple[int, bytes] | str  # HTTP (status, body), or why the request failed
    outcomes: dict[str, str]  # party -> "ok" or its error
    outputs: list[np.ndarray] | None


def _wait_listening(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _tls_without_certificate(port: int) -> tuple[str | None, bytes]:
    """A TLS client with no certificate (it does not check the server's either) tries the
    link service; TLS 1.3 servers refuse the client after the handshake, so read too."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = b"POST /org.interconnection.link.ReceiverService/Push HTTP/1.1\r\nHost: x\r\n"
    request += b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw) as tls,
        ):
            tls.sendall(request)
            return None, tls.recv(4096)
    except (ssl.SSLError, OSError) as error:
        return f"{type(error).__name__}: {error}", b""


def _plaintext_push(port: int, key: str, value: bytes) -> tuple[int, bytes] | str:
    """brpc's HTTP+JSON form of yacl's link message (org.interconnection.link.PushRequest),
    sent as gp (rank 1) without TLS."""
    body = {"sender_rank": 1, "key": key, "value": base64.b64encode(value).decode(),
            "trans_type": "MONO"}  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/org.interconnection.link.ReceiverService/Push",
                           json.dumps(body), {"Content-Type": "application/json"})  # fmt: skip
        reply = connection.getresponse()
        return reply.status, reply.read()
    except (OSError, http.client.HTTPException) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        connection.close()


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Probed:
    from spu import api
    from spu.libspu import Visibility

    session = f"probe-{secrets.token_hex(4)}"
    tls = issue_session_certificates(session, PARTIES, tmp_path_factory.mktemp("probe"))
    ports = free_ports(3)
    members = tuple(Party(n, f"127.0.0.1:{p}") for n, p in zip(PARTIES, ports, strict=True))
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    launches = [
        Launch(
            session,
            members,
            name,
            tls[name],
            ACCURACY,
            cross_products,
            LAYOUT,
            _HeldBack(go),
            connect_seconds=60.0,
            timeout_ms=15_000,
            gate=True,  # as a station listening off loopback has it
        )
        for name in PARTIES
    ]
    processes = [context.Process(target=party_main, args=(x, results)) for x in launches]
    for process in processes:
        process.start()
    try:
        _wait_listening(ports[0])  # registry's link server is up; gp has not joined yet
        tls_error, tls_reply = _tls_without_certificate(ports[0])
        # The attacker's message: gp's secret share of y for registry, replaced by a share
        # of 7s. yacl keys a message "<session>:P2P-<n>:<from>-><to>" plus its sequence
        # number on the channel; with SPU 0.9.5 the share is gp's third P2P message to
        # registry and the fifth on that channel (after two setup messages and the shapes).
        forged = api.Io(3, ACCURACY.runtime_config(session)).make_shares(
            np.full_like(Y, 7.0), Visibility.VIS_SECRET
        )[0]
        key = f"{session}:P2P-3:1->0\x01\x025"
        plain_reply = _plaintext_push(ports[0], key, _encode(forged))
    finally:
        go.set()
    outcomes: dict[str, tuple[str, object]] = {}
    deadline = time.monotonic() + 90
    while len(outcomes) < len(PARTIES) and time.monotonic() < deadline:
        try:
            name, status, payload = results.get(timeout=1)
            outcomes[name] = (status, payload)
        except queue.Empty:  # a party that died without a word stops the wait
            if any(p.exitcode not in (None, 0) for p in processes):
                break
    for process in processes:
        process.join(timeout=20)
        if process.is_alive():
            process.kill()
    outputs = None
    if len(outcomes) == 3 and all(status == "ok" for status, _ in outcomes.values()):
        outputs = reconstruct([outcomes[n][1][0] for n in PARTIES], ACCURACY)
    states = {n: s if s == "ok" else str(p) for n, (s, p) in outcomes.items()}
    states |= {n: "no answer" for n in PARTIES if n not in outcomes}
    return Probed(tls_error, tls_reply, plain_reply, states, outputs)


def test_a_tls_client_without_a_certificate_is_refused(probed: Probed):
    # refused by TLS (the server aborts the handshake), not merely unable to connect
    assert probed.tls_error is not None and probed.tls_error.startswith("SSL"), probed
    assert probed.tls_reply == b""


def test_a_plaintext_link_message_is_refused_and_changes_nothing(probed: Probed):
    # Behind the engine's own port (brpc without force_ssl) this forged Push was answered 200,
    # delivered as gp's message, and every party finished "ok" with a wrong result.
    accepted = isinstance(probed.plain_reply, tuple) and probed.plain_reply[0] == 200
    correct = probed.outputs is not None and np.allclose(probed.outputs[0], X.T @ Y, atol=2e-3)
    assert (accepted, correct) == (False, True), (
        f"plaintext Push answered {probed.plain_reply!r}; parties: {probed.outcomes}; "
        f"max error {np.abs(probed.outputs[0] - X.T @ Y).max() if probed.outputs else 'n/a'}"
    )
