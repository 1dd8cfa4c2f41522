"""What every measurement subprocess needs, whichever framework it drives.

``bench/driver.py`` (huey against huey) and ``bench/peer_driver.py`` (huey
against other task queues) both run in the interpreter of the side under
test, so this module imports nothing beyond the standard library at import
time (redis-py is imported on first use: every side's venv has it).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from typing import Callable

__all__ = [
    'REDIS_DB',
    'REDIS_HOST',
    'REDIS_PORT',
    'RESULT_PREFIX',
    'WorkerProcess',
    'descendants',
    'percentile',
    'process_cpu_seconds',
    'redis_client',
    'rss_mib',
    'run_scenario',
    'tree_cpu_seconds',
    'tree_rss_mib',
]

RESULT_PREFIX = 'BENCH_RESULT '
REDIS_HOST = os.environ.get('BENCH_REDIS_HOST', '127.0.0.1')
REDIS_PORT = int(os.environ.get('BENCH_REDIS_PORT', '6379'))
REDIS_DB = int(os.environ.get('BENCH_REDIS_DB', '5'))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def redis_client():
    """A plain redis-py client on the bench server and db."""
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)


def rss_mib(pid: int) -> float:
    """VmRSS of one process, in MiB."""
    with open(f'/proc/{pid}/status') as handle:
        for line in handle:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(')', 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_rss_mib(pid: int) -> float:
    """VmRSS summed over a process tree (a pool's parent and its children)."""
    total = 0.0
    for member in descendants(pid):
        try:
            total += rss_mib(member)
        except OSError:
            pass
    return total


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process tree."""
    return sum(map(process_cpu_seconds, descendants(pid)))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by one process (0 once gone)."""
    try:
        with open(f'/proc/{pid}/stat') as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class WorkerProcess:
    """A worker subprocess in a session of its own, its output in a log file.

    ``stop`` signals it (``stop_signal``, SIGTERM by default: every framework
    here takes it as a clean shutdown), waits up to ``deadline`` seconds,
    then kills the whole process group and any descendant that left it, so
    no measurement leaves a process behind.
    """

    def __init__(
        self,
        command: list[str],
        *,
        cwd: str,
        env: dict,
        log_path: str,
        stop_signal: int = signal.SIGTERM,
        deadline: float = 15.0,
    ):
        self.command = command
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.deadline = deadline
        self._log = open(log_path, 'wb')
        self.started = time.time()
        self.stopped = ''  # after stop(): 'exited N' or 'killed after the deadline'
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def check(self) -> None:
        """Raise with the log tail if the worker died."""
        if self.proc.poll() is not None:
            raise RuntimeError(
                f'worker {self.command[1:]} exited with {self.proc.returncode}:\n{self.log_tail()}'
            )

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        with open(self.log_path, 'rb') as handle:
            return b'\n'.join(handle.read().splitlines()[-lines:]).decode('utf-8', 'replace')

    def stop(self) -> None:
        """Clean stop within the deadline, then SIGKILL whatever is left."""
        tree = descendants(self.proc.pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(self.stop_signal)
                self.proc.wait(timeout=self.deadline)
            except subprocess.TimeoutExpired:
                pass
        exited = self.proc.poll()
        self.stopped = f'exited {exited}' if exited is not None else 'killed after the deadline'
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in tree[1:]:  # children that moved to a session of their own
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _exit_on_signal(signum, frame) -> None:
    # run.py sends SIGTERM on its timeout, Ctrl-C sends SIGINT: unwind so
    # every ``finally`` (worker stop, db flush) runs instead of orphaning the
    # worker, and ignore further signals so nothing cuts that cleanup short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def run_scenario(scenarios: dict[str, Callable[[dict], dict]], argv: list[str] | None) -> int:
    """``driver.py SCENARIO 'JSON'``: run one scenario, print its figures on the last line."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in scenarios:
        print(f"usage: {sys.argv[0]} {{{','.join(scenarios)}}} 'JSON params'", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    params = json.loads(argv[1]) if len(argv) > 1 else {}
    figures = scenarios[argv[0]](params)
    print(RESULT_PREFIX + json.dumps(figures), flush=True)
    return 0
