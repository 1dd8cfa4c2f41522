"""huey's task statistics API (``huey.contrib.stats``), recorded by the monitor.

``HueyStats`` is the monitor's ``Recorder`` (signals buffered in memory, one
writer thread per process, fork-safe, written by the shutdown hook) with
huey's peewee tables as its store: each event becomes a ``HueyEvent`` row and
``HueyInflight`` holds the tasks running now, in the peewee database the
application passes to ``enable_stats(huey, db)``, where huey users and their
dashboards read them. The questions (``overview``, ``task_breakdown``,
``search_events``...) are SQL over those tables. The application's own
storage is not written: ``huey_monitor.enable(huey)`` adds the storage-backed
monitor (CLI, dashboard, Prometheus) when wanted, beside or instead of this.

Several processes (consumer workers, the producer, a web dashboard) may
share one database: every row carries its queue name (the Huey's name) and
every query is scoped to it. Rows that cannot be written are logged on the
``huey.stats`` logger and dropped: statistics are best-effort, tasks are not.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

try:
    import peewee
except ImportError:  # pragma: no cover - exercised in a process without peewee
    raise ImportError(
        "huey.contrib.stats needs peewee: pip install peewee (or pip install 'huey-monitor[stats]')"
    ) from None

from huey_api import signals as S
from huey_api.exceptions import ConfigurationError

from . import admin
from .recorder import ATTEMPT_ENDING, Recorder, _take
from .settings import MonitorSettings

__all__ = [
    'ACTIONS',
    'ATTEMPT_ENDING_SIGNALS',
    'MODELS',
    'TERMINAL',
    'HueyEvent',
    'HueyInflight',
    'HueyStats',
    'dashboard_context',
    'database',
    'enable_stats',
    'known_tasks',
    'live_counts',
    'pending_tasks',
    'run_action',
    'scheduled_tasks',
]

# huey's logger name for these messages.
logger = logging.getLogger('huey.stats')

#: Signals after which the attempt that EXECUTING started is over (huey's name;
#: the monitor's ``recorder.ATTEMPT_ENDING``).
TERMINAL = ATTEMPT_ENDING_SIGNALS = ATTEMPT_ENDING

#: Where the stats tables live; bound by the first ``HueyStats`` (or by you).
database = peewee.DatabaseProxy()

_PRUNE_EVERY = 60.0  # seconds between two prunes
_INSERT_CHUNK = 100  # rows per INSERT (SQLite caps the number of parameters)


class _StatsModel(peewee.Model):
    class Meta:
        database = database


class HueyEvent(_StatsModel):
    """One signal sent for one task: ``duration`` is set on the signal ending an attempt."""

    ts = peewee.DoubleField(index=True)
    queue = peewee.CharField(index=True)
    task_id = peewee.CharField()
    task = peewee.CharField(index=True)
    signal = peewee.CharField()
    duration = peewee.DoubleField(null=True)
    error = peewee.TextField(null=True)
    args = peewee.TextField(null=True)

    class Meta:
        table_name = 'huey_event'


class HueyInflight(_StatsModel):
    """A task that sent EXECUTING and nothing ending that attempt yet."""

    task_id = peewee.CharField(primary_key=True)
    queue = peewee.CharField(index=True)
    task = peewee.CharField()
    started = peewee.DoubleField()

    class Meta:
        table_name = 'huey_inflight'


MODELS = (HueyEvent, HueyInflight)


def _resolve_db(db: Any) -> peewee.Database:
    """The peewee Database behind ``db``: itself, a proxy's, or a wrapper's ``.database``.

    Wrappers are what flask-peewee and similar integrations hand out.
    """
    candidate = _unproxy(db)
    if not isinstance(candidate, peewee.Database):
        candidate = _unproxy(getattr(candidate, 'database', None))
    if isinstance(candidate, peewee.Database):
        return candidate
    raise TypeError(
        f'HueyStats needs a peewee Database (or a proxy or wrapper holding one), got {db!r}: '
        "pass e.g. peewee.SqliteDatabase('huey-stats.db')"
    )


def _unproxy(obj: Any) -> Any:
    return obj.obj if isinstance(obj, peewee.Proxy) else obj


class HueyStats(Recorder):
    """Records ``huey``'s signals in ``db`` and answers questions about them.

    ``retention_hours`` and ``max_events`` bound the events kept per queue;
    ``inflight_hours`` forgets running tasks whose end was never recorded
    (a killed worker). ``capture_args`` also stores a short repr of each
    task's arguments (off by default: they may hold personal data). The
    writer stores the buffer every ``flush_interval`` seconds, sooner once
    ``flush_max`` events wait. Build it, then ``connect()`` to start
    recording; ``enable_stats`` does both.
    """

    hook_name = 'huey_stats_flush'

    def __init__(
        self,
        huey: Any,
        db: Any,
        retention_hours: float = 48,
        max_events: int = 2000,
        inflight_hours: float = 6,
        capture_args: bool = False,
        create_tables: bool = True,
        flush_interval: float = 0.5,
        flush_max: int = 200,
    ) -> None:
        if flush_max < 1 or max_events < 0:
            raise ValueError(
                f'HueyStats(flush_max={flush_max!r}, max_events={max_events!r}): '
                'need flush_max >= 1 and max_events >= 0'
            )
        super().__init__(huey, MonitorSettings(flush_interval=flush_interval), capture_args)
        # huey's stats note each start from SIGNAL_EXECUTING (huey's own tests
        # send signals by hand, with no task running)
        self._running = {}
        self.name: str = huey.name
        self.db = _resolve_db(db)
        self.retention = retention_hours * 3600
        self.inflight_retention = inflight_hours * 3600
        self.max_events = max_events
        self._flush_max = flush_max
        self._prune_at = 0.0
        self._connected = False
        _bind_database(self.db)
        if create_tables:
            # Leave the connection as found: a socket opened here would be
            # inherited by forked consumer workers.
            was_closed = self.db.is_closed()
            self.db.create_tables(MODELS, safe=True)
            if was_closed:
                self.db.close()

    # -- recording: the monitor's Recorder, writing to the tables -----------

    def connect(self) -> None:
        """Start recording: receive every signal, run the writer, flush on shutdown."""
        if self._connected:
            return
        self._connected = True
        super().connect()
        self._ensure_writer()

    log = logger  # the recorder's errors go to huey's logger
    signals = S.SIGNALS  # SIGNAL_EXECUTING too: see __init__

    def on_signal(self, signal: str, task: Any, *args: Any) -> None:
        if signal == S.SIGNAL_EXECUTING:
            try:
                task.id  # noqa: B018 - what is no task is refused (logged), as huey does
                self._running[id(task)] = (time.time(), 0, task)
            except Exception:
                logger.exception('stats: %s event of %s dropped', signal, task)
            return
        super().on_signal(signal, task, *args)  # catches its own errors
        if signal in TERMINAL:
            self._running.pop(id(task), None)
        if len(self._pending) + len(self._events_to_write) >= self._flush_max:
            self._wake.set()

    on_signal.reads_results = False  # type: ignore[attr-defined]
    on_signal.never_raises = True  # type: ignore[attr-defined]

    def heartbeat(self) -> None:
        """Nothing: consumer heartbeats belong to the storage-backed monitor."""

    def _after_fork(self) -> None:
        # The parent keeps its writer and buffered rows; the child starts empty
        # with a writer of its own. Inherited connections share the parent's
        # socket: forget them without closing.
        super()._after_fork()
        self._running = {}
        if hasattr(self.db, 'dispose'):
            self.db.dispose()
        else:  # peewee before 4.5
            self.db._state.reset()
        self._ensure_writer()

    def _fold(self) -> None:
        """Keep every buffered event to write: the tables store each one."""
        events = _take(self._pending)
        self._events_to_write += events
        self._folded += len(events)

    def _run(self) -> None:
        super()._run()
        if not self.db.is_closed():
            self.db.close()

    def _store(self, events: list[tuple], running: list[tuple], completed: list[tuple]) -> None:
        """Insert the events and update the running set in one transaction,
        then maybe prune (``completed`` is empty: SIGNAL_COMPLETE is received)."""
        events = self._with_starts(events, running)
        rows = [
            {
                'ts': ts,
                'queue': self.name,
                'task_id': str(task_id),
                'task': name,
                'signal': signal,
                'duration': duration,
                'error': error,
                'args': args_text,
            }
            for ts, signal, task_id, name, duration, error, _consumer, args_text in events
        ]
        # The last signal of each task in the batch decides if it is running.
        running: dict[str, dict[str, Any] | None] = {}
        for row in rows:
            if row['signal'] == S.SIGNAL_EXECUTING:
                running[row['task_id']] = row
            elif row['signal'] in TERMINAL:
                running[row['task_id']] = None
        try:
            with self.db.atomic():
                for chunk in peewee.chunked(rows, _INSERT_CHUNK):
                    HueyEvent.insert_many(chunk).execute()
                # Sorted, so two processes writing at once lock rows in one order.
                for task_id in sorted(running):
                    row = running[task_id]
                    HueyInflight.delete().where(HueyInflight.task_id == task_id).execute()
                    if row is not None:
                        HueyInflight.insert(
                            task_id=task_id, queue=row['queue'], task=row['task'], started=row['ts']
                        ).execute()
        except Exception:
            logger.exception('stats: could not write %d events, dropped', len(rows))
            return
        self._maybe_prune()

    def _maybe_prune(self) -> None:
        now = time.time()
        if now < self._prune_at:
            return
        self._prune_at = now + _PRUNE_EVERY
        mine = HueyEvent.queue == self.name
        try:
            with self.db.atomic():
                HueyEvent.delete().where(mine, HueyEvent.ts < now - self.retention).execute()
                # Ids count across queues: find this queue's oldest kept row.
                newest_dropped = (
                    HueyEvent.select(HueyEvent.id)
                    .where(mine)
                    .order_by(HueyEvent.id.desc())
                    .limit(1)
                    .offset(self.max_events)
                    .scalar()
                )
                if newest_dropped is not None:
                    HueyEvent.delete().where(mine, HueyEvent.id <= newest_dropped).execute()
                HueyInflight.delete().where(
                    HueyInflight.queue == self.name,
                    HueyInflight.started < now - self.inflight_retention,
                ).execute()
        except Exception:
            logger.exception('stats: pruning old events failed')

    def close(self) -> None:
        """Stop recording and write what is buffered. Safe to call twice."""
        if self._stop.is_set():
            return
        if self._connected:
            self.disconnect()  # stops the writer, then writes what is left
        else:
            self._stop.set()

    # huey's names for the recorder's parts (huey's own tests use them)
    _on_signal = on_signal

    def _flush(self) -> int:
        return self.flush()

    @property
    def _buf(self) -> list[tuple]:
        """The events waiting for the writer."""
        return self._events_to_write + list(self._pending)

    @property
    def _writer(self) -> Any:
        return self._thread

    @property
    def _flush_lock(self) -> Any:
        return self._write_lock

    # -- questions --------------------------------------------------------

    def _events(self) -> peewee.ModelSelect:
        return HueyEvent.select().where(HueyEvent.queue == self.name)

    def window_counts(self, seconds: float = 86400) -> dict[str, int]:
        """How many events of each signal in the last ``seconds``."""
        rows = (
            self._events()
            .select(HueyEvent.signal, peewee.fn.COUNT(HueyEvent.id))
            .where(HueyEvent.ts > time.time() - seconds)
            .group_by(HueyEvent.signal)
            .tuples()
        )
        return dict(rows)

    def recent_events(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` events, newest first."""
        return [_event_dict(row) for row in _newest_first(self._events()).limit(limit).dicts()]

    def search_events(
        self,
        signal: str | None = None,
        task: str | None = None,
        q: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[dict[str, Any]]]:
        """``(total, page)``: events of ``signal`` and ``task`` (full name) whose
        id, task or error contains ``q`` (literally, any case), newest first."""
        query = self._events()
        if signal:
            query = query.where(HueyEvent.signal == signal)
        if task:
            query = query.where(HueyEvent.task == task)
        if q:
            # contains() escapes % and _: the user's text is matched as typed.
            query = query.where(
                HueyEvent.task_id.contains(q)
                | HueyEvent.task.contains(q)
                | HueyEvent.error.contains(q)
            )
        total = query.count()
        page = _newest_first(query).limit(limit).offset(offset).dicts()
        return total, [_event_dict(row, '%Y-%m-%d %H:%M:%S') for row in page]

    def event_signals(self) -> list[str]:
        """Every signal recorded for this queue, sorted (for a filter menu)."""
        return self._distinct(HueyEvent.signal)

    def event_tasks(self) -> list[str]:
        """Every task (full name) recorded for this queue, sorted."""
        return self._distinct(HueyEvent.task)

    def _distinct(self, column: peewee.Field) -> list[str]:
        query = self._events().select(column).distinct().order_by(column).tuples()
        return [value for (value,) in query]

    def inflight(self) -> list[dict[str, Any]]:
        """Tasks running now, longest running first, with seconds elapsed."""
        now = time.time()
        rows = (
            HueyInflight.select()
            .where(HueyInflight.queue == self.name)
            .order_by(HueyInflight.started)
            .dicts()
        )
        return [
            {
                'task': _short(row['task']),
                'id': row['task_id'],
                'started': row['started'],
                'elapsed': now - row['started'],
            }
            for row in rows
        ]

    def task_breakdown(self) -> list[dict[str, Any]]:
        """Per task: runs, completions, errors, retries and mean completed duration.

        Busiest tasks first.
        """
        counts: dict[str, dict[str, tuple[int, float]]] = {}
        rows = (
            self._events()
            .select(
                HueyEvent.task,
                HueyEvent.signal,
                peewee.fn.COUNT(HueyEvent.id),
                peewee.fn.SUM(HueyEvent.duration),
            )
            .group_by(HueyEvent.task, HueyEvent.signal)
            .tuples()
        )
        for task, signal, count, total_duration in rows:
            counts.setdefault(task, {})[signal] = (count, total_duration or 0.0)
        breakdown = []
        for task, by_signal in counts.items():
            completed, completed_duration = by_signal.get(S.SIGNAL_COMPLETE, (0, 0.0))
            breakdown.append(
                {
                    'task': _short(task),
                    'full': task,
                    'executed': by_signal.get(S.SIGNAL_EXECUTING, (0, 0.0))[0],
                    'completed': completed,
                    'errors': by_signal.get(S.SIGNAL_ERROR, (0, 0.0))[0],
                    'retries': by_signal.get(S.SIGNAL_RETRYING, (0, 0.0))[0],
                    'avg': completed_duration / completed if completed else None,
                }
            )
        breakdown.sort(key=lambda row: (row['executed'], row['completed']), reverse=True)
        return breakdown

    def throughput(self, minutes: int = 60) -> dict[str, list[int]]:
        """Completions and errors per minute over the last ``minutes``, oldest first."""
        now = time.time()
        complete, error = [0] * minutes, [0] * minutes
        rows = (
            self._events()
            .select(HueyEvent.ts, HueyEvent.signal)
            .where(
                HueyEvent.ts > now - minutes * 60,
                HueyEvent.signal.in_([S.SIGNAL_COMPLETE, S.SIGNAL_ERROR]),
            )
            .tuples()
        )
        for ts, signal in rows:
            minutes_ago = int((now - ts) // 60)
            if 0 <= minutes_ago < minutes:
                counts = error if signal == S.SIGNAL_ERROR else complete
                counts[minutes - 1 - minutes_ago] += 1
        return {'complete': complete, 'error': error}

    def overview(self, seconds: float = 86400) -> dict[str, Any]:
        """Completed, errors, retries and error rate over ``seconds``; tasks running now."""
        window = self.window_counts(seconds)
        completed = window.get(S.SIGNAL_COMPLETE, 0)
        errors = window.get(S.SIGNAL_ERROR, 0)
        finished = completed + errors
        return {
            'completed': completed,
            'errors': errors,
            'retries': window.get(S.SIGNAL_RETRYING, 0),
            'error_rate': errors / finished if finished else 0,
            'inflight': HueyInflight.select().where(HueyInflight.queue == self.name).count(),
        }

    def __repr__(self) -> str:
        state = 'closed' if self._stop.is_set() else 'recording' if self._connected else 'idle'
        return f'<HueyStats {self.name!r} {state} in {self.db!r}>'


def _bind_database(db: peewee.Database) -> None:
    """Point the stats models at ``db``; one stats database per process."""
    if database.obj is None:
        database.initialize(db)
    elif database.obj is not db:
        raise ConfigurationError(
            f'the huey stats tables are already bound to {database.obj!r}, not {db!r}: '
            'use one stats database per process (every Huey can share it)'
        )


def _newest_first(query: peewee.ModelSelect) -> peewee.ModelSelect:
    # By event time, then id: producer and consumer flush separately, so
    # insertion order says nothing about which event happened first.
    return query.order_by(HueyEvent.ts.desc(), HueyEvent.id.desc())


def _short(task_name: str) -> str:
    return task_name.rsplit('.', 1)[-1]


def _event_dict(row: dict[str, Any], time_format: str = '%H:%M:%S') -> dict[str, Any]:
    return {
        'ts': row['ts'],
        'time': time.strftime(time_format, time.localtime(row['ts'])),
        'task': _short(row['task']),
        'task_full': row['task'],
        'task_id': row['task_id'],
        'signal': row['signal'],
        'duration': row['duration'],
        'error': row['error'],
        'args': row.get('args'),
    }


# -- huey's dashboard helpers -------------------------------------------------


def enable_stats(huey: Any, db: Any, **options: Any) -> HueyStats:
    """Start recording ``huey``'s statistics in ``db``; the same recorder on every call.

    ``options`` are ``HueyStats``'s (``retention_hours``, ``capture_args``...).
    The recorder is also ``huey._stats``, where huey's admin panels find it.
    """
    stats = getattr(huey, '_stats', None)
    if stats is None:
        stats = HueyStats(huey, db, **options)
        huey._stats = stats
        stats.connect()
    return stats


def live_counts(huey: Any) -> dict[str, int | None]:
    """Tasks waiting, scheduled, and stored results right now (None when unreadable)."""
    counts: dict[str, int | None] = {}
    for key, count in (
        ('pending', huey.pending_count),
        ('scheduled', huey.scheduled_count),
        ('results', huey.result_count),
    ):
        try:
            counts[key] = count()
        except Exception:
            logger.warning('stats dashboard: cannot count %s tasks', key, exc_info=True)
            counts[key] = None
    return counts


def pending_tasks(huey: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The first ``limit`` tasks waiting in the queue (empty when unreadable)."""
    try:
        return [
            {'task': _short(task.name), 'id': task.id, 'priority': task.priority, 'eta': task.eta}
            for task in huey.pending(limit)
        ]
    except Exception:
        logger.warning('stats dashboard: cannot read the queue', exc_info=True)
        return []


def scheduled_tasks(huey: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The first ``limit`` tasks in the schedule (empty when unreadable)."""
    try:
        return [
            {'task': _short(task.name), 'id': task.id, 'eta': task.eta}
            for task in huey.scheduled(limit)
        ]
    except Exception:
        logger.warning('stats dashboard: cannot read the schedule', exc_info=True)
        return []


def known_tasks(huey: Any) -> list[dict[str, Any]]:
    """Every task registered in this process, by full name, and whether it is revoked."""
    tasks = []
    for name in huey.registry.names():
        task_class = huey.registry.get(name)
        try:
            revoked = huey.is_revoked(task_class)
        except Exception:
            revoked = False
        tasks.append({'full': name, 'task': _short(name), 'revoked': revoked})
    return tasks


def dashboard_context(
    huey: Any,
    stats: HueyStats,
    list_limit: int = 50,
    event_limit: int = 50,
    throughput_minutes: int = 60,
) -> dict[str, Any]:
    """Everything huey's dashboard page renders, in one dict.

    ``known`` lists the registered tasks with their statistics, then the tasks
    the recorder has seen that this process does not import (a web process
    usually does not import the consumer's task modules), marked
    ``registered: False``.
    """
    by_task = {row['full']: row for row in stats.task_breakdown()}
    known = known_tasks(huey)
    for row in known:
        row['stats'] = by_task.get(row['full'])
        row['registered'] = True
    registered = {row['full'] for row in known}
    for full in sorted(set(by_task) - registered):
        known.append(
            {
                'full': full,
                'task': _short(full),
                'revoked': False,
                'registered': False,
                'stats': by_task[full],
            }
        )
    return {
        'live': live_counts(huey),
        'overview': stats.overview(),
        'known': known,
        'inflight': stats.inflight(),
        'events': stats.recent_events(event_limit),
        'pending': pending_tasks(huey, list_limit),
        'scheduled': scheduled_tasks(huey, list_limit),
        'throughput': stats.throughput(throughput_minutes),
    }


def _revoke_task(huey: Any, form: dict) -> None:
    huey.revoke_all(huey.registry.get(form['task']))


def _restore_task(huey: Any, form: dict) -> None:
    huey.restore_all(huey.registry.get(form['task']))


#: huey's dashboard buttons: operation name -> what it does, given the form fields.
ACTIONS: dict[str, Callable[[Any, dict], Any]] = {
    'revoke_task': _revoke_task,
    'restore_task': _restore_task,
    'revoke_id': lambda huey, form: admin.revoke(huey, form['id']),
    'restore_id': lambda huey, form: admin.restore(huey, form['id']),
    'flush_queue': lambda huey, form: huey.storage.flush_queue(),
    'flush_results': lambda huey, form: huey.storage.flush_results(),
    'flush_schedule': lambda huey, form: huey.storage.flush_schedule(),
    'flush_locks': lambda huey, form: huey.flush_locks(),
}


def run_action(huey: Any, op: str, form: dict) -> None:
    """Run huey's dashboard operation ``op`` (a key of ``ACTIONS``) with ``form``'s fields.

    ``revoke_task``/``restore_task`` read ``form['task']`` (a full task name),
    ``revoke_id``/``restore_id`` read ``form['id']``.
    """
    action = ACTIONS.get(op)
    if action is None:
        raise ValueError(
            f'run_action(op={op!r}): unknown operation; use one of {", ".join(ACTIONS)}'
        )
    action(huey, form)
