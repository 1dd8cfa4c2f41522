"""The costs table: what a feature of ours costs our own end-to-end drain.

Called by ``bench/run.py --costs`` / ``--costs-only``. Each row drains the
same queued no-op tasks (``-k thread -w 4``) with the feature on and off,
both sides our interpreter, interleaved per round (on, off, on, off, ...),
and compares them: the median of each round's ratio of rates (its two runs
are back to back), and the median consumer CPU time per task from its
first result on (utime + stime of its process tree), which a busy machine
disturbs less. The targets are the issues': default logging may
cost at most 10% of the rate (``-q`` off), huey-monitor's recording at most
5% (``BENCH_MONITOR=1`` makes ``bench_app`` call ``huey_monitor.enable``).
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass

from sides import run_driver
from versus import heading, publish

__all__ = ['COSTS', 'measure_costs']

WORKERS = ['-k', 'thread', '-w', '4']


@dataclass(frozen=True)
class Cost:
    """A feature, how to turn it on and off, and the least rate it may leave."""

    feature: str
    on_args: tuple[str, ...]
    off_args: tuple[str, ...]
    on_env: tuple[tuple[str, str], ...]
    target: float  # rate with the feature / rate without, at least


COSTS = (
    Cost('default logging (off: -q)', (), ('-q',), (), 0.90),
    Cost('huey-monitor recording (off: not enabled)', (), (), (('BENCH_MONITOR', '1'),), 0.95),
)


def measure_costs(args, ours_python: str) -> int:
    """Run the costs table; print it and write ``costs.md`` / ``costs.json``."""
    started = time.time()
    count = 30_000 if args.mode == 'full' else 10_000
    samples: dict[str, dict[str, list[dict]]] = {}
    pairs: dict[str, list[float]] = {}  # per round: rate on / rate off, run back to back
    errors: dict[str, list[str]] = {}
    cases = [(cost, storage) for cost in COSTS for storage in ('redis', 'sqlite')]
    for cost, storage in cases:
        label = f'{cost.feature}, e2e {storage}'
        for round_number in range(1, args.rounds + 1):
            rates = {}
            for side in ('on', 'off'):
                extra = cost.on_args if side == 'on' else cost.off_args
                params = {
                    'storage': storage,
                    'count': count,
                    'consumer_args': [*WORKERS, *extra],
                }
                env = dict(cost.on_env) if side == 'on' else {}
                try:
                    figures = run_driver(ours_python, 'drain', params, args.timeout, env=env)
                except RuntimeError as exc:
                    errors.setdefault(label, []).append(str(exc))
                    print(
                        f'[costs] {label} round {round_number} {side}: ERROR {exc}', file=sys.stderr
                    )
                    continue
                samples.setdefault(label, {}).setdefault(side, []).append(figures)
                rates[side] = figures['rate']
                print(
                    f'[costs] {label} round {round_number} {side}: {figures["rate"]:,.0f}/s, '
                    f'{1e6 * figures.get("cpu_per_task", 0):.1f} us CPU/task',
                    file=sys.stderr,
                )
            if len(rates) == 2:
                pairs.setdefault(label, []).append(rates['on'] / rates['off'])

    def median(label: str, side: str, key: str) -> float | None:
        values = [s[key] for s in samples.get(label, {}).get(side, []) if key in s]
        return statistics.median(values) if values else None

    rows = []
    for cost, storage in cases:
        label = f'{cost.feature}, e2e {storage}'
        on, off = median(label, 'on', 'rate'), median(label, 'off', 'rate')
        cpu_on, cpu_off = median(label, 'on', 'cpu_per_task'), median(label, 'off', 'cpu_per_task')
        if on is None or off is None or label not in pairs:
            rows.append([label, 'error', 'error', '-', f'>= {cost.target:.2f}x', 'n/a', ''])
            continue
        # The median of the rounds' own ratios: a round's two runs are back
        # to back, so a machine that is busier in some rounds moves both.
        ratio = statistics.median(pairs[label])
        cpu = (
            f'{1e6 * cpu_on:.1f} / {1e6 * cpu_off:.1f} us'
            if cpu_on is not None and cpu_off is not None
            else '-'
        )
        rows.append(
            [
                label,
                f'{on:,.0f}/s',
                f'{off:,.0f}/s',
                f'{ratio:.2f}x',
                f'>= {cost.target:.2f}x',
                'pass' if ratio >= cost.target else 'MISS',
                cpu,
            ]
        )
    header = ['feature', 'on', 'off', 'ratio', 'target', 'result', 'CPU/task on / off']
    notes = [
        heading(args, 'costs table (on then off each round)', started),
        f'ours ({ours_python}) both sides; {count:,} queued no-op tasks, '
        f"consumer {' '.join(WORKERS)}; ratio = the median of each round's rate on / rate off",
    ]
    failed = [
        f'{label}: {len(errs)} failed run(s); last: {errs[-1].splitlines()[0]}'
        for label, errs in errors.items()
    ]
    raw = {'samples': samples, 'pairs': pairs, 'errors': errors}
    publish(args, 'costs', notes, [(header, rows)], raw, [('Errors', failed)])
    return 0
