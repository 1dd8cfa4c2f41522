"""Benchmark this project's huey against the reference huey 3.5.4, side by side.

Run with our interpreter from the repo root::

    .venv/bin/python bench/run.py [--quick | --full] [--scenario NAME ...] [--rounds N]

Every measurement is a fresh subprocess of ``bench/driver.py`` under one of
two interpreters: ``ours`` (the repository's ``.venv``) and ``ref`` (``bench/.venv-ref``,
created on first use with ``huey==3.5.4`` from the package index). Runs are
interleaved per round (ours, ref, ours, ref, ...) and the medians are
compared. The table goes to stdout and to ``bench/results/latest.md``.
``--peers`` / ``--peers-only`` add or run alone the peers table: the same
workload on Celery, Dramatiq, RQ, taskiq and arq (``bench/versus.py``);
``--costs`` / ``--costs-only`` the costs of our default logging and of
huey-monitor's recording (``bench/costs.py``).
Benchmarks are not tests: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aio import measure_aio
from costs import measure_costs
from server import private_redis
from sides import ensure_venv, our_pins, run_driver
from versus import measure_peers

__all__ = ['main']

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / 'results'
REF_VENV = BENCH / '.venv-ref'
REF_HUEY = 'huey==3.5.4'
# Installed into the reference venv at the same versions as ours, so the
# only difference between the two sides is the huey implementation.
REF_EXTRAS = ('redis', 'hiredis', 'gevent')
SCENARIOS = ('enqueue', 'e2e', 'latency', 'schedule', 'io', 'memory')


@dataclass(frozen=True)
class Metric:
    """One figure taken from a driver result."""

    key: str
    label: str
    unit: str  # '/s', 's', 'ms', 'MiB'
    better: str | None  # 'higher', 'lower' or None (informational)
    target: float | None = None


@dataclass
class Case:
    """One driver invocation per side per round, yielding one or more metrics."""

    scenario: str
    name: str
    driver: str
    params: dict
    metrics: list[Metric]
    samples: dict = field(default_factory=lambda: {'ours': [], 'ref': []})
    errors: dict = field(default_factory=lambda: {'ours': [], 'ref': []})


#: the performance issue's targets (ours / huey 3.5.4); other drains: >= 1.0x
E2E_TARGETS = {
    ('redis', 'thread', 4): 3.0,
    ('redis', 'process', 2): 3.0,
    ('redis', 'greenlet', 16): 3.0,
    ('sqlite', 'thread', 4): 3.0,
}


def _rate(label: str, target: float = 1.0) -> Metric:
    return Metric('rate', label, '/s', 'higher', target)


def build_cases(mode: str, selected: set[str]) -> list[Case]:
    """The scenario matrix for ``quick`` or ``full`` mode."""
    full = mode == 'full'
    cases: list[Case] = []
    enqueue_count = 20_000 if full else 4_000
    drain_count = 10_000 if full else 2_000
    producer_rss = Metric(
        'producer_rss', f'RSS producer after {enqueue_count:,} enqueues', 'MiB', None
    )
    for storage in ('redis', 'sqlite', 'memory'):
        metrics = []
        if 'enqueue' in selected:
            metrics.append(_rate(f'enqueue {storage}', 1.5))
        if 'memory' in selected and storage == 'redis':
            metrics.append(producer_rss)
        if metrics:
            cases.append(
                Case(
                    'enqueue',
                    f'enqueue {storage} ({enqueue_count:,} calls)',
                    'enqueue',
                    {'storage': storage, 'count': enqueue_count},
                    metrics,
                )
            )
    if 'e2e' in selected:
        configs = (
            [('thread', 1), ('thread', 4), ('thread', 8), ('process', 2), ('greenlet', 16)]
            if full
            else [('thread', 4)]
        )
        for storage in ('redis', 'sqlite'):
            for kind, workers in configs:
                target = E2E_TARGETS.get((storage, kind, workers), 1.0)
                cases.append(
                    Case(
                        'e2e',
                        f'e2e {storage} -k {kind} -w {workers} ({drain_count:,} tasks)',
                        'drain',
                        {
                            'storage': storage,
                            'count': drain_count,
                            'consumer_args': ['-k', kind, '-w', str(workers)],
                        },
                        [_rate(f'e2e {storage} -k {kind} -w {workers}', target)],
                    )
                )
    consumer_rss = Metric('consumer_rss', 'RSS idle consumer -k thread -w 4', 'MiB', 'lower', 1.0)
    count = 500 if full else 150
    for storage in ('redis', 'sqlite'):
        metrics = []
        if 'latency' in selected:
            metrics.append(Metric('p50', f'latency {storage} p50', 'ms', 'lower', 1.0))
            metrics.append(Metric('p99', f'latency {storage} p99', 'ms', 'lower', 1.0))
        if 'memory' in selected and storage == 'redis':
            metrics.append(consumer_rss)
        if metrics:
            cases.append(
                Case(
                    'latency',
                    f'latency {storage} -w 4 ({count} at 200/s)',
                    'latency',
                    {
                        'storage': storage,
                        'count': count,
                        'rate': 200,
                        'consumer_args': ['-k', 'thread', '-w', '4'],
                    },
                    metrics,
                )
            )
    if 'schedule' in selected:
        count = 200 if full else 40
        for storage in ('redis', 'sqlite') if full else ('redis',):
            cases.append(
                Case(
                    'schedule',
                    f'schedule {storage} -w 4 ({count} tasks, 1-3 s delays)',
                    'schedule',
                    {
                        'storage': storage,
                        'count': count,
                        'consumer_args': ['-k', 'thread', '-w', '4'],
                    },
                    [
                        Metric('p50', f'schedule {storage} lateness p50', 'ms', 'lower', 1.0),
                        Metric('p99', f'schedule {storage} lateness p99', 'ms', 'lower', 1.0),
                    ],
                )
            )
    if 'io' in selected:
        count = 2_000 if full else 400
        for kind, workers in (('thread', 32), ('greenlet', 64)):
            ideal = count * 0.01 / workers
            cases.append(
                Case(
                    'io',
                    f'io redis -k {kind} -w {workers} ({count:,} x 10 ms)',
                    'drain',
                    {
                        'storage': 'redis',
                        'count': count,
                        'nap': 0.01,
                        'workers': workers,
                        'consumer_args': ['-k', kind, '-w', str(workers)],
                    },
                    [
                        Metric(
                            'drain',
                            f'io -k {kind} -w {workers} drain (ideal {ideal:.2f} s)',
                            's',
                            'lower',
                            1.0,
                        )
                    ],
                )
            )
    return cases


# -- running ---------------------------------------------------------------


def ensure_ref_venv(python_for_venv: str) -> str:
    """Create or reuse ``bench/.venv-ref`` with the reference huey; return its python."""
    return ensure_venv(REF_VENV, [REF_HUEY, *our_pins(REF_EXTRAS)], python_for_venv)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return 'error'
    if unit == '/s':
        return f'{value:,.0f}/s'
    if unit == 'ms':
        return f'{value:.2f} ms' if value < 10 else f'{value:.0f} ms'
    if unit == 's':
        return f'{value:.2f} s'
    if unit == 'MiB':
        return f'{value:.1f} MiB'
    return f'{value:g}'


def _median(samples: list[dict], key: str, scale: float) -> float | None:
    values = [sample[key] * scale for sample in samples if key in sample]
    return statistics.median(values) if values else None


def rows_for(case: Case) -> list[list[str]]:
    """Table rows: scenario | ours | ref | ratio | target | result."""
    rows = []
    for metric in case.metrics:
        scale = 1000.0 if metric.unit == 'ms' else 1.0
        ours = _median(case.samples['ours'], metric.key, scale)
        ref = _median(case.samples['ref'], metric.key, scale)
        ratio = ours / ref if ours is not None and ref else None
        if metric.better is None or metric.target is None:
            target, verdict = 'info', 'info'
        else:
            sign = '>=' if metric.better == 'higher' else '<='
            target = f'{sign} {metric.target:.1f}x'
            if ratio is None:
                verdict = 'n/a'
            elif metric.better == 'higher':
                verdict = 'pass' if ratio >= metric.target else 'MISS'
            else:
                verdict = 'pass' if ratio <= metric.target else 'MISS'
        extra = ''
        if metric.key == 'rate':
            trips = [_median(case.samples[side], 'trips', 1.0) for side in ('ours', 'ref')]
            if None not in trips:
                extra = f' [round trips/task ours {trips[0]:.2f}, ref {trips[1]:.2f}]'
        if case.driver == 'drain' and metric.key == 'drain':
            ideal = _median(case.samples['ours'], 'ideal', 1.0)
            if ideal and ours and ref:
                extra = f' [ours {ours / ideal:.1f}x ideal, ref {ref / ideal:.1f}x ideal]'
        rows.append(
            [
                metric.label + extra,
                _fmt(ours, metric.unit),
                _fmt(ref, metric.unit),
                f'{ratio:.2f}x' if ratio is not None else '-',
                target,
                verdict,
            ]
        )
    return rows


def render_text(rows: list[list[str]]) -> str:
    header = ['scenario', 'ours', 'ref', 'ratio', 'target', 'result']
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        '  '.join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, '  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def render_markdown(rows: list[list[str]]) -> str:
    header = ['scenario', 'ours', 'ref', 'ratio', 'target', 'result']
    lines = ['| ' + ' | '.join(header) + ' |', '|---|---:|---:|---:|---:|---|']
    lines.extend('| ' + ' | '.join(row) + ' |' for row in rows)
    return '\n'.join(lines)


def run_floor(python: str, size: int, count: int, rounds: int, timeout: float) -> dict:
    samples = []
    for _ in range(rounds):
        try:
            samples.append(run_driver(python, 'floor', {'count': count, 'size': size}, timeout))
        except RuntimeError as exc:
            print(f'  floor failed: {exc}', file=sys.stderr)
    if not samples:
        return {}
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def floor_lines(floor: dict, size: int, count: int, cases: list[Case]) -> list[str]:
    if not floor:
        return ['floor: could not run (see stderr)']

    def find(label: str, side: str) -> float | None:
        for case in cases:
            for metric in case.metrics:
                if metric.label == label:
                    return _median(case.samples[side], metric.key, 1.0)
        return None

    lines = [
        f'Floor (raw client loops, {size}-byte payload, {count:,} ops, '
        "one op per round trip, ours' interpreter):",
        f'  redis-py LPUSH {floor["redis_push"]:,.0f}/s, BRPOP {floor["redis_pop"]:,.0f}/s, '
        f'LPUSH+BRPOP {floor["redis_pair"]:,.0f}/s',
        '  redis-py LPUSH on one connection (send_command/read_response, '
        f'no Redis.execute_command) {floor.get("redis_conn_push", 0):,.0f}/s',
        f'  sqlite3 INSERT {floor["sqlite_insert"]:,.0f}/s, '
        f'SELECT+DELETE {floor["sqlite_delete"]:,.0f}/s, both {floor["sqlite_pair"]:,.0f}/s',
    ]
    for label, floor_key, what in (
        ('enqueue redis', 'redis_push', 'LPUSH'),
        ('enqueue sqlite', 'sqlite_insert', 'INSERT'),
        ('e2e redis -k thread -w 4', 'redis_pair', 'LPUSH+BRPOP'),
        ('e2e sqlite -k thread -w 4', 'sqlite_pair', 'INSERT+DELETE'),
    ):
        ours, ref = find(label, 'ours'), find(label, 'ref')
        if ours is None and ref is None:
            continue
        parts = []
        for side, value in (('ours', ours), ('ref', ref)):
            if value is not None:
                parts.append(f'{side} {100.0 * value / floor[floor_key]:.0f}%')
        lines.append(f'  {label}: {", ".join(parts)} of raw {what}')
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        '--quick',
        dest='mode',
        action='store_const',
        const='quick',
        help='reduced counts, < 3 min (default)',
    )
    mode.add_argument(
        '--full',
        dest='mode',
        action='store_const',
        const='full',
        help="the issue's counts, < 15 min",
    )
    parser.add_argument(
        '--scenario',
        action='append',
        choices=[*SCENARIOS, 'floor'],
        help='run only these (repeatable); default all',
    )
    parser.add_argument(
        '--rounds',
        type=int,
        default=3,
        help='rounds per case, ours then ref each round (default 3, min 3 for a report)',
    )
    parser.add_argument(
        '--ours-python',
        default=str(REPO / '.venv' / 'bin' / 'python'),
        help='interpreter with our huey',
    )
    parser.add_argument(
        '--ref-python',
        default=None,
        help='interpreter with the reference huey (default: bench/.venv-ref, created on demand)',
    )
    parser.add_argument(
        '--self-test',
        action='store_true',
        help='run the reference on both sides (validates the harness)',
    )
    parser.add_argument(
        '--timeout', type=float, default=600.0, help='seconds allowed for one driver run'
    )
    parser.add_argument(
        '--peers',
        action='store_true',
        help='also run the peers table (Celery, Dramatiq, RQ, taskiq, arq; bench/versus.py)',
    )
    parser.add_argument('--peers-only', action='store_true', help='run only the peers table')
    parser.add_argument(
        '--aio',
        action='store_true',
        help='also run the asyncio table (async def tasks: -k asyncio, -k greenlet, arq)',
    )
    parser.add_argument('--aio-only', action='store_true', help='run only the asyncio table')
    parser.add_argument(
        '--costs',
        action='store_true',
        help='also run the costs table (default logging, huey-monitor: ours on against off)',
    )
    parser.add_argument('--costs-only', action='store_true', help='run only the costs table')
    parser.add_argument(
        '--output',
        default=str(RESULTS / 'latest.md'),
        help='markdown table path (the peers table goes to peers.md beside it)',
    )
    args = parser.parse_args(argv)
    args.mode = args.mode or 'quick'
    if args.rounds < 1:
        parser.error(f'--rounds {args.rounds}: need at least 1')

    if (args.peers_only or args.aio_only or args.costs_only) and (args.scenario or args.self_test):
        parser.error(
            '--peers-only / --aio-only / --costs-only run one table alone: '
            'drop --scenario / --self-test'
        )

    if 'BENCH_REDIS_PORT' in os.environ:  # a server of the caller's choosing
        return run_tables(args)
    with private_redis() as port:
        os.environ['BENCH_REDIS_PORT'] = str(port)  # inherited by every driver
        return run_tables(args)


def run_tables(args: argparse.Namespace) -> int:
    """The main table, then the peers and asyncio tables when asked for."""
    only = args.peers_only or args.aio_only or args.costs_only
    status = 0 if only else measure(args)
    if args.peers or args.peers_only:
        ref_python = args.ref_python or ensure_ref_venv(sys.executable)
        status = measure_peers(args, args.ours_python, ref_python) or status
    if args.aio or args.aio_only:
        status = measure_aio(args, args.ours_python) or status
    if args.costs or args.costs_only:
        status = measure_costs(args, args.ours_python) or status
    return status


def measure(args: argparse.Namespace) -> int:
    """Run the selected cases for both sides, print and write the tables."""
    started = time.time()
    ref_python = args.ref_python or ensure_ref_venv(sys.executable)
    ours_python = ref_python if args.self_test else args.ours_python
    sides = {'ours': ours_python, 'ref': ref_python}

    versions = {}
    for side, python in sides.items():
        try:
            versions[side] = run_driver(python, 'version', {}, 60)
        except RuntimeError as exc:
            print(
                f'cannot import huey with the {side} interpreter {python}:\n{exc}\n'
                '(use --self-test to check the harness)',
                file=sys.stderr,
            )
            return 1
    sizes = {}
    for side, python in sides.items():
        try:
            sizes[side] = run_driver(python, 'msgsize', {}, 60)['bytes']
        except RuntimeError as exc:
            print(f'msgsize ({side}) failed: {exc}', file=sys.stderr)

    selected = set(args.scenario or [*SCENARIOS, 'floor'])
    cases = build_cases(args.mode, selected)
    print(
        f'bench {args.mode}: {len(cases)} cases x {args.rounds} rounds, '
        f'ours={ours_python} (huey {versions["ours"]["version"]}), '
        f'ref={ref_python} (huey {versions["ref"]["version"]})',
        file=sys.stderr,
    )
    for case in cases:
        for round_number in range(1, args.rounds + 1):
            for side, python in sides.items():
                t0 = time.time()
                try:
                    figures = run_driver(python, case.driver, case.params, args.timeout)
                except RuntimeError as exc:
                    case.errors[side].append(str(exc))
                    print(
                        f'[{case.name}] round {round_number} {side}: ERROR {exc}', file=sys.stderr
                    )
                    continue
                case.samples[side].append(figures)
                shown = ', '.join(
                    f'{m.key}='
                    f'{_fmt(figures.get(m.key, 0) * (1000 if m.unit == "ms" else 1), m.unit)}'
                    for m in case.metrics
                )
                print(
                    f'[{case.name}] round {round_number} {side}: {shown} ({time.time() - t0:.1f}s)',
                    file=sys.stderr,
                )

    floor, floor_size, floor_count = (
        {},
        sizes.get('ours') or sizes.get('ref') or 120,
        20_000 if args.mode == 'full' else 5_000,
    )
    if 'floor' in selected:
        floor = run_floor(ours_python, floor_size, floor_count, args.rounds, args.timeout)

    rows = [row for case in cases for row in rows_for(case)]
    rows.sort(key=lambda row: row[0].startswith('RSS'))  # memory rows last, order kept
    elapsed = time.time() - started
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    header = [
        f'{stamp}, mode {args.mode}, {args.rounds} rounds (ours then ref each round), medians; '
        f'{os.cpu_count()} CPUs; run took {elapsed:.0f} s',
        f'ours: huey {versions["ours"]["version"]} ({ours_python}); '
        f'ref: huey {versions["ref"]["version"]} ({ref_python})'
        + (' [SELF-TEST: reference on both sides]' if args.self_test else ''),
        'ratio = ours / ref; higher is better for /s, lower is better for ms, s and MiB.',
    ]
    if sizes:
        header.append(
            'queued no-op message: '
            + ', '.join(f'{side} {size} bytes' for side, size in sizes.items())
        )
    errors = [
        f'{case.name} ({side}): {len(errs)} failed run(s); last: {errs[-1].splitlines()[0]}'
        for case in cases
        for side, errs in case.errors.items()
        if errs
    ]
    text_parts = ['\n'.join(header), render_text(rows) if rows else '(no cases selected)']
    md_parts = [
        '\n'.join(f'{line}  ' for line in header),
        render_markdown(rows) if rows else '(no cases selected)',
    ]
    if 'floor' in selected:
        lines = floor_lines(floor, floor_size, floor_count, cases)
        text_parts.append('\n'.join(lines))
        md_parts.append('\n'.join(['```', *lines, '```']))
    if errors:
        text_parts.append('Errors:\n' + '\n'.join(f'  {line}' for line in errors))
        md_parts.append('Errors:\n\n' + '\n'.join(f'* {line}' for line in errors))
    print('\n\n'.join(text_parts))

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text('\n\n'.join(md_parts) + '\n')
    raw = {
        'mode': args.mode,
        'rounds': args.rounds,
        'versions': versions,
        'sizes': sizes,
        'floor': floor,
        'cases': [
            {'name': c.name, 'params': c.params, 'samples': c.samples, 'errors': c.errors}
            for c in cases
        ],
    }
    output.with_suffix('.json').write_text(json.dumps(raw, indent=1) + '\n')
    print(f'\nwrote {output} and {output.with_suffix(".json")}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
