"""The asyncio table: an I/O-bound workload of ``async def`` tasks.

Called by ``bench/run.py --aio`` / ``--aio-only``. ``count`` tasks whose
body is ``await asyncio.sleep(NAP)`` then one ``INCR`` (``peers/workload.py``)
are queued by one asyncio producer (ours: ``await nap.aio()``; arq:
``await pool.enqueue_job('nap')``), then drained with ``WORKERS`` concurrent
tasks by ours ``-k asyncio``, ours ``-k greenlet`` and arq (``max_jobs``).
The drain time runs from the first task's start (first completion minus
``NAP``) to the last completion, against the ideal ``count / WORKERS x NAP``.
A second table gives ours' producer from one loop on Redis (asyncio client)
and SQLite (calls offloaded to threads): ``await task.aio()`` and ``await``
of stored results, sequentially (``driver.py aenqueue``).
"""

from __future__ import annotations

import statistics
import sys
import time

from sides import ensure_venv, our_pins, run_driver
from versus import CLIENT, DRIVER, PEERS, heading, publish

__all__ = ['measure_aio']

WORKERS = 200
COUNT = 2_000
NAP = 0.1  # peers/workload.py's NAP
TARGET = 1.5  # x the ideal drain time


def _sides(ours_python: str) -> list[tuple[str, str, dict]]:
    """(column, interpreter, driver params) for each side that can run."""
    sides = [
        ('ours -k asyncio', ours_python, {'app': 'huey_aio_app', 'kind': 'asyncio'}),
        ('ours -k greenlet', ours_python, {'app': 'huey_aio_app', 'kind': 'greenlet'}),
    ]
    arq = next(peer for peer in PEERS if peer.name == 'arq')
    try:
        wanted = [*arq.requirements, *our_pins(CLIENT, arq.client_overrides)]
        sides.append(('arq', ensure_venv(arq.venv, wanted, sys.executable), {'app': arq.app}))
    except Exception as exc:  # noqa: BLE001 - a broken install skips one column
        print(f'aio: cannot set up arq ({exc}); column skipped', file=sys.stderr)
    return sides


def measure_aio(args, ours_python: str) -> int:
    """Run the asyncio table; print it and write ``aio.md`` / ``aio.json``."""
    started = time.time()
    params = {'task': 'nap', 'count': COUNT, 'workers': WORKERS}
    sides = _sides(ours_python)
    info, samples, errors = {}, {}, {}
    for name, python, side in sides:
        info[name] = run_driver(python, 'version', {**params, **side}, 120, DRIVER)
    for round_number in range(1, args.rounds + 1):
        for name, python, side in sides:
            t0 = time.time()
            try:
                figures = run_driver(python, 'drain', {**params, **side}, args.timeout, DRIVER)
            except RuntimeError as exc:
                errors.setdefault(name, []).append(str(exc))
                print(f'[aio] round {round_number} {name}: ERROR {exc}', file=sys.stderr)
                continue
            samples.setdefault(name, []).append(figures)
            print(
                f'[aio] round {round_number} {name}: drain {figures["drain_total"]:.2f} s, '
                f'enqueue {figures["enqueue_rate"]:,.0f}/s ({time.time() - t0:.1f}s)',
                file=sys.stderr,
            )

    producer = {}  # storage -> figures of ours' awaited enqueues and reads
    for storage in ('redis', 'sqlite'):
        try:
            producer[storage] = run_driver(
                ours_python, 'aenqueue', {'storage': storage, 'count': COUNT}, args.timeout
            )
        except RuntimeError as exc:
            print(f'[aio] aenqueue {storage}: ERROR {exc}', file=sys.stderr)

    ideal = COUNT / WORKERS * NAP

    def median(name: str, key: str) -> float | None:
        values = [sample[key] for sample in samples.get(name, [])]
        return statistics.median(values) if values else None

    rows = []
    for name, _, _ in sides:
        drain, rate = median(name, 'drain_total'), median(name, 'enqueue_rate')
        if drain is None:
            rows.append([name, 'error', '', '', 'error'])
            continue
        ratio = drain / ideal
        rows.append(
            [
                name,
                f'{drain:.2f} s',
                f'{ratio:.2f}x',
                'pass' if ratio <= TARGET else 'MISS',
                f'{rate:,.0f}/s',
            ]
        )
    header = ['side', 'drain', 'x ideal', f'<= {TARGET}x', 'await enqueue']
    notes = [
        heading(args, 'asyncio table', started),
        f'{COUNT:,} queued tasks, each await asyncio.sleep({NAP}) then one INCR, '
        f'{WORKERS} concurrent; ideal drain {ideal:.2f} s',
    ]
    commands = [f'{name}: {info[name]["version"]}, {info[name]["concurrency"]}' for name in info]
    producer_rows = [
        [storage, f'{figures["rate"]:,.0f}/s', f'{figures["read_rate"]:,.0f}/s']
        for storage, figures in producer.items()
    ]
    producer_header = ['ours, one loop', 'await task.aio()', 'await result (stored)']
    failed = [
        f'{name}: {len(errs)} failed run(s); last: {errs[-1].splitlines()[0]}'
        for name, errs in errors.items()
    ]
    raw = {'sides': info, 'samples': samples, 'errors': errors, 'producer': producer}
    tables = [(header, rows), (producer_header, producer_rows)]
    publish(args, 'aio', notes, tables, raw, [('Sides', commands), ('Errors', failed)])
    return 0
