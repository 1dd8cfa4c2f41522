"""The costs table: what a feature of ours costs our own end-to-end drain.

Called by ``bench/run.py --costs`` / ``--costs-only``. Each drain
(``scenario_toggle`` in driver.py, ``-k thread -w 4``, queued no-op tasks)
has the consumer turn the feature off and on every ``period`` seconds; each
pair of neighbouring windows gives a ratio of rates (on / off), and a row's
ratio is the median over all pairs of its drains. Why windows of one drain:
this machine's speed drifts by tens of percent within seconds, and
neighbouring windows share that drift where two runs a few seconds apart do
not. A control row toggles nothing: its ratio shows the method's own noise.
With ``--full``, whole runs with and without each feature, back to back, sit
beside it: they see what the toggle cannot, a cost that outlasts a window.

The targets are the issues': default logging may cost at most 10% of the
rate (off: the level ``-q`` sets), huey-monitor's recording at most 5%
(``BENCH_MONITOR=1`` enables it, the toggle connects and disconnects it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

from sides import run_driver
from versus import heading, publish

__all__ = ['COSTS', 'measure_costs']

WORKERS = ['-k', 'thread', '-w', '4']
#: queued no-op tasks a drain, by storage: a Redis drain runs at about twice
#: SQLite's rate, and each needs 10 s or more to give several window pairs
COUNTS = {
    'full': {'redis': 450_000, 'sqlite': 250_000},
    'quick': {'redis': 120_000, 'sqlite': 60_000},
}


@dataclass(frozen=True)
class Cost:
    """A feature, what ``bench_app`` toggles for it, and the least rate it may leave."""

    feature: str
    toggle: str  # BENCH_TOGGLE
    env: tuple[tuple[str, str], ...]
    target: float | None  # rate with the feature / rate without, at least
    #: whole runs without the feature: these consumer options, without ``env``
    off_args: tuple[str, ...] = ()


COSTS = (
    Cost('default logging (off: -q level)', 'logging', (), 0.90, ('-q',)),
    Cost('huey-monitor recording (off: disconnected)', 'monitor', (('BENCH_MONITOR', '1'),), 0.95),
    Cost('nothing (control: the noise)', 'none', (), None),
)
#: queued no-op tasks of a whole run (on or off), by storage, and the pairs
#: of whole runs a row. Why drains of 10 s or so: the machine's drift
#: averages out within a run (a pair's ratio had a standard deviation of
#: 0.086 with drains of 3.5 s on Redis, 0.041 with drains of 9.5 s), and so
#: do a consumer's costs of its first second (the monitor's first writes),
#: which are no part of a steady throughput.
WHOLE_COUNTS = {'redis': 150_000, 'sqlite': 80_000}
WHOLE_ROUNDS = 8


def measure_costs(args, ours_python: str) -> int:
    """Run the costs table; print it and write ``costs.md`` / ``costs.json``."""
    started = time.time()
    full = args.mode == 'full'
    period, settle = (1.0, 0.3) if full else (0.5, 0.15)
    counts = COUNTS['full' if full else 'quick']
    # a window pair's ratio spreads by +-20% here: --full takes 3 drains or
    # more a row (some 60 window pairs), and whole runs besides
    drains = max(args.rounds, 3) if full else args.rounds
    windows: dict[str, list[dict]] = {}
    ratios: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}
    cases = [(cost, storage) for cost in COSTS for storage in ('redis', 'sqlite')]
    for round_number in range(1, drains + 1):
        for cost, storage in cases:
            label = f'{cost.feature}, e2e {storage}'
            params = {
                'storage': storage,
                'count': counts[storage],
                'feature': cost.toggle,
                'period': period,
                'settle': settle,
                'consumer_args': WORKERS,
            }
            try:
                figures = run_driver(
                    ours_python, 'toggle', params, args.timeout, env=dict(cost.env)
                )
            except RuntimeError as exc:
                errors.setdefault(label, []).append(str(exc))
                print(f'[costs] {label} round {round_number}: ERROR {exc}', file=sys.stderr)
                continue
            windows.setdefault(label, []).extend(figures['windows'])
            ratios.setdefault(label, []).extend(figures['ratios'])
            print(
                f'[costs] {label} round {round_number}: '
                + ' '.join(f'{r:.2f}' for r in figures['ratios']),
                file=sys.stderr,
            )

    # Whole runs, on and off back to back (the order alternating by round):
    # what the toggle cannot see, a cost that outlasts a window (a larger
    # heap, the collector), shows here; the machine's drift does too.
    whole: dict[str, list[tuple[float, float, float, float]]] = {}
    if full:
        for round_number in range(1, max(args.rounds, WHOLE_ROUNDS) + 1):
            for cost, storage in cases:  # the control too: the method's noise
                label = f'{cost.feature}, e2e {storage}'
                sides = [(dict(cost.env), WORKERS), ({}, WORKERS + list(cost.off_args))]
                if round_number % 2 == 0:
                    sides.reverse()
                count = WHOLE_COUNTS[storage]
                try:
                    runs = [
                        run_driver(
                            ours_python,
                            'drain',
                            {
                                'storage': storage,
                                'count': count,
                                'consumer_args': a,
                                'batched': True,
                                'watch_last': True,
                            },
                            args.timeout,
                            env=e,
                        )
                        for e, a in sides
                    ]
                except RuntimeError as exc:
                    errors.setdefault(label, []).append(str(exc))
                    continue
                if round_number % 2 == 0:
                    runs.reverse()
                on, off = runs
                whole.setdefault(label, []).append(
                    (on['rate'], off['rate'], on.get('cpu_per_task', 0), off.get('cpu_per_task', 0))
                )
                print(
                    f'[costs] {label} whole runs {round_number}: {on["rate"] / off["rate"]:.2f}',
                    file=sys.stderr,
                )

    def median(label: str, on: bool, key: str) -> float | None:
        values = [w[key] for w in windows.get(label, []) if w['on'] is on]
        return statistics.median(values) if values else None

    rows = []
    for cost, storage in cases:
        label = f'{cost.feature}, e2e {storage}'
        target = '-' if cost.target is None else f'>= {cost.target:.2f}x'
        on, off = median(label, True, 'rate'), median(label, False, 'rate')
        if on is None or off is None or not ratios.get(label):
            rows.append([label, 'error', 'error', '-', '', '0', '-', '-', target, 'n/a'])
            continue
        ratio = statistics.median(ratios[label])
        cpu_on, cpu_off = median(label, True, 'cpu'), median(label, False, 'cpu')
        if cost.target is None:
            result = '-'
        else:
            result = 'pass' if ratio >= cost.target else 'MISS'
        runs = whole.get(label, [])
        whole_ratio = statistics.median(r[0] / r[1] for r in runs) if runs else None
        spread = _quartiles([r[0] / r[1] for r in runs])
        if cost.target is not None and whole_ratio is not None and whole_ratio < cost.target:
            result = 'MISS'
        whole_cpu = (
            f'{1e6 * statistics.median(r[2] for r in runs):.1f} / '
            f'{1e6 * statistics.median(r[3] for r in runs):.1f} us'
            if runs
            else '-'
        )
        rows.append(
            [
                label,
                f'{on:,.0f}/s',
                f'{off:,.0f}/s',
                f'{ratio:.2f}x',
                f'{1e6 * cpu_on:.1f} / {1e6 * cpu_off:.1f} us',
                str(len(ratios[label])),
                '-' if whole_ratio is None else f'{whole_ratio:.2f}x{spread}',
                whole_cpu,
                target,
                result,
            ]
        )
    header = [
        'feature',
        'on',
        'off',
        'ratio',
        'CPU/task on / off',
        'pairs',
        'whole runs',
        'CPU/task on / off',
        'target',
        'result',
    ]
    notes = [
        heading(argparse.Namespace(**{**vars(args), 'rounds': drains}), 'costs table', started),
        f'ours ({ours_python}); a round is a drain of {_per_storage(counts)} queued no-op tasks, '
        f'consumer {" ".join(WORKERS)}, the feature switched every {period:g} s '
        f'(the first {settle:g} s of a window left out); on / off = median window rates; '
        "ratio = the median of neighbouring windows' rate on / rate off; "
        'whole runs (--full): the median (quartiles) of the rate ratios of '
        f'{max(args.rounds, WHOLE_ROUNDS)} pairs of drains of {_per_storage(WHOLE_COUNTS)} '
        'tasks, one with the feature and one without, back to back; '
        'result: pass when both ratios meet the target',
    ]
    failed = [
        f'{label}: {len(errs)} failed run(s); last: {errs[-1].splitlines()[0]}'
        for label, errs in errors.items()
    ]
    raw = {'windows': windows, 'ratios': ratios, 'whole': whole, 'errors': errors}
    publish(args, 'costs', notes, [(header, rows)], raw, [('Errors', failed)])
    return 0


def _quartiles(ratios: list[float]) -> str:
    """' (0.93-1.02)': the first and third quartiles of ``ratios`` (4 or more)."""
    if len(ratios) < 4:
        return ''
    low, _, high = statistics.quantiles(ratios, n=4)
    return f' ({low:.2f}-{high:.2f})'


def _per_storage(counts: dict[str, int]) -> str:
    """'450,000 (redis) / 250,000 (sqlite)'."""
    return ' / '.join(f'{number:,} ({storage})' for storage, number in counts.items())
