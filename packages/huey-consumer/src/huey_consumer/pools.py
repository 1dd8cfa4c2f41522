"""Worker pools: a consumer's workers, started, replaced and stopped together.

A pool holds ``workers`` slots, each a worker and the handle it runs in (from
the consumer's environment). It replaces workers that were recycled
(``max_tasks``) or died (health check), and stops them either gracefully (the
shared stop flag: finish the task in flight) or promptly (``interrupt()``:
take each delivery in flight back and release it to the queue with
``Huey.release``).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Protocol

from .environments import Environment, StopFlag
from .leases import LeaseKeeper
from .timeouts import STUCK_GRACE, TimedRun
from .worker import AckFlusher, Worker

if TYPE_CHECKING:
    from huey_api import Huey
    from huey_api.execution import Delivery

__all__ = ['InProcessPool', 'Pool', 'ProcessPool', 'Slot', 'make_pool']

logger = logging.getLogger('huey.consumer.pools')

#: Seconds a prompt shutdown waits for a ``reserve()`` in progress to return.
TAKE_OVER_TIMEOUT = 5.0
#: Seconds a prompt shutdown waits for worker processes before SIGKILL.
TERMINATE_TIMEOUT = 15.0
#: Exit status of a worker process that gave up on a stuck task (replaced at once).
EXIT_ABANDONED = 3

WorkerFactory = Callable[[str], Worker]


class Pool(Protocol):
    """What the consumer needs from a pool of workers."""

    slots: list[Slot]
    #: True when a prompt stop left interrupted tasks running in this process.
    abandoned: bool

    def start(self, should_stop: Callable[[], bool] | None = None) -> int: ...

    def maintain(self, replace_dead: bool | None) -> int: ...

    def running(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def interrupt(self) -> int: ...

    def close(self) -> None: ...


class Slot:
    """One worker of a pool and the handle (thread, greenlet, process) it runs in."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.worker: Worker | None = None
        self.handle: Any = None
        self.reported_dead = False
        #: process workers: the deadline their task publishes (see ProcessEnvironment)
        self.deadline: Any = None
        #: killed because its task was stuck: replace it at once
        self.killed_stuck = False


def _release(huey: Huey, delivery: Delivery, who: str) -> bool:
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


def _give_up(huey: Huey, worker: Worker, run: TimedRun) -> None:
    """Abandon ``worker``, stuck in a task past its timeout: its message goes
    back to the queue (counted as a delivery); never raises."""
    logger.error(
        '%s: task still running %ss after its timeout of %ss (blocked outside Python '
        'code?); abandoning it and starting a replacement worker',
        worker.name,
        STUCK_GRACE,
        run.seconds,
    )
    delivery = worker.take_over(0)
    if delivery is not None:
        _release(huey, delivery, worker.name)


class _BasePool:
    def __init__(
        self,
        environment: Environment,
        huey: Huey,
        count: int,
        stop_flag: StopFlag,
        make_worker: WorkerFactory,
    ) -> None:
        self.environment = environment
        self.huey = huey
        self.stop_flag = stop_flag
        self.make_worker = make_worker
        self.slots = [Slot(f'Worker-{i + 1}') for i in range(count)]
        for slot in self.slots:
            self._prepare(slot)

    def _prepare(self, slot: Slot) -> None:
        raise NotImplementedError

    def _alive(self, slot: Slot) -> bool:
        return slot.handle is not None and self.environment.is_alive(slot.handle)

    def _start_slot(self, slot: Slot) -> None:
        slot.handle.start()
        slot.reported_dead = False

    def start(self, should_stop: Callable[[], bool] | None = None) -> int:
        """Start every worker, unless ``should_stop()`` turns true on the way
        (a signal during a long start-up); returns how many were started."""
        for started, slot in enumerate(self.slots):
            if should_stop is not None and should_stop():
                return started
            self._start_slot(slot)
        return len(self.slots)

    def _recycled(self, slot: Slot) -> bool:
        raise NotImplementedError

    def _describe_death(self, slot: Slot) -> str:
        return f'{self.environment.worker_type} {slot.name} died unexpectedly'

    def maintain(self, replace_dead: bool | None) -> int:
        """Replace recycled workers; dead ones too when ``replace_dead`` is True
        (a health check), report them once when it is False (checks disabled)."""
        replaced = self._replace_stuck()
        for slot in self.slots:
            if self.stop_flag.is_set() or self._alive(slot):
                continue
            if self._recycled(slot):
                self._prepare(slot)
                self._start_slot(slot)
                replaced += 1
            elif replace_dead:
                logger.warning(
                    'health check: %s; starting a replacement', self._describe_death(slot)
                )
                self._prepare(slot)
                self._start_slot(slot)
                replaced += 1
            elif replace_dead is False and not slot.reported_dead:
                logger.error(
                    '%s (health checks are disabled, it is not replaced)',
                    self._describe_death(slot),
                )
                slot.reported_dead = True
        return replaced

    def _replace_stuck(self) -> int:
        """Replace workers stuck in a task past its timeout (see ``timeouts``)."""
        return 0

    def running(self) -> bool:
        return any(self._alive(slot) for slot in self.slots)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for every worker to end; True if they did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for slot in self.slots:
            if self._alive(slot):
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
                slot.handle.join(remaining)
        return not self.running()


class InProcessPool(_BasePool):
    """Workers inside this process (threads or greenlets); one lease keeper
    beats for all of them."""

    def __init__(
        self,
        environment: Environment,
        huey: Huey,
        count: int,
        stop_flag: StopFlag,
        make_worker: WorkerFactory,
    ) -> None:
        self.flusher = AckFlusher(self._workers)
        super().__init__(environment, huey, count, stop_flag, make_worker)
        self.keeper = LeaseKeeper(huey, self._workers) if huey.at_least_once else None

    def _prepare(self, slot: Slot) -> None:
        slot.worker = self.make_worker(slot.name)
        slot.worker.flusher = self.flusher
        slot.handle = self.environment.create_process(slot.worker.run, slot.name)

    def _recycled(self, slot: Slot) -> bool:
        return slot.worker is not None and slot.worker.recycled

    def _workers(self) -> list[Worker]:
        return [slot.worker for slot in self.slots if slot.worker is not None]

    def _replace_stuck(self) -> int:
        deadlines = self.environment.deadlines
        now = time.monotonic()
        replaced = 0
        for slot in self.slots:
            if self.stop_flag.is_set() or not self._alive(slot):
                continue
            run = deadlines.overdue(self.environment.handle_key(slot.handle), now)
            if run is None or not deadlines.abandon(run):
                continue
            # the stuck thread (or greenlet) is left behind: if its task ever
            # returns, TaskAbandoned discards the outcome and ends it
            _give_up(self.huey, slot.worker, run)
            self._prepare(slot)
            self._start_slot(slot)
            replaced += 1
        return replaced

    def start(self, should_stop: Callable[[], bool] | None = None) -> int:
        if self.keeper is not None:
            self.environment.create_local(self.keeper.run, 'LeaseKeeper').start()
        self.environment.create_local(self.flusher.run, 'AckFlusher').start()
        return super().start(should_stop)

    def wait(self, timeout: float | None = None) -> bool:
        done = super().wait(timeout)
        if done:
            self.close()
        return done

    def interrupt(self) -> int:
        """Prompt stop: release every delivery still in flight; returns how
        many were released. Their tasks keep running in abandoned threads (or
        greenlets) until the process exits."""
        self.stop_flag.set()
        released = 0
        for slot in self.slots:
            if not self._alive(slot):
                continue
            delivery = slot.worker.take_over(TAKE_OVER_TIMEOUT)
            if delivery is not None:
                released += _release(self.huey, delivery, slot.name)
        self.close()
        # idle workers end on their own (running their shutdown hooks)
        deadline = time.monotonic() + TAKE_OVER_TIMEOUT
        for slot in self.slots:
            if self._alive(slot) and not slot.worker.abandoned:
                slot.handle.join(max(deadline - time.monotonic(), 0))
        return released

    def close(self) -> None:
        """Stop the lease keeper and the flusher (after the workers ended) and
        the environment."""
        if self.keeper is not None:
            self.keeper.stop()
        self.flusher.stop()
        self.environment.close()

    @property
    def abandoned(self) -> bool:
        """True when a prompt stop left tasks running in this process."""
        return any(slot.worker.abandoned and self._alive(slot) for slot in self.slots)


# -- processes -------------------------------------------------------------------


def _process_worker_main(
    huey: Huey, worker: Worker, environment: Environment, parent_pid: int, deadline: Any
) -> None:
    """Body of a forked worker process: its worker, its lease keeper, and a
    watcher acting on signals. The graceful signal (sent to the whole process
    group by Ctrl-C) finishes the task in flight; the interrupt signal
    releases it to the queue and exits."""
    received: list[int] = []
    graceful, interrupt = environment.graceful, environment.interrupt
    main_thread = threading.get_ident()  # where the worker runs its tasks
    environment.published_deadline = deadline

    def handler(signum: int, frame: Any) -> None:
        # Only plain assignments here: taking a lock could deadlock with the
        # code the signal interrupted. The watcher thread does the rest.
        received.append(signum)
        worker.stop_requested = True  # no new task after the one in flight

    signal.signal(graceful, handler)
    signal.signal(interrupt, handler)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    keeper = None
    if huey.at_least_once:
        keeper = LeaseKeeper(huey, lambda: [worker])
        threading.Thread(target=keeper.run, name='LeaseKeeper', daemon=True).start()
    worker.flusher = AckFlusher(lambda: [worker])
    threading.Thread(target=worker.flusher.run, name='AckFlusher', daemon=True).start()

    def watch() -> None:
        while not worker.finished:
            if interrupt in received:
                delivery = worker.take_over(TAKE_OVER_TIMEOUT)
                if delivery is not None:
                    _release(huey, delivery, worker.name)
                else:  # idle: let the loop end normally (shutdown hooks)
                    deadline = time.monotonic() + TAKE_OVER_TIMEOUT
                    while not worker.finished and time.monotonic() < deadline:
                        time.sleep(0.02)
                logger.info(
                    '%s: stopped promptly (%s)', worker.name, signal.Signals(interrupt).name
                )
                logging.shutdown()
                os._exit(0)
            run = environment.deadlines.overdue(main_thread)
            if run is not None and environment.deadlines.abandon(run):
                _give_up(huey, worker, run)
                logging.shutdown()
                os._exit(EXIT_ABANDONED)  # the consumer starts a replacement at once
            if os.getppid() != parent_pid and not worker.stop_requested:
                logger.warning('%s: the consumer process is gone; stopping', worker.name)
                worker.stop_requested = True
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, name='SignalWatcher', daemon=True)
    watcher.start()
    try:
        worker.run()
    finally:
        worker.flusher.stop()
        if keeper is not None:
            keeper.stop()
    if interrupt in received:
        # the watcher may be releasing the interrupted delivery: let it finish
        watcher.join(TAKE_OVER_TIMEOUT + 1)


class ProcessPool(_BasePool):
    """Workers are forked child processes, each with its own storage
    connections (storages reconnect after fork) and its own lease keeper.
    ``fork_lock`` is held while forking (the scheduler holds it during a
    tick), so a child never inherits a storage lock taken by another thread."""

    abandoned = False

    def __init__(
        self,
        environment: Environment,
        huey: Huey,
        count: int,
        stop_flag: StopFlag,
        make_worker: WorkerFactory,
        fork_lock: Any = None,
    ) -> None:
        self._fork_lock = fork_lock or threading.Lock()
        super().__init__(environment, huey, count, stop_flag, make_worker)

    def _prepare(self, slot: Slot) -> None:
        slot.worker = self.make_worker(slot.name)
        slot.deadline = self.environment.shared_deadline()
        slot.killed_stuck = False
        target = functools.partial(
            _process_worker_main,
            self.huey,
            slot.worker,
            self.environment,
            os.getpid(),
            slot.deadline,
        )
        slot.handle = self.environment.create_process(target, slot.name)

    def _replace_stuck(self) -> int:
        """Kill worker processes still in a task long after its deadline: one
        that did not give up by itself (``_give_up``) holds the GIL in C code.
        Its message comes back when its lease expires."""
        now = time.monotonic()
        for slot in self.slots:
            deadline = slot.deadline.value if slot.deadline is not None else 0.0
            if not deadline or now < deadline + 2 * STUCK_GRACE or not self._alive(slot):
                continue
            logger.error(
                'worker process %s (pid %s) still in a task %ss after its timeout and '
                'unresponsive (C code holding the GIL?): killing it; its message comes '
                'back when its lease expires',
                slot.name,
                slot.handle.pid,
                2 * STUCK_GRACE,
            )
            slot.killed_stuck = True
            slot.deadline.value = 0.0
            slot.handle.kill()
            slot.handle.join(5)
        return 0  # replaced by maintain(), as recycled

    def _start_slot(self, slot: Slot) -> None:
        with self._fork_lock:
            super()._start_slot(slot)
        logger.debug('started worker process %s (pid %s)', slot.name, slot.handle.pid)

    def _alive(self, slot: Slot) -> bool:
        return slot.handle is not None and slot.handle.pid is not None and slot.handle.is_alive()

    def _recycled(self, slot: Slot) -> bool:
        """Ended on purpose (``max_tasks``, or a stuck task given up on)."""
        return slot.killed_stuck or slot.handle.exitcode in (0, EXIT_ABANDONED)

    def _describe_death(self, slot: Slot) -> str:
        code = slot.handle.exitcode
        how = f'killed by signal {-code}' if code is not None and code < 0 else f'exit code {code}'
        return (
            f'worker process {slot.name} (pid {slot.handle.pid}) died ({how}); its task '
            'in flight comes back when its lease expires'
        )

    def close(self) -> None:
        """Nothing to do: each worker process ran its own lease keeper."""

    def interrupt(self) -> int:
        """Prompt stop: send the interrupt signal to every worker process (each
        releases its delivery in flight and exits); SIGKILL stragglers."""
        self.stop_flag.set()
        alive = [slot for slot in self.slots if self._alive(slot)]
        for slot in alive:
            try:
                os.kill(slot.handle.pid, self.environment.interrupt)
            except ProcessLookupError:
                pass
        if not self.wait(TERMINATE_TIMEOUT):
            for slot in self.slots:
                if self._alive(slot):
                    logger.error(
                        'worker process %s (pid %s) ignored %s for %ss; killing it (its '
                        'task comes back when its lease expires)',
                        slot.name,
                        slot.handle.pid,
                        signal.Signals(self.environment.interrupt).name,
                        TERMINATE_TIMEOUT,
                    )
                    slot.handle.kill()
            self.wait(5)
        return len(alive)


def make_pool(
    environment: Environment,
    huey: Huey,
    count: int,
    stop_flag: StopFlag,
    make_worker: WorkerFactory,
    fork_lock: Any = None,
) -> Pool:
    """The pool for ``environment``: forked processes, or workers in this process."""
    if environment.forks:
        return ProcessPool(environment, huey, count, stop_flag, make_worker, fork_lock)
    return InProcessPool(environment, huey, count, stop_flag, make_worker)
