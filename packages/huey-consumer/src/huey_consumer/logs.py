"""Consumer logging: the format of the ``huey_consumer`` script, and one log
line per task event (start, finish with duration, error, retry, revoke...),
driven by huey signals."""

from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

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

logger = logging.getLogger('huey.consumer.tasks')

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


#: the record fields ``Formatter.line`` can fill without a LogRecord
_LINE_FIELDS = frozenset(('asctime', 'levelname', 'name', 'message', 'processName', 'threadName'))


class Formatter(logging.Formatter):
    """``logging.Formatter`` that formats the time once a second, not once a line,
    and can make a line without a LogRecord (``line``)."""

    _cached: tuple[int, str] = (-1, '')  # (second, its formatted time): one atomic read

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        fields = set(re.findall(r'%\((\w+)\)', self._fmt or ''))
        self._makes_lines = type(self._style) is logging.PercentStyle and fields <= _LINE_FIELDS

    def line(
        self, levelname: str, name: str, message: str, created: float | None = None
    ) -> str | None:
        """The line ``format()`` would make of a record of ``name`` at
        ``levelname`` logged from this thread at ``created`` (default: now),
        with ``message``; None when the format needs a field only a
        LogRecord has."""
        if not (self._makes_lines and logging.logThreads and logging.logMultiprocessing):
            return None
        if created is None:
            created = time.time()
        second, stamp = self._cached
        if int(created) != second:
            second = int(created)
            stamp = time.strftime(self.datefmt or self.default_time_format, self.converter(second))
            self._cached = (second, stamp)
        if not self.datefmt:
            stamp = self.default_msec_format % (stamp, int((created - second) * 1000))
        return self._fmt % {
            'asctime': stamp,
            'levelname': levelname,
            'name': name,
            'message': message,
            'processName': _process_name(),
            'threadName': threading.current_thread().name,
        }

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        second, stamp = self._cached
        if int(record.created) != second:
            second = int(record.created)
            stamp = time.strftime(datefmt or self.default_time_format, self.converter(second))
            self._cached = (second, stamp)
        return stamp if datefmt else self.default_msec_format % (stamp, record.msecs)


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
    or for the writer.
    """

    def __init__(
        self, stream=None, interval: float = 0.1, flush_level: int = logging.WARNING
    ) -> None:
        super().__init__(stream)
        self.interval = interval
        self.flush_level = flush_level
        self._lines: collections.deque[str] = collections.deque()
        self._stop = threading.Event()
        self._start_writer()
        os.register_at_fork(after_in_child=self._after_fork)

    def _start_writer(self) -> None:
        writer = threading.Thread(target=self._write_batches, name='huey-log-writer', daemon=True)
        writer.start()

    def _after_fork(self) -> None:
        # The child has no writer thread, and the parent writes what it had buffered.
        self._lines = collections.deque()
        if not self._stop.is_set():
            self._stop = threading.Event()  # its lock may have been held at the fork
            self._start_writer()

    def _write_batches(self) -> None:
        while not self._stop.wait(self.interval):
            if self._lines:
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

    def add_line(self, line: str) -> None:
        """Queue a line formatted elsewhere (below ``flush_level``)."""
        self._lines.append(line + self.terminator)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            # Exactly the lines queued now; others may be appended meanwhile.
            popleft = self._lines.popleft
            lines = [popleft() for _ in range(len(self._lines))]
            if lines and self.stream is not None:
                try:
                    self._write(''.join(lines))
                except Exception:  # noqa: BLE001
                    self.handleError(logging.makeLogRecord({'msg': 'huey log write failed'}))

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


def _lone_handler() -> BatchedStreamHandler | None:
    """The consumer's batched handler when it is the one handler an INFO
    record of ``logger`` reaches, with no filter on the way; else None."""
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
    return found


def _info(msg: str, *args: Any) -> None:
    """``logger.info`` for the two lines every task logs, at a fraction of its
    cost: with the consumer's handler alone on the way (the script's set-up)
    the line goes straight into its batch, else a record is made without
    the caller lookup (a frame walk; the caller is always this module)."""
    handler = _lone_handler()
    if handler is not None and isinstance(handler.formatter, Formatter):
        line = handler.formatter.line('INFO', logger.name, msg % args)
        if line is not None:
            handler.add_line(line)
            return
    logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, msg, args, None))


class TaskEventLogger:
    """Signal receiver logging each task event; ``install``/``uninstall`` on a Huey.

    Errors are logged on one line here: huey-api already logs the traceback.
    """

    #: never reads a task's result: huey-api may store it with the acknowledgement
    reads_results = False

    SIGNALS = (
        S.SIGNAL_EXECUTING,
        S.SIGNAL_COMPLETE,
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
        self._started: dict[str, float] = {}  # task id -> monotonic start (dict ops are atomic)
        self._huey: Huey | None = None

    def install(self, huey: Huey) -> None:
        self._huey = huey
        huey.signal(*self.SIGNALS)(self)

    def uninstall(self) -> None:
        if self._huey is not None:
            self._huey.disconnect_signal(self, *self.SIGNALS)
            self._huey = None

    def _elapsed(self, task: Task) -> str:
        started = self._started.pop(task.id, None)
        return '' if started is None else ' in %.3fs' % (time.monotonic() - started)

    def __call__(self, signal: str, task: Task, *args: Any) -> None:
        if signal == S.SIGNAL_EXECUTING:
            self._started[task.id] = time.monotonic()
            if logger.isEnabledFor(logging.INFO):
                _info('executing %r', task)
        elif signal == S.SIGNAL_COMPLETE:
            elapsed = self._elapsed(task)
            if logger.isEnabledFor(logging.INFO):
                _info('%s finished%s', task.id, elapsed)
        elif signal == S.SIGNAL_ERROR:
            why = describe_exception(args[0]) if args else 'unknown error'
            logger.error('%s failed%s: %s', task.id, self._elapsed(task), why)
        elif signal == S.SIGNAL_RETRYING:
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
            logger.info('%s %s%s', task.id, signal.replace('-', ' '), self._elapsed(task))
        elif signal == S.SIGNAL_DEAD_LETTERED:
            logger.error('%r moved to the dead letters', task)
