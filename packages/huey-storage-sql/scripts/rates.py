"""Measure SqlStorage enqueue / lease / ack rates on the local PostgreSQL and MariaDB.

A quick measurement, not a test and not the project benchmark (bench/)::

    .venv/bin/python packages/huey-storage-sql/scripts/rates.py [--count 3000] [--workers 4]

Each database gets a throwaway schema (PostgreSQL) or database (MariaDB)
named huey_rates_<random>, dropped at the end. Prints operations per second.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid

import peewee
import psycopg2
import pymysql
from huey_storage_sql import SqlStorage


def _rate(count: int, seconds: float) -> str:
    return f'{count / seconds:9.0f}/s'


def measure(label: str, make, count: int, workers: int) -> None:
    storage = make()
    storage.flush_all()
    payload = b'x' * 200
    results = []

    started = time.perf_counter()
    for _ in range(count):
        storage.enqueue(payload)
    results.append(('enqueue', _rate(count, time.perf_counter() - started)))

    started = time.perf_counter()
    leases = [storage.lease(60) for _ in range(count)]
    results.append(('lease', _rate(count, time.perf_counter() - started)))

    started = time.perf_counter()
    for lease in leases:
        storage.ack(lease.receipt)
    results.append(('ack', _rate(count, time.perf_counter() - started)))

    storage.enqueue_many((payload, None) for _ in range(count))
    started = time.perf_counter()
    for i in range(count):
        lease = storage.lease(60)
        storage.ack(lease.receipt, result=(f'result-{i}', b'42'))
    results.append(('lease + ack(result)', _rate(count, time.perf_counter() - started)))

    started = time.perf_counter()
    for start in range(0, count, 100):
        storage.enqueue_many((payload, None) for _ in range(min(100, count - start)))
    results.append(('enqueue_many x100', _rate(count, time.perf_counter() - started)))
    storage.flush_queue()

    # Several processes: producers and consumers at once on one queue.
    total = count * 2
    context = multiprocessing.get_context('fork')

    def produce(share: int) -> None:
        handle = make()
        for _ in range(share):
            handle.enqueue(payload)
        handle.close()

    def consume(done) -> None:
        handle = make()
        while done.value < total:
            lease = handle.lease(60)
            if lease is None:
                if not handle.blocking:
                    time.sleep(0.001)
                continue
            handle.ack(lease.receipt)
            with done.get_lock():
                done.value += 1
        handle.close()

    done = context.Value('i', 0)
    producers = [context.Process(target=produce, args=(total // workers,)) for _ in range(workers)]
    consumers = [context.Process(target=consume, args=(done,)) for _ in range(workers)]
    started = time.perf_counter()
    for process in producers + consumers:
        process.start()
    for process in producers + consumers:
        process.join(300)
    elapsed = time.perf_counter() - started
    results.append(
        (f'{workers} producers + {workers} consumers (lease+ack)', _rate(total, elapsed))
    )
    storage.flush_all()
    storage.close()

    print(f'\n{label}  ({count} messages of 200 bytes, sequential unless noted)')
    for name, rate in results:
        print(f'  {name:<42} {rate}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=3000)
    parser.add_argument('--workers', type=int, default=4)
    args = parser.parse_args()
    name = 'huey_rates_' + uuid.uuid4().hex[:8]

    admin = psycopg2.connect(host='127.0.0.1', user='postgres', dbname='test')
    admin.autocommit = True
    admin.cursor().execute(f'CREATE SCHEMA {name}')
    try:
        measure(
            'PostgreSQL',
            lambda: SqlStorage(
                'rates',
                database=peewee.PostgresqlDatabase(
                    'test', host='127.0.0.1', user='postgres', options=f'-c search_path={name}'
                ),
            ),
            args.count,
            args.workers,
        )
    finally:
        admin.cursor().execute(f'DROP SCHEMA {name} CASCADE')
        admin.close()

    admin = pymysql.connect(host='127.0.0.1', user='root', password='', autocommit=True)
    admin.cursor().execute(f'CREATE DATABASE {name}')
    try:
        measure(
            'MariaDB',
            lambda: SqlStorage('rates', database=f'mysql://root@127.0.0.1:3306/{name}'),
            args.count,
            args.workers,
        )
    finally:
        admin.cursor().execute(f'DROP DATABASE {name}')
        admin.close()


if __name__ == '__main__':
    main()
