"""The peers table: our huey, huey 3.5.4, Celery, Dramatiq, RQ, taskiq and arq
on one workload, measured one way (``bench/peer_driver.py``, ``bench/peers/``).

Called by ``bench/run.py --peers`` / ``--peers-only``. Each framework runs
from a venv of its own (``bench/.venv-peer-NAME``, created on first use with
the pins below, redis-py and hiredis at our versions); rounds interleave
the sides (ours, ref, celery, ... each round) and the table shows medians.
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sides import ensure_venv, our_pins, run_driver

__all__ = ['PEERS', 'Side', 'measure_peers']

BENCH = Path(__file__).resolve().parent
DRIVER = 'peer_driver.py'
WORKERS = 4
CLIENT = ('redis', 'hiredis')


@dataclass(frozen=True)
class Side:
    """One column of the table: a framework, its app module and its venv."""

    name: str
    app: str
    requirements: tuple[str, ...] = ()
    # Where the framework's own requirements exclude our redis-py version.
    client_overrides: dict = field(default_factory=dict)

    @property
    def venv(self) -> Path:
        return BENCH / f'.venv-peer-{self.name}'


PEERS = (
    Side('celery', 'celery_app', ('celery[redis]==5.7.0',)),
    Side('dramatiq', 'dramatiq_app', ('dramatiq==2.2.1',)),
    Side('rq', 'rq_app', ('rq==2.12.0',)),
    Side('taskiq', 'taskiq_app', ('taskiq==0.13.0', 'taskiq-redis==1.2.4')),
    # arq 0.28.0 requires redis<6: the newest redis-py it accepts.
    Side('arq', 'arq_app', ('arq==0.28.0',), {'redis': '5.3.1'}),
)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str  # '/s', 'ms' or 'MiB'


@dataclass
class PeerCase:
    """One driver scenario, run for every side every round."""

    name: str
    scenario: str
    params: dict
    rows: list[Row]
    samples: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


def build_peer_cases(mode: str) -> list[PeerCase]:
    full = mode == 'full'
    enqueue_count = 20_000 if full else 2_000
    drain_count = 5_000 if full else 1_000
    latency_count = 500 if full else 100
    return [
        PeerCase(
            f'enqueue ({enqueue_count:,} calls)',
            'enqueue',
            {'count': enqueue_count},
            [Row('rate', f'enqueue no-op, 1 producer ({enqueue_count:,} calls)', '/s')],
        ),
        PeerCase(
            f'e2e ({drain_count:,} tasks)',
            'drain',
            {'count': drain_count, 'workers': WORKERS},
            [Row('rate', f'e2e drain of {drain_count:,} queued no-ops, {WORKERS} workers', '/s')],
        ),
        PeerCase(
            f'latency ({latency_count} at 200/s)',
            'latency',
            {'count': latency_count, 'rate': 200, 'workers': WORKERS},
            [
                Row('p50', f'latency p50, {latency_count} tasks at 200/s', 'ms'),
                Row('p99', f'latency p99, {latency_count} tasks at 200/s', 'ms'),
                Row('worker_rss', f'RSS idle worker, {WORKERS} workers (process tree)', 'MiB'),
            ],
        ),
    ]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return 'error'
    if unit == '/s':
        return f'{value:,.0f}/s'
    if unit == 'ms':
        return f'{value:.2f} ms' if value < 10 else f'{value:,.0f} ms'
    return f'{value:.1f} MiB'


def _median(samples: list[dict], key: str, unit: str) -> float | None:
    scale = 1000.0 if unit == 'ms' else 1.0
    values = [sample[key] * scale for sample in samples if key in sample]
    return statistics.median(values) if values else None


def render(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ['| ' + ' | '.join(header) + ' |', '|---' + '|---:' * (len(header) - 1) + '|']
        lines.extend('| ' + ' | '.join(row) + ' |' for row in rows)
        return '\n'.join(lines)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        '  '.join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, '  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def heading(args, what: str, started: float) -> str:
    """A table's first line: when, what, how many rounds, on how many CPUs, how long."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    return (
        f'{stamp}, {what}, mode {args.mode}, {args.rounds} rounds, medians; '
        f'{os.cpu_count()} CPUs; run took {time.time() - started:.0f} s'
    )


def publish(
    args,
    name: str,
    notes: list[str],
    tables: list[tuple[list[str], list[list[str]]]],
    raw: dict,
    blocks: list[tuple[str, list[str]]] = (),
) -> None:
    """Print a table's ``notes``, ``tables`` ((header, rows) each) and
    ``blocks`` ((title, lines) each, empty ones left out), and write them as
    ``NAME.md`` with ``raw`` as ``NAME.json`` beside ``args.output``."""
    blocks = [(title, lines) for title, lines in blocks if lines]
    text = ['\n'.join(notes), *(render(header, rows, False) for header, rows in tables)]
    text += [f'{title}:\n' + '\n'.join(f'  {line}' for line in lines) for title, lines in blocks]
    markdown = ['\n'.join(f'{line}  ' for line in notes)]
    markdown += [render(header, rows, True) for header, rows in tables]
    markdown += [
        f'{title}:\n\n' + '\n'.join(f'* {line}' for line in lines) for title, lines in blocks
    ]
    print('\n\n'.join(text))
    output = Path(args.output).with_name(f'{name}.md')
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text('\n\n'.join(markdown) + '\n')
    output.with_suffix('.json').write_text(json.dumps(raw, indent=1) + '\n')
    print(f'\nwrote {output} and {output.with_suffix(".json")}', file=sys.stderr)


def measure_peers(args, ours_python: str, ref_python: str) -> int:
    """Run the peers cases for every side; print the table, write ``peers.md``/``.json``."""
    started = time.time()
    pythons = {'ours': ours_python, 'ref': ref_python}
    apps = {'ours': 'huey_app', 'ref': 'huey_app'}
    for peer in PEERS:
        wanted = [*peer.requirements, *our_pins(CLIENT, peer.client_overrides)]
        try:
            pythons[peer.name] = ensure_venv(peer.venv, wanted, sys.executable)
        except Exception as exc:  # noqa: BLE001 - one broken install skips one column
            print(f'peers: cannot set up {peer.name} ({exc}); column skipped', file=sys.stderr)
            continue
        apps[peer.name] = peer.app

    info = {}
    for side, python in list(pythons.items()):
        try:
            info[side] = run_driver(python, 'version', {'app': apps[side]}, 120, DRIVER)
        except RuntimeError as exc:
            print(f'peers: {side} does not start ({exc}); column skipped', file=sys.stderr)
            del pythons[side]
    columns = {side: f'{side} {info[side]["version"].split()[0]}' for side in pythons}
    columns['ours'] = 'ours'
    if 'ref' in columns:
        columns['ref'] = f'huey {info["ref"]["version"]}'

    cases = build_peer_cases(args.mode)
    print(
        f'peers {args.mode}: {len(cases)} cases x {args.rounds} rounds x {len(pythons)} sides',
        file=sys.stderr,
    )
    for case in cases:
        for round_number in range(1, args.rounds + 1):
            for side, python in pythons.items():
                t0 = time.time()
                params = {**case.params, 'app': apps[side]}
                try:
                    figures = run_driver(python, case.scenario, params, args.timeout, DRIVER)
                except RuntimeError as exc:
                    case.errors.setdefault(side, []).append(str(exc))
                    print(
                        f'[peers {case.name}] round {round_number} {side}: ERROR {exc}',
                        file=sys.stderr,
                    )
                    continue
                case.samples.setdefault(side, []).append(figures)
                shown = ', '.join(
                    f'{row.key}={_fmt(_median([figures], row.key, row.unit), row.unit)}'
                    for row in case.rows
                )
                print(
                    f'[peers {case.name}] round {round_number} {side}: {shown} '
                    f'({time.time() - t0:.1f}s)',
                    file=sys.stderr,
                )

    header = ['workload', *columns.values()]
    rows = [
        [row.label]
        + [
            _fmt(_median(case.samples.get(side, []), row.key, row.unit), row.unit)
            for side in pythons
        ]
        for case in cases
        for row in case.rows
    ]
    rows.append(
        ['concurrency model'] + [info[side]['concurrency'].split(':')[0] for side in pythons]
    )
    notes = [
        heading(args, 'peers (every side each round)', started),
        'Redis for every side: the bench server; /s higher is better, ms and MiB lower.',
    ]
    commands = [
        f'{columns[side]}: {info[side]["version"]}, {info[side]["concurrency"]}' for side in pythons
    ]
    errors = [
        f'{case.name} ({side}): {len(errs)} failed run(s); last: {errs[-1].splitlines()[0]}'
        for case in cases
        for side, errs in case.errors.items()
    ]
    raw = {
        'mode': args.mode,
        'rounds': args.rounds,
        'sides': {side: {'python': pythons[side], **info[side]} for side in pythons},
        'cases': [
            {'name': c.name, 'params': c.params, 'samples': c.samples, 'errors': c.errors}
            for c in cases
        ],
    }
    publish(args, 'peers', notes, [(header, rows)], raw, [('Sides', commands), ('Errors', errors)])
    return 0
