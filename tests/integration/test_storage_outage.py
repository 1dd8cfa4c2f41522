"""A consumer started while its Redis server is down keeps retrying with a
growing delay, never exits, and runs tasks once the server is up. Uses a
private redis-server on a free port, never the shared one."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest
from conftest import FAST, App, wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis():
    """``start()`` launches redis-server on a free port (stopped afterwards)."""
    binary = shutil.which('redis-server')
    if binary is None:
        pytest.skip('redis-server binary not installed')
    port = _free_port()
    servers: list[subprocess.Popen] = []

    def start() -> None:
        servers.append(
            subprocess.Popen(
                [
                    binary,
                    '--port',
                    str(port),
                    '--bind',
                    '127.0.0.1',
                    '--save',
                    '',
                    '--appendonly',
                    'no',
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

        def accepting() -> bool:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            except OSError:
                return False
            return True

        wait_until(accepting, 20, 'redis-server to accept connections')

    start.port = port
    yield start
    for server in servers:
        server.kill()
        server.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize('worker_type', ['thread', 'process'])
def test_consumer_waits_for_redis_and_resumes(tmp_path, private_redis, start_consumer, worker_type):
    app = App(
        tmp_path,
        'redis',
        f"RedisHuey('itest-outage', port={private_redis.port})",
        'from huey import RedisHuey',
    )
    consumer = start_consumer(app, '-k', worker_type, '-n', *FAST)
    consumer.wait_for_log('storage error while reserving the next task')
    log = consumer.wait_for_log('(3 in a row)', timeout=30)
    assert 'retrying in 0.5s' in log and 'retrying in 2.0s' in log
    consumer.wait_for_log('scheduler: storage error', timeout=30)
    private_redis()
    try:
        result = app.module.add(20, 22)
        assert result(blocking=True, timeout=40) == 42
        consumer.wait_for_log('storage is working again')
        assert consumer.process.poll() is None
    finally:
        app.close()
