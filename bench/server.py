"""A redis-server of the bench's own, so every figure is taken on a server
with an empty script cache and no other clients (as after a deploy or a
restart), never on a shared server that test suites have warmed up."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator

__all__ = ['private_redis']


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.2) as conn:
            conn.sendall(b'PING\r\n')
            return conn.recv(16).startswith(b'+PONG')
    except OSError:
        return False


@contextlib.contextmanager
def private_redis() -> Iterator[int]:
    """Start ``redis-server`` on a free loopback port (nothing saved to disk);
    yield the port; stop it afterwards."""
    if shutil.which('redis-server') is None:
        raise SystemExit(
            'bench needs the redis-server executable on PATH (apt-get install redis-server)'
        )
    port = _free_port()
    directory = tempfile.mkdtemp(prefix='huey-bench-redis-')
    server = subprocess.Popen(
        [
            'redis-server',
            '--port',
            str(port),
            '--bind',
            '127.0.0.1',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            directory,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f'redis-server on port {port} did not start')
            time.sleep(0.02)
        yield port
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(directory, ignore_errors=True)
