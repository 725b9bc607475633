"""A gate in front of a party's link port that lets only TLS through.

SPU's link server (brpc inside libspu) also answers *plain HTTP* on its TLS port: yacl never
sets brpc's `force_ssl`, and the Python binding cannot. Anyone reaching the port could then
push a link message that the session would take as a peer's. So the engine listens on a
private loopback port, and peers reach it through this gate on the party's address. The
gate passes on only connections whose first bytes are a TLS handshake record. TLS itself,
mutual and with per-session certificates, stays the engine's.

To brpc the gate must look like the party's own port, or a peer process aborts (CHECK
failed: 'error_code is 0', brpc's reaction to an orderly end of a connection while a call
is under way). So it refuses connections until the party listens, and passes the party's
end of a connection on as a reset, as a closed socket answers late data. For the same
reason a peer's connection is reset, never ended, when the gate closes or the party's
process exits; and the gate closes only once traffic has stopped, so that replies to the
peers' last calls get through. A gate outside the party's process (a tap in tests) also
refuses connections once the party has left, i.e. closed a connection first.

Bytes move by `splice` from socket to pipe to socket, never through Python, unless a test
asks to record them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Literal

CHUNK = 1 << 16


def opens_tls(head: bytes) -> bool:
    """A TLS record header of a handshake (ClientHello): type 22, version 3.x."""
    return len(head) == 3 and head[0] == 22 and head[1] == 3 and head[2] <= 4


class Gate:
    """Listens at `public` (host:port) and connects each admitted client to `private`.

    `admit(first three bytes)` decides; `record=True` keeps every byte both ways in
    `streams`, `record="count"` only counts them in `relayed`, and `outside=True` says the
    gate runs outside the party's process (for tests and benchmarks that tap the network
    path).
    """

    def __init__(
        self,
        public: str,
        private: str,
        admit: Callable[[bytes], bool] | None = opens_tls,
        record: bool | Literal["count"] = False,
        outside: bool = False,
    ):
        host, port = private.rsplit(":", 1)
        self.target = (host, int(port))
        public_host, public_port = public.rsplit(":", 1)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((public_host, int(public_port)))  # bound, not listening: refused
        self.address = f"{public_host}:{self.listener.getsockname()[1]}"
        self.admit, self.record, self.outside = admit, record, outside
        self.streams: list[tuple[bytearray, bytearray]] = []  # (to the party, from it)
        self.refused = 0
        self.relayed = 0  # bytes both ways, when recording
        self._counting = threading.Lock()
        self.active_at = time.monotonic()  # when bytes last moved
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._pumps: list[threading.Thread] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._closed.is_set():  # wait for the party's port
            try:
                socket.create_connection(self.target, timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            self.listener.listen()
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        if self.admit is not None:
            client.settimeout(30)
            try:
                head = client.recv(3, socket.MSG_PEEK | socket.MSG_WAITALL)
            except OSError:
                head = b""
            if not self.admit(head):
                self.refused += 1
                _reset(client)
                return
            client.settimeout(None)
        # closing it, even at the process's exit, resets the connection (no orderly end)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:  # the party has just left
            _reset(client)
            return
        upstream.settimeout(None)
        stream = (bytearray(), bytearray()) if self.record is True else (self, self)
        client_open = threading.Event()
        client_open.set()
        if self.record is True:
            self.streams.append(stream)
        self._sockets += [client, upstream]
        for args in ((client, upstream, stream[0], client_open, False),
                     (upstream, client, stream[1], client_open, True)):  # fmt: skip
            pump = threading.Thread(target=self._pump, args=args, daemon=True)
            pump.start()
            self._pumps.append(pump)

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        record: bytearray,
        client_open: threading.Event,
        from_party: bool,
    ) -> None:
        """Copy one direction, then end the sink: with a reset if the source was reset or is
        the party, else with an orderly close. A party that ends first has left."""
        reset = self._copy(source, sink, record if self.record else None)
        if reset is None:
            return  # the sink is gone: its own pump passes that on
        if not from_party:
            client_open.clear()  # before passing the end on to the party
        elif client_open.is_set() and self.outside:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
        if reset or from_party:
            _reset(sink)
        else:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def extend(self, chunk: bytes) -> None:
        """Where a counting gate's pumps put what they relay: only its length is kept."""
        with self._counting:
            self.relayed += len(chunk)

    def _copy(self, source: socket.socket, sink: socket.socket, record: bytearray | None):
        """Until the source ends: False at an orderly end, True at a reset, None when the
        sink failed."""
        if record is not None:
            while True:
                try:
                    chunk = source.recv(CHUNK)
                except OSError:
                    return True
                if not chunk:
                    return False
                record.extend(chunk)
                if record is not self and self.record:
                    self.extend(chunk)
                try:
                    sink.sendall(chunk)
                except OSError:
                    return None
                self.active_at = time.monotonic()
        pipe_out, pipe_in = os.pipe()
        try:
            while True:
                try:
                    size = os.splice(source.fileno(), pipe_in, CHUNK)
                except OSError:
                    return True
                if size == 0:
                    return False
                try:
                    while size:
                        size -= os.splice(pipe_out, sink.fileno(), size)
                except OSError:
                    return None
                self.active_at = time.monotonic()
        finally:
            os.close(pipe_out)
            os.close(pipe_in)

    def close(self, quiet: float = 0.5, limit: float = 10.0) -> None:
        """Once no byte has moved for `quiet` seconds (at most `limit`), reset everything."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and time.monotonic() - self.active_at < quiet:
            time.sleep(0.05)
        self._closed.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self._sockets:  # wakes pumps still waiting, sends nothing
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RD)
        for pump in self._pumps:
            pump.join(timeout=1)
        for sock in self._sockets:
            sock.close()


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports nobody listens on right now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (RST), not an orderly end (FIN)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
