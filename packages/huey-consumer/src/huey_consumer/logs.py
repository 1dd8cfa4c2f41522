"""Consumer logging: the format of the ``huey_consumer`` script, and one log
line per task event (start, finish with duration, error, retry, revoke...),
driven by huey signals."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huey_api import Huey, Task

__all__ = ['DEFAULT_FORMAT', 'SIMPLE_FORMAT', 'TaskEventLogger', 'configure_logging']

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
    ``logfile`` (reopened when rotated away) or to stderr.
    """
    if logfile:
        handler: logging.Handler = logging.handlers.WatchedFileHandler(logfile)
    else:
        handler = logging.StreamHandler(sys.stderr)
    if simple:
        handler.setFormatter(logging.Formatter(SIMPLE_FORMAT, '%H:%M:%S'))
    else:
        handler.setFormatter(logging.Formatter(DEFAULT_FORMAT))
    root = logging.getLogger() if logger is None else logger
    for old in [h for h in root.handlers if getattr(h, '_huey_consumer', False)]:
        root.removeHandler(old)
    handler._huey_consumer = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    return handler


class TaskEventLogger:
    """Signal receiver logging each task event; ``install``/``uninstall`` on a Huey.

    Errors are logged on one line here: huey-api already logs the traceback.
    """

    #: never reads a task's result: huey-api may store it with the acknowledgement
    reads_results = False

    SIGNALS = (
        'executing',
        'complete',
        'error',
        'retrying',
        'revoked',
        'expired',
        'locked',
        'rate-limited',
        'canceled',
        'dead-lettered',
    )

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()
        self._huey: Huey | None = None

    def install(self, huey: Huey) -> None:
        self._huey = huey
        huey.signal(*self.SIGNALS)(self)

    def uninstall(self) -> None:
        if self._huey is not None:
            self._huey.disconnect_signal(self, *self.SIGNALS)
            self._huey = None

    def _elapsed(self, task: Task) -> str:
        with self._lock:
            started = self._started.pop(task.id, None)
        return '' if started is None else ' in %.3fs' % (time.monotonic() - started)

    def __call__(self, signal: str, task: Task, *args: Any) -> None:
        if signal == 'executing':
            with self._lock:
                self._started[task.id] = time.monotonic()
            logger.info('executing %r', task)
        elif signal == 'complete':
            logger.info('%s finished%s', task.id, self._elapsed(task))
        elif signal == 'error':
            exc = args[0] if args else None
            logger.error(
                '%s failed%s: %s: %s', task.id, self._elapsed(task), type(exc).__name__, exc
            )
        elif signal == 'retrying':
            logger.warning(
                '%s will be retried (%s retries left)%s',
                task.id,
                task.retries - 1,  # sent before this retry uses one up
                f' at {task.eta}' if task.eta_ts is not None else '',
            )
        elif signal == 'revoked':
            logger.info('%s is revoked, skipped', task.id)
        elif signal == 'expired':
            logger.info('%s expired, skipped', task.id)
        elif signal in ('locked', 'rate-limited', 'canceled'):
            logger.info('%s %s%s', task.id, signal.replace('-', ' '), self._elapsed(task))
        elif signal == 'dead-lettered':
            logger.error('%r moved to the dead letters', task)
