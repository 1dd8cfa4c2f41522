"""Measure the hot path against raw redis-py (a quick measurement, not a test).

    python tools/hot_path.py [--count N] [--url redis://127.0.0.1:6379/1]

Single-threaded, one operation at a time, so rates mostly reflect round trips
(plus script execution for the storage). Prints round trips per operation too.
Uses its own randomly named keys and deletes them afterwards.
"""

from __future__ import annotations

import argparse
import time
import uuid

import redis
from huey_storage_redis import PriorityRedisStorage, RedisExpireStorage, RedisStorage
from redis.utils import HIREDIS_AVAILABLE


class CountingConnection(redis.Connection):
    sends = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sends += 1
        return super().send_packed_command(command, check_health)


def rate(label: str, count: int, operation, repeat: int = 3) -> None:
    """Run ``operation(i)`` for i in range(count) in ``repeat`` slices; best slice wins
    (the machine may be busy with other work)."""
    before = CountingConnection.sends
    best = 0.0
    size = count // repeat
    for first in range(0, size * repeat, size):
        start = time.perf_counter()
        for i in range(first, first + size):
            operation(i)
        best = max(best, size / (time.perf_counter() - start))
    trips = (CountingConnection.sends - before) / (size * repeat)
    print(f'{label:<42} {best:>9,.0f} ops/s  {trips:.2f} round trips/op')


def measure_storage(storage, count: int, payload: bytes) -> None:
    name = type(storage).__name__
    storage.lease(1)  # load the scripts
    leases = []
    rate(f'{name}.enqueue', count, lambda i: storage.enqueue(payload, i % 3))
    rate(f'{name}.lease', count, lambda i: leases.append(storage.lease(30)))
    rate(
        f'{name}.ack(result=...)',
        count,
        lambda i: storage.ack(leases[i].receipt, result=(f'r{i}', payload)),
    )
    storage.enqueue_many((payload, None) for _ in range(count))
    rate(f'{name}.dequeue', count, lambda i: storage.dequeue())
    storage.flush_all()
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=20000)
    parser.add_argument('--url', default='redis://127.0.0.1:6379/1')
    options = parser.parse_args()
    count = options.count
    pool = redis.ConnectionPool.from_url(options.url, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    print(
        f'redis-py {redis.__version__}, hiredis parser: {HIREDIS_AVAILABLE}, '
        f'server {client.info("server")["redis_version"]}, {count} ops each\n'
    )

    raw_key = 'bench-raw-' + uuid.uuid4().hex
    payload = b'x' * 200
    rate('raw LPUSH', count, lambda i: client.lpush(raw_key, payload))
    rate('raw BRPOP', count, lambda i: client.brpop([raw_key], timeout=1))
    rate('raw SET (result)', count, lambda i: client.set(raw_key + str(i), payload))
    client.delete(*[raw_key + str(i) for i in range(count)])

    for cls in (RedisStorage, PriorityRedisStorage, RedisExpireStorage):
        measure_storage(cls('bench-' + uuid.uuid4().hex, connection_pool=pool), count, payload)
    pool.disconnect()


if __name__ == '__main__':
    main()
