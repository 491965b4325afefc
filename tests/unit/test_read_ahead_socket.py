"""The read-ahead socket paho reads through: same bytes, fewer system calls."""

from __future__ import annotations

import socket

from ingest.mqtt_source import ReadAheadSocket


def test_serves_small_reads_from_one_large_read_and_reports_what_is_pending() -> None:
    left, right = socket.socketpair()
    try:
        right.sendall(b"\x30\x05hello\x30\x03abc")
        wrapped = ReadAheadSocket(left)
        assert wrapped.recv(1) == b"\x30"
        assert wrapped.pending() == 11  # the rest came in with the first read
        assert wrapped.recv(1) == b"\x05"
        assert wrapped.recv(5) == b"hello"
        assert wrapped.recv(100) == b"\x30\x03abc"  # never more than what is buffered
        assert wrapped.pending() == 0
        right.close()
        assert wrapped.recv(1) == b""  # the peer closed: paho sees end of stream
    finally:
        left.close()
        right.close()


def test_everything_else_is_the_sockets_own() -> None:
    left, right = socket.socketpair()
    try:
        wrapped = ReadAheadSocket(left)
        assert wrapped.fileno() == left.fileno()  # select() works on it
        wrapped.sendall(b"ping")
        assert right.recv(4) == b"ping"
    finally:
        left.close()
        right.close()
