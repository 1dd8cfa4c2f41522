"""The costs table: what a feature of ours costs our own end-to-end drain.

Called by ``bench/run.py --costs`` / ``--costs-only``. Each drain
(``scenario_toggle`` in driver.py, ``-k thread -w 4``, queued no-op tasks)
has the consumer turn the feature off and on every ``period`` seconds; each
pair of neighbouring windows gives a ratio of rates (on / off), and a row's
ratio is the median over all pairs of its drains. Why windows of one drain
rather than whole runs on and off: this machine's speed drifts by tens of
percent within seconds, and neighbouring windows share that drift where
two runs a few seconds apart do not. A control row toggles nothing: its
ratio shows the method's own noise.

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


COSTS = (
    Cost('default logging (off: -q level)', 'logging', (), 0.90),
    Cost('huey-monitor recording (off: disconnected)', 'monitor', (('BENCH_MONITOR', '1'),), 0.95),
    Cost('nothing (control: the noise)', 'none', (), None),
)


def measure_costs(args, ours_python: str) -> int:
    """Run the costs table; print it and write ``costs.md`` / ``costs.json``."""
    started = time.time()
    full = args.mode == 'full'
    period, settle = (1.0, 0.3) if full else (0.5, 0.15)
    counts = COUNTS['full' if full else 'quick']
    # a window pair's ratio spreads by +-20% here: --full takes 5 drains or more a row
    drains = max(args.rounds, 5) if full else args.rounds
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

    def median(label: str, on: bool, key: str) -> float | None:
        values = [w[key] for w in windows.get(label, []) if w['on'] is on]
        return statistics.median(values) if values else None

    rows = []
    for cost, storage in cases:
        label = f'{cost.feature}, e2e {storage}'
        target = '-' if cost.target is None else f'>= {cost.target:.2f}x'
        on, off = median(label, True, 'rate'), median(label, False, 'rate')
        if on is None or off is None or not ratios.get(label):
            rows.append([label, 'error', 'error', '-', target, 'n/a', '', '0'])
            continue
        ratio = statistics.median(ratios[label])
        cpu_on, cpu_off = median(label, True, 'cpu'), median(label, False, 'cpu')
        if cost.target is None:
            result = '-'
        else:
            result = 'pass' if ratio >= cost.target else 'MISS'
        rows.append(
            [
                label,
                f'{on:,.0f}/s',
                f'{off:,.0f}/s',
                f'{ratio:.2f}x',
                target,
                result,
                f'{1e6 * cpu_on:.1f} / {1e6 * cpu_off:.1f} us',
                str(len(ratios[label])),
            ]
        )
    header = ['feature', 'on', 'off', 'ratio', 'target', 'result', 'CPU/task on / off', 'pairs']
    notes = [
        heading(argparse.Namespace(**{**vars(args), 'rounds': drains}), 'costs table', started),
        f'ours ({ours_python}); a round is a drain of '
        + ' / '.join(f'{number:,} ({storage})' for storage, number in counts.items())
        + ' queued no-op tasks, '
        f'consumer {" ".join(WORKERS)}, the feature switched every {period:g} s '
        f'(the first {settle:g} s of a window left out); on / off = median window rates; '
        "ratio = the median of neighbouring windows' rate on / rate off",
    ]
    failed = [
        f'{label}: {len(errs)} failed run(s); last: {errs[-1].splitlines()[0]}'
        for label, errs in errors.items()
    ]
    raw = {'windows': windows, 'ratios': ratios, 'errors': errors}
    publish(args, 'costs', notes, [(header, rows)], raw, [('Errors', failed)])
    return 0
