"""Connection options, fork safety, and surviving a Redis restart."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
import redis
from conftest import REDIS_DB, free_port, start_redis, stop_redis
from huey_storage import ConfigurationError
from huey_storage_redis import PriorityRedisStorage, RedisStorage

pytestmark = pytest.mark.redis


def test_url_option(make_storage, redis_params):
    url = f'redis://{redis_params["host"]}:{redis_params["port"]}/{REDIS_DB}'
    by_url = make_storage(url=url, client_name='by-url')
    by_params = make_storage(name=by_url.name)
    by_url.enqueue(b'hello')
    assert by_params.dequeue() == b'hello'
    kwargs = by_url.client.connection_pool.connection_kwargs
    assert (kwargs['db'], kwargs['client_name']) == (REDIS_DB, 'by-url')


@pytest.mark.parametrize(
    'url', ['redis+tls://:hunter2@cache.example:6379/0', 'redis://u:hunter2@cache.example:x/0']
)
def test_a_bad_url_never_echoes_its_password(url):
    with pytest.raises(ConfigurationError) as caught:
        RedisStorage('x', url=url)
    message = str(caught.value)
    assert 'hunter2' not in message and ':***@cache.example' in message


def test_rediss_url_selects_tls(make_storage):
    storage = make_storage(url='rediss://127.0.0.1:6390/0')  # never connected here
    assert issubclass(storage.client.connection_pool.connection_class, redis.SSLConnection)


def test_connection_pool_option_is_shared_and_left_open(make_storage, redis_params):
    pool = redis.ConnectionPool(**redis_params)
    first = make_storage(connection_pool=pool)
    second = make_storage(PriorityRedisStorage, connection_pool=pool)
    first.enqueue(b'a')
    second.enqueue(b'b')
    assert first.client.connection_pool is second.client.connection_pool is pool
    first.close()  # the pool belongs to the caller: still usable
    assert second.dequeue() == b'b' and first.dequeue() == b'a'
    pool.disconnect()


def test_connection_pool_with_other_options_is_refused(redis_params):
    pool = redis.ConnectionPool(**redis_params)
    with pytest.raises(ConfigurationError, match='connection options'):
        RedisStorage('x', connection_pool=pool, host='127.0.0.1')
    with pytest.raises(ConfigurationError, match='url'):
        RedisStorage('x', connection_pool=pool, url='redis://127.0.0.1')


def test_decode_responses_is_refused(redis_params):
    with pytest.raises(ValueError, match='decode_responses'):
        RedisStorage('x', decode_responses=True, **redis_params)


def test_client_name_is_set_on_connections(make_storage, redis_client):
    name = 'huey-test-' + uuid.uuid4().hex[:8]
    storage = make_storage(client_name=name)
    storage.queue_size()
    assert any(client['name'] == name for client in redis_client.client_list())


def test_close_is_idempotent_and_the_storage_reconnects(make_storage):
    storage = make_storage()
    storage.enqueue(b'x')
    storage.close()
    storage.close()
    assert storage.dequeue() == b'x'


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_forked_child_uses_its_own_connection(make_storage, cls):
    storage = make_storage(cls, read_timeout=0.1)
    storage.enqueue(b'job')
    storage.put_data('parent', b'1')  # the parent's connection is open and used
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            lease = storage.lease(60)
            storage.ack(lease.receipt, result=('child', lease.data))
            storage.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert storage.peek_data('child') == b'job'
    assert storage.peek_data('parent') == b'1'  # the parent's connection still works
    assert storage.leased_count() == 0


# -- a Redis server of our own, restarted under the storage ------------------


@pytest.mark.slow
def test_storage_survives_a_redis_restart(tmp_path):
    if shutil.which('redis-server') is None:
        pytest.skip('needs the redis-server executable on PATH')
    port = free_port()
    server = start_redis(port, tmp_path)
    storage = RedisStorage('restart', url=f'redis://127.0.0.1:{port}/0', read_timeout=0.2)
    try:
        storage.enqueue(b'before')
        assert storage.lease(60).data == b'before'
        storage.put_data('k', b'v')

        stop_redis(server)
        with pytest.raises(redis.ConnectionError, match=str(port)):
            storage.enqueue(b'while down')
        with pytest.raises(redis.ConnectionError):
            storage.lease(60)

        server = start_redis(port, tmp_path)  # empty again: nothing was saved
        storage.enqueue(b'after')  # reconnects; scripts are reloaded on NOSCRIPT
        lease = storage.lease(60)
        assert lease.data == b'after'
        assert storage.ack(lease.receipt, result=('r', b'done')) is True
        assert storage.wait_data('r', timeout=5) == b'done'
        assert storage.lease(60) is None  # blocking read works again too
    finally:
        storage.close()
        stop_redis(server)


@pytest.mark.slow
def test_storage_created_while_redis_is_down_works_once_it_is_up(tmp_path):
    if shutil.which('redis-server') is None:
        pytest.skip('needs the redis-server executable on PATH')
    port = free_port()
    storage = PriorityRedisStorage('late', port=port, read_timeout=0.2)  # connects lazily
    server = None
    try:
        with pytest.raises(redis.ConnectionError):
            storage.queue_size()
        server = start_redis(port, tmp_path)
        storage.enqueue(b'x', 1)
        assert storage.dequeue() == b'x'
    finally:
        storage.close()
        if server is not None:
            stop_redis(server)
