"""The per-thread direct connections of the hot path."""

from __future__ import annotations

import gc
import multiprocessing
import threading
import uuid

import pytest
import redis
from conftest import wait_for
from huey_storage_redis.direct import DirectConnections

pytestmark = pytest.mark.redis


@pytest.fixture(params=['hiredis', 'redis-py'])
def direct(request, redis_params, redis_client):
    """Both ways of speaking: hiredis on the socket, and redis-py's layers."""
    name = 'direct-' + uuid.uuid4().hex[:8]
    pool = redis.ConnectionPool(client_name=name, **redis_params)
    connections = DirectConnections(pool, use_hiredis=request.param == 'hiredis')
    connections.call('PING')
    assert (connections._local.wire is not None) == (request.param == 'hiredis')
    yield connections
    connections.disconnect()
    pool.disconnect()


def _client_ids(redis_client, name: str) -> list:
    return [int(c['id']) for c in redis_client.client_list() if c.get('name') == name]


def test_replies_are_raw_and_error_replies_raise_without_spoiling_the_socket(direct):
    assert direct.call('SET', 'direct:k', b'v') == b'OK'
    assert direct.call('LPUSH', 'direct:list', b'a', b'b') == 2
    with pytest.raises(redis.ResponseError, match='WRONGTYPE'):
        direct.call('LPUSH', 'direct:k', b'x')
    assert direct.call('GET', 'direct:k') == b'v'


def test_a_pipeline_returns_error_replies_in_place(direct):
    replies = direct.pipeline(
        [('SET', 'direct:k', b'v'), ('LPUSH', 'direct:k', b'x'), ('GET', 'direct:k')]
    )
    assert replies[0] == b'OK' and replies[2] == b'v'
    assert isinstance(replies[1], redis.ResponseError)


def test_one_connection_per_thread_closed_with_its_thread(direct, redis_client):
    name = direct._pool.connection_kwargs['client_name']
    direct.call('PING')
    direct.call('PING')
    called, finish = threading.Event(), threading.Event()

    def other_thread():
        direct.call('PING')
        called.set()
        finish.wait(10)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert called.wait(10)
    assert len(_client_ids(redis_client, name)) == 2
    finish.set()
    thread.join()
    # the thread's connection is garbage once the thread is gone
    wait_for(
        lambda: gc.collect() is not None and len(_client_ids(redis_client, name)) == 1,
        message='connection closed with its thread',
    )


def test_a_killed_connection_is_replaced_and_the_command_sent_again(direct, redis_client):
    name = direct._pool.connection_kwargs['client_name']
    direct.call('PING')
    (killed,) = _client_ids(redis_client, name)
    redis_client.client_kill_filter(_id=killed)
    assert direct.call('LPUSH', 'direct:list', b'a') == 1
    assert direct.pipeline([('LLEN', 'direct:list')]) == [1]
    assert _client_ids(redis_client, name) != [killed]


def test_a_reply_that_outlasts_the_socket_timeout_raises_and_the_next_command_works(
    redis_params,
):
    params = dict(redis_params, socket_timeout=0.2)
    pool = redis.ConnectionPool(retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0), **params)
    for use_hiredis in (True, False):
        direct = DirectConnections(pool, use_hiredis=use_hiredis)
        with pytest.raises(redis.TimeoutError):
            direct.call('BLPOP', 'direct:never-' + uuid.uuid4().hex, 1)
        assert direct.call('PING') in (b'PONG', 'PONG')
        direct.disconnect()
    pool.disconnect()


def test_an_unreachable_server_raises_connection_error():
    direct = DirectConnections(
        redis.ConnectionPool(host='127.0.0.1', port=1, socket_connect_timeout=1)
    )
    with pytest.raises(redis.ConnectionError):
        direct.call('PING')


def test_a_forked_child_gets_its_own_connection(direct, redis_client):
    name = direct._pool.connection_kwargs['client_name']
    direct.call('PING')
    (parent,) = _client_ids(redis_client, name)
    ctx = multiprocessing.get_context('fork')
    replies = ctx.Queue()

    def child():
        replies.put((direct.call('CLIENT', 'ID'), direct.call('INCR', 'direct:n')))

    process = ctx.Process(target=child)
    process.start()
    child_id, count = replies.get(timeout=10)
    process.join(10)
    assert child_id != parent and count == 1
    assert direct.call('CLIENT', 'ID') == parent  # the parent's socket is untouched
