"""Record task events and consumer heartbeats into the application's storage.

Signals only append to an in-memory buffer (a task never waits on the
monitor), and a completion comes through ``Huey.add_completion_feed`` as the
Huey's own tuple, appended with no Python call. A writer thread per process
folds the buffers every tenth of a second: it counts every event and keeps
only the newest ``events_per_flush`` (the log keeps no more). Why so often:
a second's completions held until the write (a busy queue's tens of
thousands of tuples) cost the workers more than counting them, their
allocations landing on cold memory. Every ``flush_interval`` seconds it
stores the counts and the newest events with a handful of data-method
calls, whatever the number of tasks. An attempt is
buffered once, when it ends, with its start read from ``Huey.running_tasks``
(the recorder receives no SIGNAL_EXECUTING): its EXECUTING event is written
from there, or from the attempts running at a flush if it still runs then.
Everything goes through the storage contract's data and counter methods
(``put_data``, ``peek_data``, ``incr``, ``incr_many``, ``peek_counters``,
``delete_data``),
so it works on every storage. Monitoring is best-effort:
a failed write is logged and the buffered events are dropped, tasks are
never affected.
"""

from __future__ import annotations

import atexit
import bisect
import collections
import itertools
import logging
import operator
import os
import socket
import threading
import time
import weakref
from typing import Any

from huey_api import signals as S

from .records import (
    CHART_OUTCOMES,
    DURATION_BUCKETS,
    ConsumerRecord,
    InFlight,
    Keys,
    encode_slot,
)
from .settings import MonitorSettings

__all__ = ['ATTEMPT_ENDING', 'FED_SIGNALS', 'SIGNALS', 'Recorder']

logger = logging.getLogger(__name__)

#: Signals that end the attempt EXECUTING started (huey's set): the first one
#: after EXECUTING carries the attempt's duration. A timeout or a RetryTask
#: sends no ERROR, so TIMEOUT and RETRYING end an attempt too; EXPIRED and
#: REVOKED come before EXECUTING and carry no duration.
ATTEMPT_ENDING = frozenset(
    (
        S.SIGNAL_COMPLETE,
        S.SIGNAL_ERROR,
        S.SIGNAL_CANCELED,
        S.SIGNAL_INTERRUPTED,
        S.SIGNAL_EXPIRED,
        S.SIGNAL_REVOKED,
        S.SIGNAL_TIMEOUT,
        S.SIGNAL_LOCKED,
        S.SIGNAL_RATE_LIMITED,
        S.SIGNAL_RETRYING,
    )
)
#: The signals the recorder receives: every one but EXECUTING.
SIGNALS = tuple(signal for signal in S.SIGNALS if signal != S.SIGNAL_EXECUTING)
#: ... and when completions come from the Huey's completion feed: nor COMPLETE.
FED_SIGNALS = tuple(signal for signal in SIGNALS if signal != S.SIGNAL_COMPLETE)
#: Ends of an attempt that a RETRYING may follow in the same attempt: the
#: attempt's duration is the first one's.
_FAILING = frozenset(
    (S.SIGNAL_ERROR, S.SIGNAL_TIMEOUT, S.SIGNAL_LOCKED, S.SIGNAL_RATE_LIMITED, S.SIGNAL_CANCELED)
)
_MAX_ERROR_LENGTH = 500
_MAX_ARGS_LENGTH = 400
#: Events kept in memory at most while the storage cannot be written (the
#: oldest are dropped first).
_MAX_BUFFERED = 200_000
_EXECUTING = S.SIGNAL_EXECUTING
_ERROR = S.SIGNAL_ERROR
_RETRYING = S.SIGNAL_RETRYING
_COMPLETE = S.SIGNAL_COMPLETE
_now = time.time
_TS = operator.itemgetter(0)
_NAME = operator.itemgetter(3)
_SIGNAL = operator.itemgetter(1)
_START = operator.itemgetter(4)
# fields of a completion: (ended, started, thread ident, task name, task id)
_STARTED = operator.itemgetter(1)
_TASK_NAME = operator.itemgetter(3)
_NAMES_CHECK_INTERVAL = 60.0
#: Seconds between the writer's folds of the buffers (see the module docstring).
_FOLD_INTERVAL = 0.1


class Recorder:
    """Buffers one Huey's signals in this process and writes them out.

    A process whose workers ran the Huey's start-up hooks is a consumer: it
    also writes a heartbeat (host, pid, workers, start time, tasks in flight)
    until its last worker runs the shutdown hooks.

    ``capture_args`` also records a short repr of each task's arguments (they
    may hold personal data: off by default); completions then come from
    SIGNAL_COMPLETE, which has the task. Subclasses store the events
    elsewhere by overriding ``_store`` (``huey_monitor.stats``).
    """

    #: name of the start-up and shutdown hooks it adds to the Huey
    hook_name = 'huey_monitor'
    #: the signals ``connect`` receives (completions: see ``listen``)
    signals = FED_SIGNALS
    #: where a signal the recorder could not buffer is logged
    log = logger

    def __init__(self, huey: Any, settings: MonitorSettings, capture_args: bool = False) -> None:
        self.huey = huey
        self.settings = settings
        self.capture_args = capture_args
        #: the attempts running in this process: ``id(task) -> (start,
        #: thread ident, task)``, kept by the Huey (``Huey.running_tasks``)
        self._running: dict[int, tuple[float, int, Any]] = huey.running_tasks
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer at a time (thread, hooks, atexit)
        self._wake = threading.Event()
        self._stop = threading.Event()  # set for good by disconnect()
        if capture_args and S.SIGNAL_COMPLETE not in self.signals:
            self.signals = (*self.signals, S.SIGNAL_COMPLETE)  # the task's arguments
        #: Completions from the Huey's completion feed (``listen``), unless
        #: SIGNAL_COMPLETE is received. One deque for good: the Huey holds
        #: its ``append``.
        self._fed = S.SIGNAL_COMPLETE not in self.signals
        self._completed: collections.deque[tuple] = collections.deque(maxlen=_MAX_BUFFERED)
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        """Forget everything owned by another process (after ``os.fork()``)."""
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._consumer_id = f'{self._host}:{self._pid}'
        #: the id written into events: set while this process runs workers
        self._consumer: str | None = None
        # Buffered events: stored events (Event field order) with an
        # attempt's start where the duration goes (None elsewhere).
        # deque.append/popleft are atomic, so signal receivers in many
        # threads never take a lock.
        self._pending: collections.deque[tuple] = collections.deque(maxlen=_MAX_BUFFERED)
        self._completed.clear()
        # id(task) -> start of the attempts that failed (see _FAILING)
        self._failed: dict[int, float] = {}
        # (task id, start) of the running attempts whose EXECUTING is written
        self._announced: set[tuple[str, float]] = set()
        # ... and of those written before this flush or by it (see _running)
        self._starts_written: set[tuple[str, float]] = set()
        self._thread: threading.Thread | None = None
        # Folded since the last flush (``_fold``): the events to write, the
        # completions to write, the counter increments by (key, ttl), the
        # task names seen, and how many events were counted.
        self._events_to_write: list[tuple] = []
        self._completions_to_write: list[tuple] = []
        self._tally: collections.Counter = collections.Counter()
        self._names_seen: set[str] = set()
        self._folded = 0
        self._slot_seq: int | None = None
        self._slot_events: list[tuple] = []
        self._known_names: set[str] = set()
        self._names_checked = 0.0
        self._settings_stored = False
        self._workers = 0
        self._consumer_number: int | None = None
        self._consumer_started = 0.0
        self._last_heartbeat = 0.0
        self._beaten_workers = 0  # the worker count the last heartbeat wrote
        self._processed = 0

    # -- wiring -----------------------------------------------------------

    def connect(self) -> None:
        self.listen()
        self.huey.on_startup(name=self.hook_name)(self.worker_started)
        self.huey.on_shutdown(name=self.hook_name)(self.worker_stopped)
        ref = weakref.ref(self)
        atexit.register(_flush_at_exit, ref)
        os.register_at_fork(after_in_child=lambda: _reset_in_child(ref))

    def listen(self, on: bool = True) -> None:
        """Receive events from now on (``on=False``: no more), leaving the
        hooks and the writer as they are: the signals, and completions from
        ``Huey.add_completion_feed`` unless SIGNAL_COMPLETE is received."""
        if not on:
            self.huey.disconnect_signal(self.on_signal, *self.signals)
            self.huey.remove_completion_feed(self._completed.append)
            return
        self.huey.signal(*self.signals)(self.on_signal)
        if self._fed:
            self.huey.add_completion_feed(self._completed.append)
            self._ensure_writer()  # no signal may come to start it

    def disconnect(self) -> None:
        """Stop recording: unhook, write what is buffered, end the writer thread."""
        self.listen(False)
        self.huey.unregister_on_startup(self.hook_name)
        self.huey.unregister_on_shutdown(self.hook_name)
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(5)
        self.flush()

    def _check_process(self) -> None:
        """Start afresh in a forked child (normally done by the at-fork hook)."""
        if os.getpid() != self._pid:
            self._after_fork()

    def _after_fork(self) -> None:
        # the parent's locks may have been held by its writer thread at fork time
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        if not self._stop.is_set():
            self._stop = threading.Event()
        self._reset_process_state()

    def _ensure_writer(self) -> None:
        thread = self._thread
        if thread is not None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name='huey-monitor-writer', daemon=True
                )
                self._thread.start()

    # -- signal and hook receivers (worker threads: must stay cheap) --------

    def on_signal(self, signal: str, task: Any, *args: Any) -> None:
        # The hot path: runs in the worker for every signal; one tuple
        # appended, an attempt's end with its start (the writer works out the
        # rest); forks are handled by the at-fork hook. It catches its own
        # errors, so huey-api calls it directly (Signals.send).
        try:
            start = None
            if signal in ATTEMPT_ENDING:
                attempt = self._running.get(id(task))
                if attempt is not None:
                    start = attempt[0]
                    if signal != _COMPLETE:
                        start = self._timed(signal, task, start)
            self._pending.append(
                (
                    _now(),
                    signal,
                    task.id,
                    task.name,
                    start,
                    repr(args[0])[:_MAX_ERROR_LENGTH] if args and signal == _ERROR else None,
                    self._consumer,
                    _describe_args(task) if self.capture_args else None,
                )
            )
            if self._thread is None:
                self._ensure_writer()
        except Exception:  # a task never fails because of the monitor
            self.log.exception('huey monitor: %s event of %s dropped', signal, task)

    def _timed(self, signal: str, task: Any, start: float) -> float | None:
        """``start`` (of ``task``'s attempt) if this end, not a completion,
        carries the attempt's duration: a RETRYING after a failure of the
        same attempt does not."""
        if signal in _FAILING:
            self._failed[id(task)] = start
        elif signal == _RETRYING and self._failed.pop(id(task), None) == start:
            return None
        return start

    # never reads a task's result, so huey-api may store it with the acknowledgement
    on_signal.reads_results = False  # type: ignore[attr-defined]
    on_signal.never_raises = True  # type: ignore[attr-defined]

    def worker_started(self) -> None:
        self._check_process()
        with self._lock:
            self._workers += 1
            self._consumer = self._consumer_id
            if self._consumer_started == 0.0:
                self._consumer_started = time.time()
        self._ensure_writer()
        self._wake.set()  # register the heartbeat now, not in a second

    def worker_stopped(self) -> None:
        self._check_process()
        with self._lock:
            self._workers = max(0, self._workers - 1)
            last = self._workers == 0
            if last:
                self._consumer = None
        if last:
            self.flush()
            self._unregister_consumer()

    # -- writing ----------------------------------------------------------

    def _run(self) -> None:
        interval = self.settings.flush_interval
        next_flush = time.monotonic() + interval
        while not self._stop.is_set() and os.getpid() == self._pid:
            woken = self._wake.wait(min(_FOLD_INTERVAL, interval))
            self._wake.clear()
            try:
                if not woken and time.monotonic() < next_flush:
                    with self._write_lock:
                        self._fold()
                    continue
                next_flush = time.monotonic() + interval
                self.flush()
                if self._workers and (
                    time.time() - self._last_heartbeat >= self.settings.heartbeat_interval
                    or self._consumer_number is None
                    or self._workers != self._beaten_workers  # workers still starting
                ):
                    self.heartbeat()
            except Exception:  # never let the writer die: try again next time
                logger.exception('huey monitor: writing events failed')

    def flush(self) -> int:
        """Write the buffered events now; returns how many were buffered
        since the last flush (EXECUTING events are written but not
        buffered: not counted)."""
        self._check_process()
        with self._write_lock:
            # The running attempts first, then exactly the events present now
            # (others may be appended meanwhile): an attempt that ends in
            # between is in both, and its start is written once.
            running = self._running_events(list(self._running.values()))
            self._forget_failures()
            self._fold()
            events, completed, count = (
                self._events_to_write,
                self._completions_to_write,
                self._folded,
            )
            self._events_to_write, self._completions_to_write, self._folded = [], [], 0
            if not count and not running:  # nothing folded: the tally is empty too
                return 0
            try:
                self._store(events, running, completed)
            except Exception:
                logger.exception('huey monitor: %d events could not be stored, dropped', count)
                return 0
            finally:
                self._tally.clear()
                self._names_seen.clear()
        return count

    def _fold(self) -> None:
        """Take the buffered events out: count them into ``_tally`` and keep
        the newest ``events_per_flush`` to write (caller holds ``_write_lock``).
        Subclasses that store every event keep them all instead."""
        events, completed = _take(self._pending), _take(self._completed)
        if not events and not completed:
            return
        self._count(events, completed)
        newest = self.settings.events_per_flush
        self._events_to_write = _newest(self._events_to_write, events, newest)
        self._completions_to_write = _newest(self._completions_to_write, completed, newest)
        self._folded += len(events) + len(completed)

    def _running_events(self, attempts: list[tuple[float, int, Any]]) -> list[tuple]:
        """EXECUTING events of the running ``attempts`` not written yet;
        remembers whose start is written, for ``_with_starts``."""
        keys = {(task.id, start) for start, _, task in attempts}
        consumer = self._consumer
        capture = self.capture_args
        running = [
            (
                start,
                _EXECUTING,
                task.id,
                task.name,
                None,
                None,
                consumer,
                _describe_args(task) if capture else None,
            )
            for start, _, task in attempts
            if (task.id, start) not in self._announced
        ]
        self._starts_written = self._announced | keys
        self._announced = keys
        return running

    def _forget_failures(self) -> None:
        """Drop the failures whose attempt ended without a retry (``_timed``)."""
        for key, start in list(self._failed.items()):
            attempt = self._running.get(key)
            if attempt is None or attempt[0] != start:
                self._failed.pop(key, None)

    def _with_starts(self, events: list[tuple], running: list[tuple]) -> list[tuple]:
        """Buffered ``events`` and ``running`` as stored events, in time
        order: each attempt's end with its duration, preceded by its
        EXECUTING event unless that was written while it ran."""
        written = self._starts_written
        stored = list(running)
        append = stored.append
        for ts, signal, task_id, name, start, error, consumer, args_text in events:
            if start is None:
                append((ts, signal, task_id, name, None, error, consumer, args_text))
                continue
            if (task_id, start) not in written:
                append((start, _EXECUTING, task_id, name, None, None, consumer, args_text))
            append((ts, signal, task_id, name, ts - start, error, consumer, args_text))
        stored.sort(key=_TS)
        return stored

    def _store(self, events: list[tuple], running: list[tuple], completed: list[tuple]) -> None:
        """Write one flush: ``events`` the newest buffered, ``running`` the
        EXECUTING events of attempts still running (``_with_starts`` makes
        the events of both), ``completed`` the newest completions fed
        (``listen``), and the counts of all (``_tally``)."""
        storage = self.huey.storage
        settings = self.settings
        if not self._settings_stored:
            if storage.peek_data(Keys.settings) != settings.to_bytes():
                storage.put_data(Keys.settings, settings.to_bytes())
            self._settings_stored = True
        # Older events of a busy flush are counted (by _fold), not written.
        newest = settings.events_per_flush
        recent = events
        if completed:
            consumer = self._consumer
            recent = sorted(
                recent
                + [
                    (ended, _COMPLETE, task_id, name, started, None, consumer, None)
                    for ended, started, _, name, task_id in completed
                ],
                key=_TS,
            )[-newest:]
        self._store_events(storage, self._with_starts(recent, running)[-newest:])
        if self._tally:
            # one write for all (a transaction on SQLite, not one per counter)
            storage.incr_many((key, amount, ttl) for (key, ttl), amount in self._tally.items())
        self._store_names(storage, self._names_seen | set(map(_NAME, running)))

    def _store_events(self, storage: Any, events: list[tuple]) -> None:
        settings = self.settings
        slots = settings.slots
        if self._slot_seq is not None:
            (current,) = storage.peek_counters([Keys.event_seq])
            if current - self._slot_seq >= slots - 1:  # about to be overwritten: move on
                self._slot_seq = None
        while events:
            if self._slot_seq is None or len(self._slot_events) >= settings.slot_size:
                self._slot_seq = storage.incr(Keys.event_seq)
                self._slot_events = []
            room = settings.slot_size - len(self._slot_events)
            self._slot_events.extend(events[:room])
            events = events[room:]
            storage.put_data(
                Keys.event_slot(self._slot_seq, slots),
                encode_slot(self._slot_seq, self._slot_events),
            )

    def _count(self, events: list[tuple], completed: list[tuple]) -> None:
        """Add the counts of ``events`` and ``completed`` (fed completions)
        to ``_tally``, the increments of the stored counters (totals, the
        chart's minutes, durations), and their task names to ``_names_seen``.

        With C-level helpers (Counter over map, ``_count_durations``): this
        runs on every event of a busy queue, in a thread sharing the GIL
        with the workers, so one name (the usual case) skips the grouping.
        """
        increments = self._tally
        names = set(map(_NAME, events))
        completed_names = set(map(_TASK_NAME, completed))
        self._names_seen |= names | completed_names
        minute_ttl = max(2 * 3600.0, self.settings.max_age)
        times = [events[0][0], events[-1][0]] if events else []
        if completed:
            times += [completed[0][0], completed[-1][0]]
        first, last = int(min(times) // 60), int(max(times) // 60)
        if first != last:  # rare: the flush spans a minute's end
            for key in ((int(e[0] // 60), e[1]) for e in events if e[1] in CHART_OUTCOMES):
                increments[Keys.minute(*key), minute_ttl] += 1
            for minute in (int(c[0] // 60) for c in completed):
                increments[Keys.minute(minute, _COMPLETE), minute_ttl] += 1
        for name, group in _by_name(events, names, _NAME):
            for signal, count in collections.Counter(map(_SIGNAL, group)).items():
                increments[Keys.total(name, signal), None] += count
                if first == last and signal in CHART_OUTCOMES:
                    increments[Keys.minute(first, signal), minute_ttl] += count
            self._count_durations(increments, name, group, _TS, _START)
        for name, group in _by_name(completed, completed_names, _TASK_NAME):
            increments[Keys.total(name, _COMPLETE), None] += len(group)
            if first == last:
                increments[Keys.minute(first, _COMPLETE), minute_ttl] += len(group)
            self._count_durations(increments, name, group, _TS, _STARTED)

    def _count_durations(
        self,
        increments: collections.Counter,
        name: str,
        group: list[tuple],
        end_of: Any,
        start_of: Any,
    ) -> None:
        """Add the durations (end less start, ``end_of`` and ``start_of``
        of each item of ``group``, where a start is not None) of task
        ``name`` to its sum and histogram ``increments``.

        C-level passes, no sort: a busy flush has tens of thousands of
        durations, most often all in one bucket (checked with their least
        and greatest); else each is placed by bisection.
        """
        try:
            durations = list(map(operator.sub, map(end_of, group), map(start_of, group)))
        except TypeError:  # some starts are None (enqueued and other events without one)
            durations = [
                end - start
                for end, start in zip(map(end_of, group), map(start_of, group))
                if start is not None
            ]
        if not durations:
            return
        self._processed += len(durations)
        increments[Keys.duration_sum(name), None] += round(sum(durations) * 1e6)
        lowest = bisect.bisect_left(DURATION_BUCKETS, min(durations))
        if lowest == bisect.bisect_left(DURATION_BUCKETS, max(durations)):
            buckets: Any = ((lowest, len(durations)),)
        else:
            buckets = collections.Counter(
                map(bisect.bisect_left, itertools.repeat(DURATION_BUCKETS), durations)
            ).items()
        for index, count in buckets:
            label = DURATION_BUCKETS[index] if index < len(DURATION_BUCKETS) else 'inf'
            increments[Keys.duration_bucket(name, label), None] += count

    def _store_names(self, storage: Any, names: set[str]) -> None:
        """Keep the stored set of task names a superset of the names seen here.

        Two processes adding names at once may overwrite each other; each
        re-checks now and then, so a lost name comes back.
        """
        now = time.monotonic()
        if names <= self._known_names and now - self._names_checked < _NAMES_CHECK_INTERVAL:
            return
        self._known_names |= names
        self._names_checked = now
        stored = storage.peek_data(Keys.names)
        current = set(stored.decode().split('\n')) - {''} if stored else set()
        if not self._known_names <= current:
            merged = '\n'.join(sorted(current | self._known_names))
            storage.put_data(Keys.names, merged.encode())

    # -- heartbeats -------------------------------------------------------

    def heartbeat(self) -> None:
        """Write this consumer's record (registering it on the first call)."""
        if not self._workers:
            return
        storage = self.huey.storage
        if self._consumer_number is None:
            self._consumer_number = storage.incr(Keys.consumer_seq)
        now = time.time()
        with self._lock:
            record = ConsumerRecord(
                id=self._consumer_id,
                host=self._host,
                pid=self._pid,
                workers=self._workers,
                started=self._consumer_started,
                last_seen=now,
                in_flight=tuple(
                    InFlight(task.id, task.name, started)
                    for started, _, task in list(self._running.values())
                ),
                processed=self._processed,
            )
        storage.put_data(
            Keys.consumer(self._consumer_number, self.settings.max_consumers), record.to_bytes()
        )
        self._last_heartbeat, self._beaten_workers = now, record.workers

    def _unregister_consumer(self) -> None:
        number, self._consumer_number = self._consumer_number, None
        if number is None:
            return
        try:
            self.huey.storage.delete_data(Keys.consumer(number, self.settings.max_consumers))
        except Exception:
            logger.exception('huey monitor: could not remove the consumer heartbeat')
        self._consumer_started = 0.0


def _take(buffer: collections.deque) -> list:
    """The items in ``buffer`` now, taken out (popleft in C, once per item:
    others may be appended meanwhile)."""
    return list(map(collections.deque.popleft, itertools.repeat(buffer, len(buffer))))


def _newest(kept: list, more: list, limit: int) -> list:
    """The last ``limit`` of ``kept`` followed by ``more`` (only the tail of
    ``more`` is copied: a fold may take thousands)."""
    return (kept + more[-limit:])[-limit:] if more else kept


def _by_name(items: list[tuple], names: set[str], name_of: Any) -> Any:
    """``(name, its items)`` for each of the task ``names`` in ``items``."""
    if len(names) == 1:
        return ((next(iter(names)), items),)
    return (
        (name, list(group))
        for name, group in itertools.groupby(sorted(items, key=name_of), name_of)
    )


def _reset_in_child(ref: weakref.ref) -> None:
    recorder = ref()
    if recorder is not None and not recorder._stop.is_set():
        recorder._after_fork()


def _describe_args(task: Any) -> str:
    try:
        return f'{task.args!r} {task.kwargs!r}'[:_MAX_ARGS_LENGTH]
    except Exception:  # a repr that raises must not lose the event
        return '<unrepresentable>'


def _flush_at_exit(ref: weakref.ref) -> None:
    recorder = ref()
    if recorder is not None and recorder._pid == os.getpid():
        recorder.flush()
