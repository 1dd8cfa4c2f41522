"""Signals sent while tasks move through their life, and their receivers."""

from __future__ import annotations

import logging
import threading
from typing import Callable

__all__ = [
    'SIGNALS',
    'SIGNAL_CANCELED',
    'SIGNAL_COMPLETE',
    'SIGNAL_DEAD_LETTERED',
    'SIGNAL_ENQUEUED',
    'SIGNAL_ERROR',
    'SIGNAL_EXECUTING',
    'SIGNAL_EXPIRED',
    'SIGNAL_INTERRUPTED',
    'SIGNAL_LOCKED',
    'SIGNAL_RATE_LIMITED',
    'SIGNAL_RETRYING',
    'SIGNAL_REVOKED',
    'SIGNAL_SCHEDULED',
    'SIGNAL_TIMEOUT',
    'Signals',
]

# Under 'huey', the logger applications configure for the facade they import.
logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))

SIGNAL_CANCELED = 'canceled'  # a pre_execute hook or the task raised CancelExecution
SIGNAL_COMPLETE = 'complete'  # the task ran and returned
SIGNAL_DEAD_LETTERED = 'dead-lettered'  # a decodable message went to the dead letters
SIGNAL_ENQUEUED = 'enqueued'  # the producer put the task in the queue or schedule
SIGNAL_ERROR = 'error'  # the task raised; receivers also get the exception
SIGNAL_EXECUTING = 'executing'  # the task is about to run
SIGNAL_EXPIRED = 'expired'  # the task's expires deadline passed; not run
SIGNAL_INTERRUPTED = 'interrupted'  # the consumer stopped on purpose while it ran
SIGNAL_LOCKED = 'locked'  # lock_task could not acquire its lock
SIGNAL_RATE_LIMITED = 'rate-limited'  # rate_limit refused to run the task now
SIGNAL_RETRYING = 'retrying'  # the task failed and will run again
SIGNAL_REVOKED = 'revoked'  # the task (or every task of its name) is revoked
SIGNAL_SCHEDULED = 'scheduled'  # the task went to the schedule (future eta)
SIGNAL_TIMEOUT = 'timeout'  # the task ran past its timeout

SIGNALS = (
    SIGNAL_CANCELED,
    SIGNAL_COMPLETE,
    SIGNAL_DEAD_LETTERED,
    SIGNAL_ENQUEUED,
    SIGNAL_ERROR,
    SIGNAL_EXECUTING,
    SIGNAL_EXPIRED,
    SIGNAL_INTERRUPTED,
    SIGNAL_LOCKED,
    SIGNAL_RATE_LIMITED,
    SIGNAL_RETRYING,
    SIGNAL_REVOKED,
    SIGNAL_SCHEDULED,
    SIGNAL_TIMEOUT,
)


class Signals:
    """Receivers by signal; ``send`` calls them synchronously, logging errors.

    A receiver that catches its own errors says so with an attribute
    ``never_raises = True``; when it is the only receiver of every signal
    that has one (huey-monitor's recorder), ``send`` is that receiver itself,
    which spares a call and a loop on each of a task's signals.

    Connecting and disconnecting replace the lists they change, so a
    receiver may connect or disconnect others (or itself) while a signal is
    being sent: that sending goes on with the receivers it started with.
    """

    def __init__(self) -> None:
        self._receivers: dict[str, list[Callable]] = {name: [] for name in SIGNALS}
        self._changing = threading.Lock()
        #: The signals that have receivers: senders skip the others (and must:
        #: a ``send`` that is a receiver itself takes only its own signals).
        self.wanted: frozenset[str] = frozenset()
        #: Whether a SIGNAL_COMPLETE receiver may read the task's result: then
        #: the result is stored before the signal (one more round trip), else
        #: with the acknowledgement. A receiver that never reads results says
        #: so with an attribute ``reads_results = False``.
        self.complete_reads_result = False

    def connect(self, receiver: Callable, *signals: str) -> None:
        for name in signals:
            if name not in self._receivers:
                raise ValueError(f'unknown signal {name!r}: use one of huey.signals.SIGNAL_*')
        with self._changing:
            for name in signals or SIGNALS:
                if receiver not in self._receivers[name]:
                    self._receivers[name] = [*self._receivers[name], receiver]
            self._update()

    def disconnect(self, receiver: Callable, *signals: str) -> None:
        with self._changing:
            for name in signals or SIGNALS:
                receivers = self._receivers.get(name, [])
                if receiver in receivers:
                    self._receivers[name] = [r for r in receivers if r != receiver]
            self._update()

    def _update(self) -> None:
        self.wanted = frozenset(name for name, receivers in self._receivers.items() if receivers)
        self.complete_reads_result = any(
            getattr(receiver, 'reads_results', True)
            for receiver in self._receivers[SIGNAL_COMPLETE]
        )
        self.__dict__.pop('send', None)
        lists = [receivers for receivers in self._receivers.values() if receivers]
        if (
            lists
            and len(lists[0]) == 1
            and getattr(lists[0][0], 'never_raises', False)
            and all(receivers == lists[0] for receivers in lists)
        ):
            # shadows the method below: called directly (only for the wanted signals)
            self.send = lists[0][0]

    def send(self, signal: str, task, *args) -> None:
        for receiver in self._receivers[signal]:
            try:
                receiver(signal, task, *args)
            except Exception:
                logger.exception('signal receiver %r failed on %s for %s', receiver, signal, task)
