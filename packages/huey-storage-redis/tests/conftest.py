"""Fixtures: the real Redis on 127.0.0.1:6379, db 1, flushed after each test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from typing import Callable

import pytest
import redis
from huey_storage.testing.services import require_service
from huey_storage_redis import RedisStorage

REDIS_DB = 1  # huey-storage-redis's database (see docs/DESIGN.md, "Tests and services")


@pytest.fixture
def redis_params() -> dict:
    """Connection options of the test database (skips if Redis is down)."""
    host, port = require_service('redis')
    return {'host': host, 'port': port, 'db': REDIS_DB}


@pytest.fixture
def redis_client(redis_params):
    """A raw client on the test database, which is flushed afterwards."""
    client = redis.Redis(**redis_params)
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def make_storage(redis_params, redis_client) -> Callable[..., RedisStorage]:
    """``make_storage(cls=RedisStorage, name=None, **options)``: a storage on db 1.

    Without ``url``/``connection_pool`` the test database's host/port/db are
    used; the name defaults to a fresh random one. Closed after the test.
    """
    created = []

    def make(cls=RedisStorage, name: str | None = None, **options) -> RedisStorage:
        if 'url' not in options and 'connection_pool' not in options:
            options = {**redis_params, **options}
        options.setdefault('clean_name', False)  # the suite checks names are kept
        storage = cls(name or 'test-' + uuid.uuid4().hex[:12], **options)
        created.append(storage)
        return storage

    yield make
    for storage in created:
        storage.close()


def counting_pool(redis_params: dict) -> redis.ConnectionPool:
    """A pool whose ``connection_class.sends`` counts round trips (packed sends) and
    ``connection_class.commands`` lists single commands sent."""

    class CountingConnection(redis.Connection):
        sends = 0
        commands: list = []

        def send_command(self, *args, **kwargs):
            type(self).commands.append(str(args[0]).upper())
            return super().send_command(*args, **kwargs)

        def send_packed_command(self, command, check_health=True):
            type(self).sends += 1
            return super().send_packed_command(command, check_health)

    return redis.ConnectionPool(connection_class=CountingConnection, **redis_params)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, message: str = '') -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'still false after {timeout} s: {message}')
        time.sleep(0.01)


# -- a Redis server of a test's own (restarts, an empty script cache) ----------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def start_redis(port: int, directory) -> subprocess.Popen:
    """A redis-server of our own on ``port`` (nothing saved), once it answers."""
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
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = redis.Redis(port=port, socket_connect_timeout=0.2)

    def answers() -> bool:
        try:
            return probe.ping()
        except redis.ConnectionError:
            assert server.poll() is None, f'redis-server on port {port} exited'
            return False

    wait_for(answers, message=f'redis-server answering on port {port}')
    probe.close()
    return server


def stop_redis(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.kill()
        server.wait(10)


@pytest.fixture
def private_redis(tmp_path) -> dict:
    """Connection options of a redis-server started for this test alone: its
    script cache is empty and no other client touches it."""
    if shutil.which('redis-server') is None:
        pytest.skip('needs the redis-server executable on PATH')
    port = free_port()
    server = start_redis(port, tmp_path)
    yield {'host': '127.0.0.1', 'port': port, 'db': 0}
    stop_redis(server)
