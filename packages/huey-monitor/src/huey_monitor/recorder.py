"""Record task events and consumer heartbeats into the application's storage.

Signals only append to an in-memory buffer (a task never waits on the
monitor); a writer thread per process stores the buffer every
``flush_interval`` seconds with a handful of data-method calls, whatever the
number of tasks. Everything goes through the storage contract's data methods
(``put_data``, ``peek_data_many``, ``incr``, ``delete_data``), so it works on
every storage. Monitoring is best-effort: a failed write is logged and the
buffered events are dropped, tasks are never affected.
"""

from __future__ import annotations

import atexit
import collections
import logging
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
    Event,
    InFlight,
    Keys,
    encode_slot,
)
from .settings import MonitorSettings

__all__ = ['ATTEMPT_ENDING', 'Recorder']

logger = logging.getLogger(__name__)

#: Signals that end the attempt EXECUTING started: they carry its duration.
ATTEMPT_ENDING = frozenset(
    (
        S.SIGNAL_COMPLETE,
        S.SIGNAL_ERROR,
        S.SIGNAL_CANCELED,
        S.SIGNAL_INTERRUPTED,
        S.SIGNAL_LOCKED,
        S.SIGNAL_RATE_LIMITED,
    )
)
_MAX_ERROR_LENGTH = 500
_NAMES_CHECK_INTERVAL = 60.0


class Recorder:
    """Buffers one Huey's signals in this process and writes them out.

    A process whose workers ran the Huey's start-up hooks is a consumer: it
    also writes a heartbeat (host, pid, workers, start time, tasks in flight)
    until its last worker runs the shutdown hooks.
    """

    def __init__(self, huey: Any, settings: MonitorSettings) -> None:
        self.huey = huey
        self.settings = settings
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        """Forget everything owned by another process (after ``os.fork()``)."""
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._consumer_id = f'{self._host}:{self._pid}'
        self._pending: list[Event] = []
        self._in_flight: dict[str, InFlight] = {}
        self._thread: threading.Thread | None = None
        self._slot_seq: int | None = None
        self._slot_events: list[Event] = []
        self._known_names: set[str] = set()
        self._names_checked = 0.0
        self._settings_stored = False
        self._workers = 0
        self._consumer_number: int | None = None
        self._consumer_started = 0.0
        self._last_heartbeat = 0.0
        self._processed = 0

    # -- wiring -----------------------------------------------------------

    def connect(self) -> None:
        self.huey.signal()(self.on_signal)
        self.huey.on_startup(name='huey_monitor')(self.worker_started)
        self.huey.on_shutdown(name='huey_monitor')(self.worker_stopped)
        ref = weakref.ref(self)
        atexit.register(_flush_at_exit, ref)
        os.register_at_fork(after_in_child=lambda: _reset_in_child(ref))

    def disconnect(self) -> None:
        """Stop recording: unhook, write what is buffered, end the writer thread."""
        self.huey.disconnect_signal(self.on_signal)
        self.huey.unregister_on_startup('huey_monitor')
        self.huey.unregister_on_shutdown('huey_monitor')
        self._closed = True
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
        # the parent's lock may have been held by its writer thread at fork time
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._reset_process_state()

    def _ensure_writer(self) -> None:
        thread = self._thread
        if thread is not None or self._closed:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name='huey-monitor-writer', daemon=True
                )
                self._thread.start()

    # -- signal and hook receivers (worker threads: must stay cheap) --------

    def on_signal(self, signal: str, task: Any, *args: Any) -> None:
        self._check_process()
        now = time.time()
        duration = error = None
        consumer = self._consumer_id if self._workers else None
        with self._lock:
            if signal == S.SIGNAL_EXECUTING:
                self._in_flight[task.id] = InFlight(task.id, task.name, now)
            elif signal in ATTEMPT_ENDING:
                started = self._in_flight.pop(task.id, None)
                if started is not None:
                    duration = round(now - started.started, 6)
                    self._processed += 1
            if signal == S.SIGNAL_ERROR and args:
                error = repr(args[0])[:_MAX_ERROR_LENGTH]
            self._pending.append(Event(now, signal, task.id, task.name, duration, error, consumer))
            full = len(self._pending) >= self.settings.slot_size
        if full:
            self._wake.set()
        self._ensure_writer()

    def worker_started(self) -> None:
        self._check_process()
        with self._lock:
            self._workers += 1
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
            self.flush()
            self._unregister_consumer()

    # -- writing ----------------------------------------------------------

    def _run(self) -> None:
        while not self._closed and os.getpid() == self._pid:
            self._wake.wait(self.settings.flush_interval)
            self._wake.clear()
            try:
                self.flush()
                if self._workers and (
                    time.time() - self._last_heartbeat >= self.settings.heartbeat_interval
                    or self._consumer_number is None
                ):
                    self.heartbeat()
            except Exception:  # never let the writer die: try again next time
                logger.exception('huey monitor: writing events failed')

    def flush(self) -> int:
        """Write the buffered events now; returns how many were written."""
        self._check_process()
        with self._lock:
            events, self._pending = self._pending, []
        if not events:
            return 0
        try:
            self._store(events)
        except Exception:
            logger.exception('huey monitor: %d events could not be stored, dropped', len(events))
            return 0
        return len(events)

    def _store(self, events: list[Event]) -> None:
        storage = self.huey.storage
        settings = self.settings
        if not self._settings_stored:
            if storage.peek_data(Keys.settings) != settings.to_bytes():
                storage.put_data(Keys.settings, settings.to_bytes())
            self._settings_stored = True
        self._store_events(storage, events)
        self._store_counters(storage, events)
        self._store_names(storage, {event.name for event in events})

    def _store_events(self, storage: Any, events: list[Event]) -> None:
        settings = self.settings
        slots = settings.slots
        if self._slot_seq is not None:
            current = storage.incr(Keys.event_seq, 0)
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

    def _store_counters(self, storage: Any, events: list[Event]) -> None:
        counts: collections.Counter = collections.Counter()
        minute_ttl = max(2 * 3600.0, self.settings.max_age)
        for event in events:
            if event.signal == S.SIGNAL_EXECUTING:
                continue
            counts[Keys.total(event.name, event.signal), None] += 1
            if event.signal in CHART_OUTCOMES:
                counts[Keys.minute(int(event.ts // 60), event.signal), minute_ttl] += 1
            if event.duration is not None:
                counts[Keys.duration_sum(event.name), None] += round(event.duration * 1e6)
                counts[Keys.duration_bucket(event.name, _bucket(event.duration)), None] += 1
        for (key, ttl), amount in counts.items():
            storage.incr(key, amount, ttl=ttl)

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
                in_flight=tuple(self._in_flight.values()),
                processed=self._processed,
            )
        storage.put_data(
            Keys.consumer(self._consumer_number, self.settings.max_consumers), record.to_bytes()
        )
        self._last_heartbeat = now

    def _unregister_consumer(self) -> None:
        number, self._consumer_number = self._consumer_number, None
        if number is None:
            return
        try:
            self.huey.storage.delete_data(Keys.consumer(number, self.settings.max_consumers))
        except Exception:
            logger.exception('huey monitor: could not remove the consumer heartbeat')
        self._consumer_started = 0.0


def _bucket(duration: float) -> float | str:
    for bound in DURATION_BUCKETS:
        if duration <= bound:
            return bound
    return 'inf'


def _reset_in_child(ref: weakref.ref) -> None:
    recorder = ref()
    if recorder is not None and not recorder._closed:
        recorder._after_fork()


def _flush_at_exit(ref: weakref.ref) -> None:
    recorder = ref()
    if recorder is not None and recorder._pid == os.getpid():
        recorder.flush()
