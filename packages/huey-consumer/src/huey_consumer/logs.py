"""Consumer logging: the format of the ``huey_consumer`` script, and one log
line per task event (start, finish with duration, error, retry, revoke...),
driven by huey signals."""

from __future__ import annotations

import collections
import itertools
import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from huey_api import signals as S
from huey_api.utils import describe_exception

if TYPE_CHECKING:
    from huey_api import Huey, Task

__all__ = [
    'BatchedFileHandler',
    'BatchedStreamHandler',
    'DEFAULT_FORMAT',
    'Formatter',
    'SIMPLE_FORMAT',
    'TaskEventLogger',
    'configure_logging',
]

_TASKS = 'huey.consumer.tasks'
logger = logging.getLogger(_TASKS)
#: seconds a TaskEventLogger keeps its view of the logging set-up
RECHECK = 0.1
_FINISHED = '%s: %s finished'
_FINISHED_IN = '%s: %s finished in %.3fs'
_get_ident = threading.get_ident
_time = time.time

DEFAULT_FORMAT = '[%(asctime)s] %(levelname)s %(processName)s:%(threadName)s %(name)s: %(message)s'
SIMPLE_FORMAT = '%(asctime)s %(message)s'


def configure_logging(
    verbose: bool = False,
    quiet: bool = False,
    logfile: str | None = None,
    simple: bool = False,
    logger: logging.Logger | None = None,
) -> logging.Handler:
    """Configure ``logger`` (default: the root logger) for a consumer process
    (the script does this; applications embedding ``Consumer`` keep their own
    configuration).

    ``verbose``: DEBUG, ``quiet``: WARNING, otherwise INFO. Logs go to
    ``logfile`` (reopened when rotated away) or to stderr, in batches (see
    ``BatchedStreamHandler``).
    """
    if logfile:
        handler: logging.Handler = BatchedFileHandler(logfile)
    else:
        handler = BatchedStreamHandler(sys.stderr)
    if simple:
        handler.setFormatter(Formatter(SIMPLE_FORMAT, '%H:%M:%S'))
    else:
        handler.setFormatter(Formatter(DEFAULT_FORMAT))
    root = logging.getLogger() if logger is None else logger
    for old in [h for h in root.handlers if getattr(h, '_huey_consumer', False)]:
        root.removeHandler(old)
        old.close()
    handler._huey_consumer = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    return handler


#: the record fields ``Formatter.fill`` fills without a LogRecord
_LINE_FIELDS = frozenset(('asctime', 'levelname', 'name', 'message', 'processName', 'threadName'))
_FIELD = re.compile(r'%\((\w+)\)s')
#: the ``default_msec_format`` shapes ``Formatter.fill`` knows: the time, then its milliseconds
_MSEC_FORMAT = re.compile(r'%s(?:[^%]*%03d[^%]*)?')


class Formatter(logging.Formatter):
    """``logging.Formatter`` that formats the time once a second, not once a
    line, and makes the lines of queued events without LogRecords (``fill``)."""

    _cached: tuple[float, str] = (-1, '')  # (second, its formatted time): one atomic read

    def __init__(
        self, fmt: str | None = None, datefmt: str | None = None, style: str = '%', validate=True
    ) -> None:
        super().__init__(fmt, datefmt, style, validate)  # type: ignore[arg-type]
        text = self._fmt or ''
        fields = _FIELD.findall(text)
        self._makes_lines = (
            type(self._style) is logging.PercentStyle
            and len(fields) == text.count('%(')
            and set(fields) <= _LINE_FIELDS
            and fields.count('message') == 1
            and fields.count('asctime') <= 1
            and fields.index('asctime' if 'asctime' in fields else 'message')
            <= fields.index('message')
            and _MSEC_FORMAT.fullmatch(self.default_msec_format or '%s') is not None
        )

    @property
    def makes_lines(self) -> bool:
        """Whether ``fill`` makes this format's lines itself (else it makes
        LogRecords): the format uses only plain ``%(field)s`` of the time,
        level, logger, process and thread names and the message, the time
        (if any) before the message."""
        return self._makes_lines and logging.logThreads and logging.logMultiprocessing

    def fill(self, entries: list, end: str = '\n') -> str:
        """The text of ``entries``: lines already made (strings) and queued
        events, each made the line ``format()`` makes of its record, ending
        with ``end``.

        An event is ``(created, ident, levelname, name, msg, args)``: logged
        at ``created`` (``time.time()``) from the thread ``ident``
        (``threading.get_ident()``); a completion (``Huey.add_completion_feed``)
        is its task's finished line. Why: a record costs about five times
        more. Each (thread, message, level, logger) of the batch gets a
        %-template with every field filled in but the time and the message's
        arguments, and the whole batch is one ``%``: a line costs its
        template's lookup and its values.
        """
        process = _process_name()
        names = None
        templates: dict[tuple, str] = {}
        second, stamp = self._cached
        parts: list[str] = []
        values: list = []
        add_part, add_value, add_values = parts.append, values.append, values.extend
        finished: dict[int, str] = {}  # thread ident -> its finished line's template
        for entry in entries:
            if entry.__class__ is not tuple:  # a line already made
                add_part('%s')
                add_value(entry)
                continue
            created = entry[0]  # an event's time, or a completion's end
            msecs = (created - second) * 1000
            if not 0 <= msecs < 1000:  # another second: its text, once
                second = created // 1.0
                stamp = self._stamp(int(second), self.datefmt)
                self._cached = (second, stamp)
                msecs = (created - second) * 1000
            # '%03d' truncates the float milliseconds as logging's record.msecs does
            if len(entry) == 5 and entry[1] is not None:  # a completion: the usual entry
                _, started, ident, task_name, task_id = entry
                template = finished.get(ident)
                if template is None:
                    names = names or _thread_names()
                    template = finished[ident] = self._template(
                        _FINISHED_IN, True, 'INFO', _TASKS, process, _thread_name(ident, names), end
                    )
                if template:
                    elapsed = created - started
                    add_part(template)
                    add_values((stamp, msecs, task_name, task_id, elapsed if elapsed > 0 else 0.0))
                    continue
            else:
                if len(entry) == 5:  # a completion without its start
                    entry = _completion_event(entry)
                _, ident, levelname, name, msg, args = entry
                key = (ident, msg, levelname, name)
                template = templates.get(key)
                if template is None:
                    names = names or _thread_names()
                    template = templates[key] = self._template(
                        msg, bool(args), levelname, name, process, _thread_name(ident, names), end
                    )
                if template:
                    add_part(template)
                    add_values((stamp, msecs, *args))
                    continue
            add_part('%s')  # the format needs a LogRecord
            add_value(self.format(_event_record(entry)) + end)
        return ''.join(parts) % tuple(values)

    def _template(
        self,
        msg: str,
        has_args: bool,
        levelname: str,
        name: str,
        process: str,
        thread: str,
        end: str,
    ) -> str:
        """The line as a %-template with every field filled in but the time
        (its text, then its milliseconds) and ``msg``'s arguments; '' when
        the format needs a LogRecord."""
        if not self.makes_lines:
            return ''
        text = self._fmt or ''
        msec_format = self.default_msec_format
        if self.datefmt or not msec_format or '%03d' not in msec_format:
            asctime = '%s%.0s'  # the milliseconds are taken and not shown
        else:
            asctime = msec_format
        filled = {
            'asctime': asctime,
            # logging leaves a message without arguments as it is
            'message': msg if has_args else msg.replace('%', '%%'),
            'levelname': levelname.replace('%', '%%'),
            'name': name.replace('%', '%%'),
            'processName': process.replace('%', '%%'),
            'threadName': thread.replace('%', '%%'),
        }
        parts = _FIELD.split(text)  # literal, field, literal, field, ... literal
        parts[1::2] = [filled[field] for field in parts[1::2]]
        untimed = '' if '%(asctime)s' in text else '%.0s%.0s'
        return untimed + ''.join(parts) + end.replace('%', '%%')

    def _stamp(self, second: int, datefmt: str | None) -> str:
        return time.strftime(datefmt or self.default_time_format, self.converter(second))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        second = int(record.created)
        cached = self._cached
        if cached[0] != second:
            cached = self._cached = (second, self._stamp(second, datefmt))
        if datefmt or not self.default_msec_format:
            return cached[1]
        return self.default_msec_format % (cached[1], record.msecs)


class BatchedStreamHandler(logging.StreamHandler):
    """A StreamHandler that formats each record at once but writes lines in
    batches, from one writer thread every ``interval`` seconds.

    Why: a write per line is a system call that gives up the GIL; with
    threads working, each task's two lines cost two waits to get it back,
    which halved the consumer's throughput. Lines at ``flush_level`` and above
    (warnings, errors) are written at once, with what came before them;
    ``flush()``/``close()`` (and ``logging.shutdown()`` at exit) write the
    rest. A process killed outright loses at most ``interval`` seconds of
    lines below that level. Records are queued without the handler's lock
    (a deque append is atomic), so worker threads never wait for each other
    or for the writer. Events (``queue_event``) are queued as they are and
    formatted by the writer; ``sources`` add events at each batch.
    """

    def __init__(
        self, stream=None, interval: float = 0.1, flush_level: int = logging.WARNING
    ) -> None:
        super().__init__(stream)
        self.interval = interval
        self.flush_level = flush_level
        #: formatted lines, and events (tuples) that ``flush`` formats
        self._lines: collections.deque[str | tuple] = collections.deque()
        #: ``queue_event``: the deque's own append, for the cost of one call
        self.queue_event: Callable[[tuple], None] = self._lines.append
        #: callables asked at each batch for events to write before it (the
        #: list is replaced, never changed in place: a batch may be reading it)
        self.sources: list[Callable[[], list[tuple]]] = []
        self._stop = threading.Event()
        self._start_writer()
        os.register_at_fork(after_in_child=self._after_fork)

    def _start_writer(self) -> None:
        writer = threading.Thread(target=self._write_batches, name='huey-log-writer', daemon=True)
        writer.start()

    def _after_fork(self) -> None:
        # The child has no writer thread, and the parent writes what it had
        # buffered. The same deque is kept: ``queue_event`` holders stay valid.
        self._lines.clear()
        if not self._stop.is_set():
            self._stop = threading.Event()  # its lock may have been held at the fork
            self._start_writer()

    def _write_batches(self) -> None:
        while not self._stop.wait(self.interval):
            if self._lines or self.sources:
                self.flush()

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        # Handler.handle without the lock around emit (see the class docstring).
        accepted = self.filter(record)
        if accepted:
            self.emit(record)
        return bool(accepted)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + self.terminator)
        except Exception:  # noqa: BLE001 - logging never raises into the task
            self.handleError(record)
            return
        if record.levelno >= self.flush_level:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            # The sources first: what they report happened before the lines
            # queued after their call. Then exactly the lines queued now
            # (others may be appended meanwhile).
            lines: list = []
            for source in self.sources:
                try:
                    lines.extend(source())
                except Exception:  # noqa: BLE001
                    self.handleError(
                        logging.makeLogRecord({'msg': f'log source {source!r} failed'})
                    )
            queued = self._lines
            lines.extend(map(collections.deque.popleft, itertools.repeat(queued, len(queued))))
            if lines and self.stream is not None:
                try:
                    self._write(self._text(lines))
                except Exception:  # noqa: BLE001
                    self.handleError(logging.makeLogRecord({'msg': 'huey log write failed'}))

    def _text(self, lines: list) -> str:
        """The text of ``lines``: made lines and queued events."""
        if isinstance(self.formatter, Formatter):
            return self.formatter.fill(lines, self.terminator)
        # the formatter was replaced: records
        return ''.join(
            self.format(_event_record(entry)) + self.terminator
            if entry.__class__ is tuple
            else entry
            for entry in lines
        )

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
        super().close()


class BatchedFileHandler(BatchedStreamHandler):
    """``BatchedStreamHandler`` for a log file, reopened when rotated away
    (checked once a batch instead of once a line)."""

    def __init__(self, filename: str, interval: float = 0.1) -> None:
        self._file = logging.handlers.WatchedFileHandler(filename)
        super().__init__(self._file.stream, interval)

    def _write(self, text: str) -> None:
        self._file.reopenIfNeeded()
        self._file.stream.write(text)
        self._file.stream.flush()

    def close(self) -> None:
        super().close()
        self._file.close()


def _process_name() -> str:
    """``LogRecord.processName``: multiprocessing's name for this process."""
    mp = sys.modules.get('multiprocessing')
    if mp is not None:
        try:
            return mp.current_process().name
        except Exception:  # noqa: BLE001 - as logging does
            pass
    return 'MainProcess'


def _event_record(entry: tuple) -> logging.LogRecord:
    """The LogRecord of a queued event or completion (see ``Formatter.fill``)."""
    if len(entry) == 5:
        entry = _completion_event(entry)
    created, ident, levelname, name, msg, args = entry
    return logging.makeLogRecord(
        {
            'name': name,
            'levelname': levelname,
            'levelno': logging.getLevelName(levelname),
            'msg': msg,
            'args': args,
            'created': created,
            'msecs': int((created - int(created)) * 1000),
            'thread': ident,
            'threadName': (
                threading.current_thread().name
                if ident == threading.get_ident()
                else _thread_name(ident, _thread_names())
            ),
            'processName': _process_name(),
        }
    )


def _completion_event(completion: tuple) -> tuple:
    """The finished line of a completion (``Huey.add_completion_feed``), as an event."""
    ended, started, ident, task_name, task_id = completion
    if started is None:
        return (ended, ident, 'INFO', _TASKS, _FINISHED, (task_name, task_id))
    return (
        ended,
        ident,
        'INFO',
        _TASKS,
        _FINISHED_IN,
        (task_name, task_id, max(0.0, ended - started)),
    )


#: thread ident -> name: of the threads alive at the last look, and of those
#: that ended since (until their ident is reused)
_THREAD_NAMES: dict[int, str] = {}


def _thread_names() -> dict[int, str]:
    """Thread names by ident (``threading.get_ident()``), looked up now.

    Why events carry idents: ``get_ident()`` is a C call where
    ``current_thread()`` is a Python one, and names are looked up once a
    batch."""
    _THREAD_NAMES.update((thread.ident, thread.name) for thread in threading.enumerate())
    return _THREAD_NAMES


def _thread_name(ident: int, names: dict[int, str]) -> str:
    return names.get(ident) or f'Thread-{ident}'  # ended before any look


def _lone_handler() -> BatchedStreamHandler | None:
    """The consumer's batched handler when it is the one handler an INFO
    record of ``logger`` reaches, with no filter on the way and a formatter
    that makes lines; else None."""
    if logger.filters or logger.disabled:
        return None
    found = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if (
                found is not None
                or not isinstance(handler, BatchedStreamHandler)
                or handler.filters
                or handler.level > logging.INFO
            ):
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if (
        found is None
        or not isinstance(found.formatter, Formatter)
        or not found.formatter.makes_lines
    ):
        return None
    return found


class TaskEventLogger:
    """Signal receiver logging each task event; ``install``/``uninstall`` on a Huey.

    A task logs ``executing <task>`` when it starts and ``<name>: <id>
    finished in 0.012s`` when it ends. With the script's handler alone on the
    way (its set-up), a completion goes to that handler's queue as it is,
    through ``Huey.add_completion_feed`` (no signal), and the writer thread
    makes its line; the start line is written only for a task still running
    when the handler writes its next batch (every 0.1 s), from
    ``Huey.running_tasks``: a task that starts and ends between two batches
    is seen only in the same write as its end, so its one line says both
    (the start is its time less its duration). Why: the two lines, made in
    the worker, cost about a fifth of a no-op task's consumer time; this
    way a fast task costs the worker one tuple. Other set-ups get records,
    from SIGNAL_EXECUTING and SIGNAL_COMPLETE.

    Errors are logged on one line here: huey-api already logs the traceback
    (and timeouts and interruptions).
    """

    #: never reads a task's result: huey-api may store it with the acknowledgement
    reads_results = False

    #: the signals ``__call__`` always receives; SIGNAL_EXECUTING (to
    #: ``_executing``) and SIGNAL_COMPLETE only while task lines are records
    SIGNALS = (
        S.SIGNAL_ERROR,
        S.SIGNAL_RETRYING,
        S.SIGNAL_REVOKED,
        S.SIGNAL_EXPIRED,
        S.SIGNAL_LOCKED,
        S.SIGNAL_RATE_LIMITED,
        S.SIGNAL_CANCELED,
        S.SIGNAL_DEAD_LETTERED,
    )

    def __init__(self) -> None:
        self._huey: Huey | None = None
        #: the Huey's attempts running now (``Huey.running_tasks``)
        self._running: dict[int, tuple[float, int, Task]] = {}
        #: (attempt, start) of the running attempts whose start line is written
        self._announced: set[tuple[int, float]] = set()
        self._switching = threading.Lock()
        # How task lines are logged, looked up again every ``RECHECK`` seconds
        # (``_reroute``): until when this holds, the consumer handler when it
        # alone takes them (else records), whether INFO is enabled, and
        # ``_log(entry)``, which queues an event or a completion to that handler or logs it.
        self._until = 0.0
        self._handler: BatchedStreamHandler | None = None
        self._enabled = False
        self._log: Callable[[tuple], None] = _log_record
        #: the completion feed added to the Huey (the handler's queue), if any
        self._feed: Callable[[tuple], None] | None = None

    def install(self, huey: Huey) -> None:
        self._huey = huey
        self._running = huey.running_tasks
        huey.signal(*self.SIGNALS)(self)
        # connects the rest for the route; the first event (or the handler's
        # next batch) looks again: logging may be set up since
        self._switch(_lone_handler(), logger.isEnabledFor(logging.INFO))

    def uninstall(self) -> None:
        self._switch(None, False)
        if self._huey is not None:
            self._huey.disconnect_signal(self, *self.SIGNALS, S.SIGNAL_COMPLETE)
            self._huey.disconnect_signal(self._executing, S.SIGNAL_EXECUTING)
            self._huey = None
        self._running = {}
        self._until = 0.0

    def _reroute(self, now: float) -> None:
        """Look up how task lines are logged. A change to the logging set-up
        made while the consumer runs applies to them up to ``RECHECK``
        seconds later."""
        enabled = logger.isEnabledFor(logging.INFO)
        handler = _lone_handler()
        if handler is not self._handler or enabled != self._enabled:
            self._switch(handler, enabled)
        self._until = now + RECHECK

    def _switch(self, handler: BatchedStreamHandler | None, enabled: bool) -> None:
        """Log task lines through ``handler`` from now on (None: records)."""
        with self._switching:
            old, huey = self._handler, self._huey
            starts: list[tuple] = []
            if self._feed is not None and huey is not None:
                huey.remove_completion_feed(self._feed)
            self._feed = None
            if old is not None:
                old.sources = [source for source in old.sources if source != self._source]
                starts = self._starts()  # not written yet: they go the new way (or nowhere)
            self._handler, self._enabled = handler, enabled
            self._log = _log_record if handler is None else handler.queue_event
            if handler is not None:  # the starts before now are written (or not wanted)
                self._announced = set(map(_attempt_key, list(self._running.items())))
                handler.sources = [*handler.sources, self._source]
            if huey is not None:
                if handler is None:  # records: the signals make the lines
                    huey.signal(S.SIGNAL_EXECUTING)(self._executing)
                    huey.signal(S.SIGNAL_COMPLETE)(self)
                else:
                    huey.disconnect_signal(self._executing, S.SIGNAL_EXECUTING)
                    huey.disconnect_signal(self, S.SIGNAL_COMPLETE)
                    if enabled:
                        self._feed = handler.queue_event
                        huey.add_completion_feed(self._feed)
        if enabled:
            for event in starts:
                self._log(event)

    def _source(self) -> list[tuple]:
        """The handler's source, asked at each batch: the route looked up
        when due, then the start lines due (``_starts``)."""
        now = _time()
        if now >= self._until:
            self._reroute(now)
        return self._starts() if self._handler is not None else []

    def _starts(self) -> list[tuple]:
        """The start lines of the attempts running now that are not written yet."""
        attempts = list(self._running.items())
        announced = self._announced
        self._announced = set(map(_attempt_key, attempts))
        if not self._enabled:
            return []
        return [
            (started, ident, 'INFO', _TASKS, 'executing %s', (repr(task),))
            for key, (started, ident, task) in attempts
            if (key, started) not in announced
        ]

    def _elapsed(self, task: Task) -> str:
        """' in 0.012s' for the attempt of ``task`` ending now, whose line
        then needs no start line (a warning or an error flushes the handler
        before the attempt leaves ``Huey.running_tasks``)."""
        attempt = self._running.get(id(task))
        if attempt is None:
            return ''
        self._announced.add((id(task), attempt[0]))
        return f' in {max(0.0, _time() - attempt[0]):.3f}s'

    def _executing(self, signal: str, task: Task) -> None:
        """The start line, as a record (connected only for that route)."""
        now = _time()
        if now >= self._until:
            self._reroute(now)
        if self._handler is None:
            if self._enabled:  # the task as it is now (a retry changes it)
                self._log((now, _get_ident(), 'INFO', _TASKS, 'executing %s', (repr(task),)))
            return
        # this very call switched to the handler: its writer writes this start
        attempt = self._running.get(id(task))
        if attempt is not None:
            self._announced.discard((id(task), attempt[0]))

    #: catches its own errors: alone, it is called without huey-api's loop
    never_raises = True

    def __call__(self, signal: str, task: Task, *args: Any) -> None:
        try:
            if signal == S.SIGNAL_COMPLETE:  # first: the usual signal
                now = _time()
                if now >= self._until:
                    self._reroute(now)
                if self._enabled:  # the completion huey-api feeds on the handler's route
                    attempt = self._running.get(id(task))
                    start = None if attempt is None else attempt[0]
                    self._log((now, start, _get_ident(), task.name, task.id))
            else:
                self._other(signal, task, args)
        except Exception:  # noqa: BLE001 - a task never fails because of its log line
            logging.getLogger('huey.consumer').exception('task log: %s of %s dropped', signal, task)

    def _other(self, signal: str, task: Task, args: tuple) -> None:
        """The line of any signal but SIGNAL_COMPLETE."""
        if signal == S.SIGNAL_ERROR:
            why = describe_exception(args[0]) if args else 'unknown error'
            logger.error('%s: %s failed%s: %s', task.name, task.id, self._elapsed(task), why)
        elif signal == S.SIGNAL_RETRYING:
            self._elapsed(task)  # a RetryTask ends its attempt with this signal alone
            logger.warning(
                '%s will be retried (%s retries left)%s',
                task.id,
                task.retries - 1,  # sent before this retry uses one up
                f' at {task.eta}' if task.eta_ts is not None else '',
            )
        elif signal == S.SIGNAL_REVOKED:
            logger.info('%s is revoked, skipped', task.id)
        elif signal == S.SIGNAL_EXPIRED:
            logger.info('%s expired, skipped', task.id)
        elif signal in (S.SIGNAL_LOCKED, S.SIGNAL_RATE_LIMITED, S.SIGNAL_CANCELED):
            logger.info(
                '%s: %s %s%s', task.name, task.id, signal.replace('-', ' '), self._elapsed(task)
            )
        elif signal == S.SIGNAL_DEAD_LETTERED:
            logger.error('%r moved to the dead letters', task)


def _attempt_key(item: tuple[int, tuple]) -> tuple[int, float]:
    """(attempt, start) of a ``Huey.running_tasks`` item."""
    return item[0], item[1][0]


def _log_record(event: tuple) -> None:
    """Log an INFO event or completion (see ``Formatter.fill``) as a record."""
    logger.handle(_event_record(event))
