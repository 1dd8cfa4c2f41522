"""Reach the real services tests run against, or skip (fail under ``CI=true``).

Tests never fake a server: a fixture asks here for Redis, PostgreSQL or
MariaDB. When the server does not answer, the test is skipped with the command
that starts it, except when ``CI`` is ``true``: then it fails loudly, so a CI
run can never pass by skipping.
"""

from __future__ import annotations

import os
import socket

import pytest

__all__ = ['SERVICES', 'in_ci', 'require_service']

#: name -> (host, port, how to start it on a machine like the CI one)
SERVICES = {
    'redis': (
        '127.0.0.1',
        6379,
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ),
    'postgres': (
        '127.0.0.1',
        5432,
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    ),
    'mysql': (
        '127.0.0.1',
        3306,
        'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
    ),
}


def in_ci() -> bool:
    """True when running under CI (``CI=true``), where skipping is forbidden."""
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


def require_service(name: str) -> tuple[str, int]:
    """Return ``(host, port)`` of service ``name`` if it accepts connections.

    Otherwise skip the calling test with a reason naming the start command, or
    fail it when ``in_ci()``.
    """
    host, port, start = SERVICES[name]
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        message = f'{name} is not reachable on {host}:{port} ({exc}); start it with: {start}'
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return host, port
