"""Worker pools: where workers run (threads, forked processes or greenlets).

A pool starts ``count`` workers, replaces those that were recycled
(``max_tasks``) or died (health check), and stops them either gracefully
(finish the task in flight) or promptly (interrupt it and release its delivery
back to the queue with ``Huey.release``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from .leases import LeaseKeeper
from .worker import Worker

__all__ = ['GreenletPool', 'ProcessPool', 'ThreadPool', 'WorkerSettings', 'make_pool']

logger = logging.getLogger(__name__)

#: Seconds a prompt shutdown waits for a ``reserve()`` in progress to return.
TAKE_OVER_TIMEOUT = 5.0
#: Seconds a prompt shutdown waits for worker processes before SIGKILL.
TERMINATE_TIMEOUT = 15.0


@dataclass(frozen=True)
class WorkerSettings:
    """How every worker of a pool behaves."""

    initial_delay: float = 0.1
    backoff: float = 1.15
    max_delay: float = 10.0
    max_tasks: int | None = None

    def make_worker(self, huey: Any, name: str) -> Worker:
        return Worker(
            huey,
            name,
            initial_delay=self.initial_delay,
            backoff=self.backoff,
            max_delay=self.max_delay,
            max_tasks=self.max_tasks,
        )


def _at_least_once(huey: Any) -> bool:
    return getattr(huey, 'delivery', 'at-least-once') != 'at-most-once'


def _release(huey: Any, delivery: Any, who: str) -> bool:
    """Give an interrupted delivery back to the queue; never raises."""
    try:
        huey.release(delivery)
    except Exception:
        logger.exception(
            '%s: could not release interrupted task %s; it will be delivered '
            'again when its lease expires',
            who,
            delivery.task,
        )
        return False
    logger.warning('%s: interrupted task %s; it is back in the queue', who, delivery.task)
    return True


# -- threads and greenlets: workers inside this process ------------------------


class _Slot:
    def __init__(self, name: str) -> None:
        self.name = name
        self.worker: Worker | None = None
        self.handle: Any = None
        self.reported_dead = False


class _InProcessPool:
    """Workers that share this process; one lease keeper beats for all of them."""

    kind = 'thread'

    def __init__(self, huey: Any, count: int, settings: WorkerSettings) -> None:
        self.huey = huey
        self.settings = settings
        self.slots = [_Slot(f'Worker-{i + 1}') for i in range(count)]
        self.stopping = False
        self.keeper = LeaseKeeper(huey, self._workers) if _at_least_once(huey) else None
        self._keeper_handle = None

    # subclasses: start ``target`` concurrently; return an object with
    # is_alive() and join(timeout)
    def _spawn(self, target: Callable[[], None], name: str) -> Any:
        raise NotImplementedError

    def _workers(self) -> list[Worker]:
        return [slot.worker for slot in self.slots if slot.worker is not None]

    def _start_slot(self, slot: _Slot) -> None:
        slot.worker = self.settings.make_worker(self.huey, slot.name)
        slot.handle = self._spawn(slot.worker.run, slot.name)
        slot.reported_dead = False

    def start(self) -> None:
        for slot in self.slots:
            self._start_slot(slot)
        if self.keeper is not None:
            self._keeper_handle = self._spawn(self.keeper.run, 'LeaseKeeper')

    def maintain(self, replace_dead: bool | None) -> int:
        """Replace recycled workers; dead ones too when ``replace_dead`` is True
        (a health check), report them once when it is False (checks disabled)."""
        replaced = 0
        for slot in self.slots:
            if self.stopping or slot.handle is None or slot.handle.is_alive():
                continue
            if slot.worker.recycled:
                self._start_slot(slot)
                replaced += 1
            elif replace_dead:
                logger.warning(
                    'health check: %s %s died unexpectedly; starting a replacement',
                    self.kind,
                    slot.name,
                )
                self._start_slot(slot)
                replaced += 1
            elif replace_dead is False and not slot.reported_dead:
                logger.error(
                    '%s %s died unexpectedly (health checks are disabled, it is not replaced)',
                    self.kind,
                    slot.name,
                )
                slot.reported_dead = True
        return replaced

    def request_stop(self) -> None:
        """Stop taking work; tasks in flight finish."""
        self.stopping = True
        for worker in self._workers():
            worker.stop()

    def running(self) -> bool:
        return any(slot.handle is not None and slot.handle.is_alive() for slot in self.slots)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every worker to end; True if they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for slot in self.slots:
            if slot.handle is None:
                continue
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
            slot.handle.join(remaining)
        done = not self.running()
        if done:
            self._stop_keeper()
        return done

    def interrupt(self, grace: float | None = None) -> int:
        """Prompt stop: after up to ``grace`` seconds, release every delivery still
        in flight. Returns how many were released. Their tasks keep running
        in abandoned threads until the process exits."""
        self.request_stop()
        if grace:
            self.wait(grace)
        released = 0
        for slot in self.slots:
            if slot.handle is None or not slot.handle.is_alive():
                continue
            delivery = slot.worker.take_over(TAKE_OVER_TIMEOUT)
            if delivery is not None:
                released += _release(self.huey, delivery, slot.name)
        self._stop_keeper()
        # idle workers end on their own (running their shutdown hooks)
        deadline = time.monotonic() + TAKE_OVER_TIMEOUT
        for slot in self.slots:
            if slot.handle is not None and not slot.worker.abandoned:
                slot.handle.join(max(deadline - time.monotonic(), 0))
        return released

    def close(self) -> None:
        """Stop the lease keeper (after the workers ended)."""
        self._stop_keeper()

    @property
    def abandoned(self) -> bool:
        """True when a prompt stop left tasks running in this process."""
        return any(
            slot.worker is not None and slot.worker.abandoned and slot.handle.is_alive()
            for slot in self.slots
        )

    def _stop_keeper(self) -> None:
        if self.keeper is not None:
            self.keeper.stop()


class _ThreadHandle:
    def __init__(self, target: Callable[[], None], name: str) -> None:
        self.thread = threading.Thread(target=target, name=name, daemon=True)
        self.thread.start()

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)


class ThreadPool(_InProcessPool):
    """Workers are daemon threads of the consumer process (the default)."""

    kind = 'thread'

    def _spawn(self, target: Callable[[], None], name: str) -> Any:
        return _ThreadHandle(target, name)


class _GreenletHandle:
    def __init__(self, target: Callable[[], None], name: str) -> None:
        import gevent

        self.greenlet = gevent.Greenlet(target)
        self.greenlet.name = name
        self.greenlet.start()

    def is_alive(self) -> bool:
        return not self.greenlet.dead

    def join(self, timeout: float | None = None) -> None:
        self.greenlet.join(timeout)


class GreenletPool(_InProcessPool):
    """Workers are gevent greenlets; the process must be monkey-patched
    (the ``huey_consumer`` script does it when ``-k greenlet`` is given)."""

    kind = 'greenlet'

    def __init__(self, huey: Any, count: int, settings: WorkerSettings) -> None:
        try:
            from gevent import monkey
        except ImportError:
            raise RuntimeError(
                'greenlet workers need gevent: pip install huey-consumer[gevent]'
            ) from None
        if not monkey.is_module_patched('socket'):
            logger.warning(
                'greenlet workers in a process that is not gevent monkey-patched: '
                'blocking calls will block every worker; call '
                'gevent.monkey.patch_all() first (the huey_consumer script does)'
            )
        super().__init__(huey, count, settings)

    def _spawn(self, target: Callable[[], None], name: str) -> Any:
        return _GreenletHandle(target, name)


# -- processes -------------------------------------------------------------------


def _process_worker_main(huey: Any, settings: WorkerSettings, name: str, parent_pid: int) -> None:
    """Body of a forked worker process: one worker, its lease keeper, and a
    watcher that acts on the signals the parent forwards."""
    received: list[int] = []
    worker = settings.make_worker(huey, name)

    def handler(signum: int, frame: Any) -> None:
        # Only plain assignments here: taking a lock could deadlock with the
        # code the signal interrupted. The watcher thread does the rest.
        received.append(signum)
        worker.stop_requested = True  # no new task after the one in flight

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    keeper = None
    if _at_least_once(huey):
        keeper = LeaseKeeper(huey, lambda: [worker])
        threading.Thread(target=keeper.run, name='LeaseKeeper', daemon=True).start()

    def watch() -> None:
        while not worker.finished:
            if signal.SIGTERM in received:
                delivery = worker.take_over(TAKE_OVER_TIMEOUT)
                if delivery is not None:
                    _release(huey, delivery, name)
                else:  # idle: let the loop end normally (shutdown hooks)
                    deadline = time.monotonic() + TAKE_OVER_TIMEOUT
                    while not worker.finished and time.monotonic() < deadline:
                        time.sleep(0.02)
                logger.info('%s: stopped promptly (SIGTERM)', name)
                logging.shutdown()
                os._exit(0)
            if signal.SIGINT in received and not worker.stopping.is_set():
                logger.debug('%s: stopping after the task in flight (SIGINT)', name)
                worker.stop()
            if os.getppid() != parent_pid and not worker.stopping.is_set():
                logger.warning('%s: the consumer process is gone; stopping', name)
                worker.stop()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, name='SignalWatcher', daemon=True)
    watcher.start()
    try:
        worker.run()
    finally:
        if keeper is not None:
            keeper.stop()
    if signal.SIGTERM in received:
        # the watcher may be releasing the interrupted delivery: let it finish
        watcher.join(TAKE_OVER_TIMEOUT + 1)


class _ProcessSlot:
    def __init__(self, name: str) -> None:
        self.name = name
        self.process: Any = None
        self.reported_dead = False


class ProcessPool:
    """Workers are forked child processes, each with its own storage connections
    (storages reconnect after fork) and its own lease keeper thread."""

    kind = 'process'
    abandoned = False

    def __init__(
        self, huey: Any, count: int, settings: WorkerSettings, fork_lock: Any = None
    ) -> None:
        self.huey = huey
        self.settings = settings
        self.slots = [_ProcessSlot(f'Worker-{i + 1}') for i in range(count)]
        self.stopping = False
        self._fork_lock = fork_lock or threading.Lock()
        self._context = multiprocessing.get_context('fork')

    def _start_slot(self, slot: _ProcessSlot) -> None:
        process = self._context.Process(
            target=_process_worker_main,
            name=slot.name,
            args=(self.huey, self.settings, slot.name, os.getpid()),
        )
        with self._fork_lock:
            process.start()
        slot.process = process
        slot.reported_dead = False
        logger.debug('started worker process %s (pid %s)', slot.name, process.pid)

    def start(self) -> None:
        for slot in self.slots:
            self._start_slot(slot)

    def pids(self) -> list[int]:
        return [
            slot.process.pid
            for slot in self.slots
            if slot.process is not None and slot.process.is_alive()
        ]

    def maintain(self, replace_dead: bool | None) -> int:
        """Replace recycled workers (exit code 0); dead ones too when
        ``replace_dead`` is True, report them once when it is False."""
        replaced = 0
        for slot in self.slots:
            process = slot.process
            if self.stopping or process is None or process.is_alive():
                continue
            code = process.exitcode
            if code == 0:
                self._start_slot(slot)
                replaced += 1
            elif replace_dead:
                how = f'killed by signal {-code}' if code < 0 else f'exit code {code}'
                logger.warning(
                    'health check: worker process %s (pid %s) died (%s); starting a '
                    'replacement; its task in flight comes back when its lease '
                    'expires',
                    slot.name,
                    process.pid,
                    how,
                )
                self._start_slot(slot)
                replaced += 1
            elif replace_dead is False and not slot.reported_dead:
                logger.error(
                    'worker process %s (pid %s) died with exit code %s (health checks '
                    'are disabled, it is not replaced)',
                    slot.name,
                    process.pid,
                    code,
                )
                slot.reported_dead = True
        return replaced

    def close(self) -> None:
        """Nothing to do: each worker process ran its own lease keeper."""

    def _signal_all(self, signum: int) -> None:
        for slot in self.slots:
            process = slot.process
            if process is not None and process.is_alive():
                try:
                    os.kill(process.pid, signum)
                except ProcessLookupError:
                    pass

    def request_stop(self) -> None:
        """SIGINT every worker process: each finishes its task in flight and exits."""
        self.stopping = True
        self._signal_all(signal.SIGINT)

    def running(self) -> bool:
        return any(slot.process is not None and slot.process.is_alive() for slot in self.slots)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for slot in self.slots:
            if slot.process is None:
                continue
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
            slot.process.join(remaining)
        return not self.running()

    def interrupt(self, grace: float | None = None) -> int:
        """Prompt stop: after up to ``grace`` seconds, SIGTERM every worker process
        (each releases its delivery in flight and exits); SIGKILL stragglers."""
        if grace:
            self.request_stop()
            self.wait(grace)
        self.stopping = True
        interrupted = sum(
            1 for slot in self.slots if slot.process is not None and slot.process.is_alive()
        )
        self._signal_all(signal.SIGTERM)
        if not self.wait(TERMINATE_TIMEOUT):
            for slot in self.slots:
                if slot.process is not None and slot.process.is_alive():
                    logger.error(
                        'worker process %s (pid %s) ignored SIGTERM for %ss; killing '
                        'it (its task comes back when its lease expires)',
                        slot.name,
                        slot.process.pid,
                        TERMINATE_TIMEOUT,
                    )
                    slot.process.kill()
            self.wait(5)
        return interrupted


def make_pool(
    worker_type: str, huey: Any, count: int, settings: WorkerSettings, fork_lock: Any = None
) -> Any:
    """The pool for ``worker_type`` ('thread', 'process' or 'greenlet')."""
    if worker_type == 'thread':
        return ThreadPool(huey, count, settings)
    if worker_type == 'process':
        return ProcessPool(huey, count, settings, fork_lock)
    if worker_type == 'greenlet':
        return GreenletPool(huey, count, settings)
    raise ValueError(f"worker_type={worker_type!r}: must be 'thread', 'process' or 'greenlet'")
