"""Task statistics kept in a peewee database, recorded from a Huey's signals.

``HueyStats`` turns every signal into one row of ``HueyEvent`` (when, which
task, which signal, how long the attempt took, the error) and keeps
``HueyInflight`` as the set of tasks running right now. Recording must never
slow a worker down or break a task, so a signal only appends a row to an
in-memory buffer; a writer thread stores the buffer in one transaction every
``flush_interval`` seconds (sooner once ``flush_max`` rows wait) and prunes
old rows at most once a minute. Rows that cannot be written are logged and
dropped: statistics are best-effort, tasks are not.

Several processes (consumer workers, the producer, a web dashboard) may share
one database: every row carries its queue name (the Huey's name) and every
query is scoped to it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from typing import Any

try:
    import peewee
except ImportError:  # pragma: no cover - exercised in a process without peewee
    raise ImportError(
        "huey.contrib.stats needs peewee: pip install peewee (or pip install 'huey-api[stats]')"
    ) from None

from huey_api import signals as S
from huey_api.exceptions import ConfigurationError

__all__ = [
    'ATTEMPT_ENDING_SIGNALS',
    'HueyEvent',
    'HueyInflight',
    'HueyStats',
    'MODELS',
    'database',
]

# The name huey users configure for these messages (huey's own logger name).
logger = logging.getLogger('huey.stats')

# Signals after which the attempt that EXECUTING started is over (the task
# may still run again later, as a new attempt: retries, rate limits, locks).
ATTEMPT_ENDING_SIGNALS = frozenset(
    (
        S.SIGNAL_COMPLETE,
        S.SIGNAL_ERROR,
        S.SIGNAL_CANCELED,
        S.SIGNAL_INTERRUPTED,
        S.SIGNAL_EXPIRED,
        S.SIGNAL_REVOKED,
        getattr(S, 'SIGNAL_TIMEOUT', 'timeout'),
        S.SIGNAL_LOCKED,
        S.SIGNAL_RATE_LIMITED,
        S.SIGNAL_RETRYING,
    )
)

#: Where the stats tables live; bound by the first ``HueyStats`` (or by you).
database = peewee.DatabaseProxy()

_PRUNE_EVERY = 60.0  # seconds between two prunes
_INSERT_CHUNK = 100  # rows per INSERT (SQLite caps the number of parameters)
_ERROR_CHARS = 1000
_ARGS_CHARS = 400


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


class HueyStats:
    """Records ``huey``'s signals in ``db`` and answers questions about them.

    ``retention_hours`` and ``max_events`` bound the events kept per queue;
    ``inflight_hours`` forgets running tasks whose end was never recorded
    (a killed worker). ``capture_args`` also stores a short repr of each
    task's arguments (they may hold personal data: off by default). Build
    it, then ``connect()`` to start recording; ``enable_stats`` does both.
    """

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
        if flush_interval <= 0 or flush_max < 1 or max_events < 0:
            raise ValueError(
                f'HueyStats(flush_interval={flush_interval!r}, flush_max={flush_max!r}, '
                f'max_events={max_events!r}): need flush_interval > 0, flush_max >= 1 '
                'and max_events >= 0'
            )
        self.huey = huey
        self.name: str = huey.name
        self.db = _resolve_db(db)
        self.retention = retention_hours * 3600
        self.inflight_retention = inflight_hours * 3600
        self.max_events = max_events
        self.capture_args = capture_args
        self._flush_interval = flush_interval
        self._flush_max = flush_max
        self._connected = False
        self._writer: threading.Thread | None = None
        self._prune_at = 0.0
        self._fresh_state()
        _bind_database(self.db)
        if create_tables:
            # Leave the connection as found: a socket opened here would be
            # inherited by forked consumer workers.
            was_closed = self.db.is_closed()
            self.db.create_tables(MODELS, safe=True)
            if was_closed:
                self.db.close()

    def _fresh_state(self) -> None:
        self._buf: list[dict[str, Any]] = []  # rows waiting for the writer
        self._started: dict[Any, float] = {}  # task id -> when its attempt began
        self._lock = threading.Lock()  # guards _buf and _started
        self._flush_lock = threading.Lock()  # held for a whole write
        self._stop = threading.Event()
        self._wake = threading.Event()

    # -- recording --------------------------------------------------------

    def connect(self) -> None:
        """Start recording: receive every signal, run the writer, flush on shutdown."""
        if self._connected:
            return
        self._connected = True
        self.huey.signal()(self._on_signal)
        # Consumer worker processes leave through os._exit, skipping atexit.
        self.huey.on_shutdown('huey_stats_flush')(self._flush)
        if hasattr(os, 'register_at_fork'):
            this = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _after_fork(this))
        self._start_writer()
        atexit.register(self.close)

    def _start_writer(self) -> None:
        self._writer = threading.Thread(target=self._write_loop, name='huey-stats', daemon=True)
        self._writer.start()

    def _after_fork_in_child(self) -> None:
        # The parent keeps its writer and its buffered rows; the child starts
        # empty with its own writer. Inherited connections share the parent's
        # socket: forget them without closing.
        if self._stop.is_set():
            return
        self._fresh_state()
        if hasattr(self.db, 'dispose'):
            self.db.dispose()
        else:  # peewee before 4.5
            self.db._state.reset()
        self._start_writer()

    def _on_signal(self, signal: str, task: Any, exc: BaseException | None = None) -> None:
        try:
            now = time.time()
            duration = None
            if signal == S.SIGNAL_EXECUTING:
                with self._lock:
                    self._started[task.id] = now
            elif signal in ATTEMPT_ENDING_SIGNALS:
                with self._lock:
                    started = self._started.pop(task.id, None)
                if started is not None:
                    duration = now - started
            row = {
                'ts': now,
                'queue': self.name,
                'task_id': str(task.id),
                'task': task.name,
                'signal': signal,
                'duration': duration,
                'error': repr(exc)[:_ERROR_CHARS] if signal == S.SIGNAL_ERROR and exc else None,
                'args': _describe_args(task) if self.capture_args else None,
            }
            with self._lock:
                self._buf.append(row)
                waiting = len(self._buf)
            if waiting >= self._flush_max:
                self._wake.set()
        except Exception:
            logger.exception('stats: %s event dropped', signal)

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            self._flush()
        if not self.db.is_closed():
            self.db.close()

    def _flush(self) -> None:
        """Write the buffered rows in one transaction, then maybe prune."""
        # Held for the whole write: a shutdown flush waits for the writer's
        # write in progress instead of returning before it is stored.
        with self._flush_lock:
            with self._lock:
                batch, self._buf = self._buf, []
            if not batch:
                return
            # The last signal of each task in the batch decides if it is running.
            running: dict[str, dict[str, Any] | None] = {}
            for row in batch:
                if row['signal'] == S.SIGNAL_EXECUTING:
                    running[row['task_id']] = row
                elif row['signal'] in ATTEMPT_ENDING_SIGNALS:
                    running[row['task_id']] = None
            try:
                with self.db.atomic():
                    for chunk in peewee.chunked(batch, _INSERT_CHUNK):
                        HueyEvent.insert_many(chunk).execute()
                    # Sorted, so two processes writing at once lock rows in one order.
                    for task_id in sorted(running):
                        row = running[task_id]
                        HueyInflight.delete().where(HueyInflight.task_id == task_id).execute()
                        if row is not None:
                            HueyInflight.insert(
                                task_id=task_id,
                                queue=row['queue'],
                                task=row['task'],
                                started=row['ts'],
                            ).execute()
            except Exception:
                logger.exception('stats: could not write %d events, dropped', len(batch))
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
        self._stop.set()
        self._wake.set()
        if self._connected:
            self.huey.disconnect_signal(self._on_signal)
            atexit.unregister(self.close)
        if self._writer is not None:
            self._writer.join(timeout=2)
        self._flush()  # rows added while the writer made its last write

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


def _after_fork(ref: weakref.ref) -> None:
    stats = ref()
    if stats is not None:
        stats._after_fork_in_child()


def _describe_args(task: Any) -> str:
    try:
        return f'{task.args!r} {task.kwargs!r}'[:_ARGS_CHARS]
    except Exception:
        return '<unrepresentable>'


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
