"""Heartbeat for in-flight deliveries: keep their leases from expiring.

Each worker process runs one ``LeaseKeeper`` (a thread, or a greenlet under
gevent) that extends the leases of every delivery its workers are running,
every ``huey.lease_timeout / 3`` seconds. A lease only expires when the
process holding it stopped beating: crashed, killed, or frozen.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .backoff import Backoff
from .worker import ERROR_BACKOFF

if TYPE_CHECKING:
    from huey_api import Huey

__all__ = ['LeaseKeeper', 'heartbeat_interval']

logger = logging.getLogger('huey.consumer.leases')


def heartbeat_interval(huey: Huey) -> float:
    """Seconds between heartbeats: a third of the lease timeout."""
    return max(float(huey.lease_timeout) / 3.0, 0.05)


class LeaseKeeper:
    """Extend the leases of ``workers``' current deliveries until ``stop()``."""

    def __init__(
        self, huey: Huey, workers: Callable[[], Iterable[Any]], interval: float | None = None
    ) -> None:
        self.huey = huey
        self._workers = workers
        self.interval = heartbeat_interval(huey) if interval is None else interval
        self.stopping = threading.Event()
        self._errors = Backoff(*ERROR_BACKOFF)

    def in_flight(self) -> list:
        """Deliveries currently executing that hold a lease."""
        found = []
        for worker in list(self._workers()):
            delivery = worker.current()
            if delivery is not None and delivery.receipt is not None:
                found.append(delivery)
        return found

    def beat(self) -> int:
        """Extend every in-flight lease once; returns how many were extended."""
        deliveries = self.in_flight()
        if not deliveries:
            return 0
        extended = self.huey.extend_leases(deliveries)
        if extended < len(deliveries):
            logger.warning(
                'lease heartbeat: %d of %d in-flight leases were already lost '
                '(expired and requeued); those tasks may run twice',
                len(deliveries) - extended,
                len(deliveries),
            )
        else:
            logger.debug('lease heartbeat: extended %d leases', extended)
        return extended

    def run(self) -> None:
        """Beat every ``interval`` seconds until ``stop()``; errors never end it."""
        wait = self.interval
        while not self.stopping.wait(wait):
            try:
                self.beat()
            except Exception as exc:
                wait = min(self._errors.next(), self.interval)
                logger.error(
                    'lease heartbeat failed (%s: %s); retrying in %.1fs',
                    type(exc).__name__,
                    exc,
                    wait,
                )
            else:
                if self._errors.attempts:
                    self._errors.reset()
                wait = self.interval

    def stop(self) -> None:
        self.stopping.set()
