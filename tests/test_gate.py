"""The gate in front of a party's link port: TLS handshakes pass, anything else is reset."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tessera.mpc.gate import Gate, opens_tls

CLIENT_HELLO_HEAD = bytes([22, 3, 1])  # a TLS record: handshake, version 3.1


@pytest.fixture
def echo() -> str:
    """A TCP server that echoes each connection back, standing in for the engine."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                while data := connection.recv(1 << 16):
                    connection.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()


def _connect(address: str) -> socket.socket:
    """A connection to the gate, which listens once the party's port is up."""
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection((host, int(port)), timeout=5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _exchange(address: str, payload: bytes) -> bytes:
    """Send the payload and read as much back (less if the gate resets the connection)."""
    with _connect(address) as client:
        sender = threading.Thread(target=client.sendall, args=(payload,), daemon=True)
        sender.start()
        received = b""
        try:
            while len(received) < len(payload) and (data := client.recv(1 << 16)):
                received += data
        except ConnectionResetError:
            pass
        return received


def test_a_tls_record_passes_both_ways_intact(echo):
    gate = Gate("127.0.0.1:0", echo)
    try:
        payload = CLIENT_HELLO_HEAD + bytes(range(256)) * 4_000  # ~1 MB through splice
        assert _exchange(gate.address, payload) == payload
        assert gate.refused == 0
    finally:
        gate.close(quiet=0)


def test_plain_http_is_reset_before_it_reaches_the_party(echo):
    gate = Gate("127.0.0.1:0", echo)
    try:
        request = b"POST /org.interconnection.link.ReceiverService/Push HTTP/1.1\r\n\r\n"
        assert _exchange(gate.address, request) == b""
        assert gate.refused == 1
    finally:
        gate.close(quiet=0)


def test_only_handshake_records_open_a_connection():
    assert opens_tls(bytes([22, 3, 3])) and opens_tls(CLIENT_HELLO_HEAD)
    for head in (b"POS", bytes([23, 3, 3]), bytes([22, 2, 0]), b"\x16\x03"):
        assert not opens_tls(head)
