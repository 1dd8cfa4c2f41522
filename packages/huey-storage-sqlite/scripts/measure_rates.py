"""Quick single-process rates: SqliteStorage vs raw sqlite3 (vs reference huey if importable).

    python scripts/measure_rates.py [--count 5000] [--rounds 5] [--fsync]

To include the reference huey's SqliteStorage, run it from a separate venv
(``REF_VENV``) that has ``huey`` from PyPI, with our two packages on the path (never install
the reference huey into the monorepo's .venv)::

    PYTHONPATH=packages/huey-storage/src:packages/huey-storage-sqlite/src \\
        REF_VENV/bin/python packages/huey-storage-sqlite/scripts/measure_rates.py

Not a test and not the benchmark (that lives in bench/): a sanity check of
operations per second on fresh files in a temporary directory. Every
operation is its own transaction, as a producer or a worker does it.
Implementations are interleaved round by round and the best round is kept,
which filters out noise from other processes on the machine.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict

PAYLOAD = os.urandom(200)


def _timed(count: int, operation) -> float:
    started = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - started)


def _common(storage, count: int) -> dict[str, float]:
    """The operations both storages have, in the same order on a fresh file."""
    rates = {'enqueue': _timed(count, lambda: storage.enqueue(PAYLOAD))}
    rates['dequeue'] = _timed(count, storage.dequeue)
    rates['dequeue, empty queue'] = _timed(count, storage.dequeue)
    keys = iter(range(count))
    rates['put_data (result)'] = _timed(
        count, lambda: storage.put_data(f'r-{next(keys)}', PAYLOAD, True)
    )
    keys = iter(range(count))
    rates['pop_data'] = _timed(count, lambda: storage.pop_data(f'r-{next(keys)}'))
    rates['pop_data, missing key'] = _timed(count, lambda: storage.pop_data('missing'))
    return rates


def round_ours(path: str, count: int, fsync: bool) -> dict[str, float]:
    from huey_storage_sqlite import SqliteStorage

    storage = SqliteStorage('bench', filename=path, fsync=fsync)
    storage.create_schema()
    rates = _common(storage, count)
    storage.close()
    storage = SqliteStorage('bench', filename=path + '-leases', fsync=fsync)
    storage.create_schema()
    for _ in range(count):
        storage.enqueue(PAYLOAD)
    leases = []
    rates['lease'] = _timed(count, lambda: leases.append(storage.lease(30)))
    receipts = iter([lease.receipt for lease in leases])
    rates['ack'] = _timed(count, lambda: storage.ack(next(receipts)))
    for _ in range(count):
        storage.enqueue(PAYLOAD)
    receipts = iter([(storage.lease(30).receipt, i) for i in range(count)])

    def ack_with_result() -> None:
        receipt, i = next(receipts)
        storage.ack(receipt, result=(f'result-{i}', PAYLOAD))

    rates['ack with result'] = _timed(count, ack_with_result)
    rates['lease, empty queue'] = _timed(count, lambda: storage.lease(30))
    batch = [(PAYLOAD, None)] * 100
    rates['enqueue_many (per message)'] = 100 * _timed(
        max(count // 100, 1), lambda: storage.enqueue_many(batch)
    )
    storage.close()
    return rates


def round_reference(path: str, count: int, fsync: bool) -> dict[str, float]:
    from huey.storage import SqliteStorage

    storage = SqliteStorage('bench', filename=path, fsync=fsync)
    rates = _common(storage, count)
    storage.close()
    return rates


def round_raw(path: str, count: int, fsync: bool) -> dict[str, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute('PRAGMA journal_mode = wal')
    conn.execute(f'PRAGMA synchronous = {"FULL" if fsync else "NORMAL"}')
    conn.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)')
    rates = {
        'INSERT': _timed(count, lambda: conn.execute('INSERT INTO t (data) VALUES (?)', (PAYLOAD,)))
    }
    ids = iter(range(1, count + 1))
    rates['DELETE by id'] = _timed(
        count, lambda: conn.execute('DELETE FROM t WHERE id = ?', (next(ids),))
    )
    conn.close()
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=5000)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--fsync', action='store_true')
    args = parser.parse_args()
    rounds = {'ours': round_ours, 'raw sqlite3': round_raw}
    try:
        import huey.storage  # noqa: F401  (the reference, from a separate venv)

        rounds['reference'] = round_reference
    except ImportError:
        pass
    best: dict[str, dict[str, float]] = defaultdict(dict)
    with tempfile.TemporaryDirectory() as directory:
        for number in range(args.rounds):
            for label, measure in rounds.items():
                path = os.path.join(directory, f'{label}-{number}.db')
                for operation, rate in measure(path, args.count, args.fsync).items():
                    best[label][operation] = max(rate, best[label].get(operation, 0.0))
    print(
        f'SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, '
        f'fsync={args.fsync}, {args.count} ops x best of {args.rounds} rounds, '
        f'payload {len(PAYLOAD)} bytes; ops/s'
    )
    reference = best.get('reference', {})
    for label in rounds:
        if label == 'reference':
            continue
        for operation, rate in best[label].items():
            line = f'{label:<12} {operation:<28} {rate:>10,.0f}'
            if label == 'ours' and operation in reference:
                line += f'   reference {reference[operation]:>10,.0f}'
            print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
