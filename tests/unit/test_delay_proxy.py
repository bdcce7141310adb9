"""The benchmarks' latency proxy: bytes pass intact, each way is delayed, turns are counted."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures'))

from delay_proxy import DelayProxy  # noqa: E402  pylint: disable=wrong-import-position


def _echo_server():
    server = socket.create_server(('127.0.0.1', 0))

    def serve():
        conn = server.accept()[0]
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)
    threading.Thread(target=serve, daemon=True).start()
    return server


def _exchange(port, messages):
    """Send each message and read its echo back: one round trip each; return the echoes and seconds."""
    got = []
    with socket.create_connection(('127.0.0.1', port), timeout=10) as conn:
        start = time.monotonic()
        for message in messages:
            conn.sendall(message)
            data = b''
            while len(data) < len(message):
                chunk = conn.recv(65536)
                assert chunk, 'connection closed early'
                data += chunk
            got.append(data)
        return got, time.monotonic() - start


def test_bytes_pass_intact_and_each_round_trip_pays_twice_the_delay():
    server = _echo_server()
    proxy = DelayProxy('127.0.0.1', server.getsockname()[1], delay=0.05).start()
    try:
        messages = [os.urandom(n) for n in (1, 1000, 200000)]
        got, seconds = _exchange(proxy.port, messages)
        assert got == messages
        # three sequential round trips, 0.05 s each way: never faster than 0.3 s
        assert seconds >= 3 * 2 * 0.05
        assert proxy.counts() == {'turns': 3, 'connections': 1}
    finally:
        proxy.stop()
        server.close()


def test_without_delay_it_still_counts_turns():
    server = _echo_server()
    proxy = DelayProxy('127.0.0.1', server.getsockname()[1]).start()
    try:
        got = _exchange(proxy.port, [b'a', b'b'])[0]
        assert got == [b'a', b'b']
        assert proxy.counts()['turns'] == 2
        proxy.reset()
        assert proxy.counts() == {'turns': 0, 'connections': 0}
    finally:
        proxy.stop()
        server.close()
