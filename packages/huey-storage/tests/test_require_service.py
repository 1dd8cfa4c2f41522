"""require_service: skip when a service is absent, fail under CI."""

from __future__ import annotations

import socket

import pytest
from huey_storage.testing import services


@pytest.fixture
def closed_port():
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def ghost_service(monkeypatch, closed_port):
    monkeypatch.setitem(
        services.SERVICES, 'ghost', ('127.0.0.1', closed_port, 'ghost-server --start')
    )
    return closed_port


@pytest.fixture
def listening_service(monkeypatch):
    with socket.socket() as server:
        server.bind(('127.0.0.1', 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setitem(services.SERVICES, 'alive', ('127.0.0.1', port, 'unused'))
        yield port


@pytest.mark.parametrize('value', ['', 'false', '0'])
def test_unreachable_service_skips_outside_ci(monkeypatch, ghost_service, value):
    monkeypatch.setenv('CI', value)
    with pytest.raises(pytest.skip.Exception) as info:
        services.require_service('ghost')
    message = str(info.value)
    assert f'127.0.0.1:{ghost_service}' in message
    assert 'ghost-server --start' in message


def test_unreachable_service_skips_without_ci_variable(monkeypatch, ghost_service):
    monkeypatch.delenv('CI', raising=False)
    assert services.in_ci() is False
    with pytest.raises(pytest.skip.Exception):
        services.require_service('ghost')


@pytest.mark.parametrize('value', ['true', 'TRUE', '1', 'yes'])
def test_unreachable_service_fails_in_ci(monkeypatch, ghost_service, value):
    monkeypatch.setenv('CI', value)
    assert services.in_ci() is True
    with pytest.raises(pytest.fail.Exception) as info:
        services.require_service('ghost')
    assert 'ghost-server --start' in str(info.value)


def test_reachable_service_returns_its_address(monkeypatch, listening_service):
    monkeypatch.setenv('CI', 'true')
    assert services.require_service('alive') == ('127.0.0.1', listening_service)


def test_known_services():
    assert set(services.SERVICES) >= {'redis', 'postgres', 'mysql'}
    assert services.SERVICES['redis'][:2] == ('127.0.0.1', 6379)
