"""Leases of running tasks, and the heartbeat that brings back a dead consumer's.

Two clocks keep a message from being lost or run twice:

* each worker process runs one ``LeaseKeeper`` (a thread, or a greenlet under
  gevent) that extends the leases of every delivery its workers are running
  or have prefetched, every ``huey.lease_timeout / 3`` seconds, so a lease only expires when the
  process holding it stopped beating (crashed, killed, or frozen);
* each consumer runs one ``Heartbeat``: it records the consumer as alive in the
  storage every ``HEARTBEAT_INTERVAL`` seconds (each lease it takes names it
  as owner), and requeues the leases that lapsed: expired ones, and those of
  consumers that stopped beating. A killed consumer's tasks thus run again
  within about ``HEARTBEAT_TTL + HEARTBEAT_INTERVAL`` seconds, on whichever
  consumer runs or starts next, while a live consumer's slow tasks keep their
  leases however long they run.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .backoff import Backoff
from .worker import ERROR_BACKOFF

if TYPE_CHECKING:
    from huey_api import Huey

__all__ = [
    'HEARTBEAT_INTERVAL',
    'HEARTBEAT_TTL',
    'Heartbeat',
    'LeaseKeeper',
    'consumer_id',
    'heartbeat_interval',
]

logger = logging.getLogger('huey.consumer.leases')

#: Seconds between two heartbeats of a consumer.
HEARTBEAT_INTERVAL = 1.0
#: Seconds one heartbeat vouches for its consumer. Two missed beats (a slow
#: storage, a long pause) are tolerated; so are clock differences between the
#: consumers' machines of up to about two seconds (keep clocks in sync).
HEARTBEAT_TTL = 3.0


def heartbeat_interval(huey: Huey) -> float:
    """Seconds between heartbeats: a third of the lease timeout."""
    return max(float(huey.lease_timeout) / 3.0, 0.05)


class _Beating:
    """The loop both clocks share: ``beat()`` every ``interval`` seconds until
    ``stop()``. A failure never ends it: it is logged once (then at DEBUG),
    retried sooner, and its end is logged."""

    what = 'heartbeat'  # names the clock in its log lines

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.stopping = threading.Event()
        self._errors = Backoff(*ERROR_BACKOFF)

    def beat(self) -> int:
        raise NotImplementedError

    def run(self) -> None:
        """Beat every ``interval`` seconds until ``stop()``; errors never end it."""
        wait = self.interval
        while not self.stopping.wait(wait):
            try:
                self.beat()
            except Exception as exc:
                wait = min(self._errors.next(), self.interval)
                log = logger.error if self._errors.attempts == 1 else logger.debug
                log(
                    '%s failed (%s: %s); retrying in %.1fs',
                    self.what,
                    type(exc).__name__,
                    exc,
                    wait,
                )
            else:
                if self._errors.attempts:
                    logger.warning('%s works again', self.what)
                    self._errors.reset()
                wait = self.interval

    def stop(self) -> None:
        self.stopping.set()


class LeaseKeeper(_Beating):
    """Extend the leases of ``workers``' current deliveries until ``stop()``."""

    what = 'lease heartbeat'

    def __init__(
        self, huey: Huey, workers: Callable[[], Iterable[Any]], interval: float | None = None
    ) -> None:
        super().__init__(heartbeat_interval(huey) if interval is None else interval)
        self.huey = huey
        self._workers = workers

    def in_flight(self) -> list:
        """Deliveries holding a lease: executing, or prefetched to run next."""
        return [
            delivery
            for worker in list(self._workers())
            for delivery in worker.held()
            if delivery.receipt is not None
        ]

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


def consumer_id() -> str:
    """A lease owner name for this consumer: unique, and naming host and pid."""
    host = re.sub(r'[^A-Za-z0-9-]', '-', socket.gethostname())[:12] or 'host'
    return f'{host}.{os.getpid()}.{uuid.uuid4().hex[:8]}'


class Heartbeat(_Beating):
    """Keep this consumer known as alive in the storage, and requeue the leases
    that lapsed (see the module docstring). ``beat()`` once before any worker
    takes a lease, then ``run()`` until ``stop()``."""

    what = 'consumer heartbeat'

    def __init__(
        self,
        huey: Huey,
        owner: str | None = None,
        interval: float = HEARTBEAT_INTERVAL,
        ttl: float = HEARTBEAT_TTL,
    ) -> None:
        super().__init__(interval)
        self.huey = huey
        self.owner = owner or consumer_id()
        self.ttl = ttl

    def beat(self) -> int:
        """Beat once, then requeue lapsed leases; returns how many came back."""
        storage = self.huey.storage
        storage.heartbeat(self.owner, self.ttl)
        # Leases name this consumer only once a beat is on record: before it,
        # the others would take them for a dead consumer's.
        storage.lease_owner = self.owner
        requeued = self.huey.requeue_expired_leases()
        if requeued:
            logger.warning(
                '%d messages of stopped consumers or workers (killed, or their lease '
                'expired) are back in the queue',
                requeued,
            )
        return requeued

    def stop(self) -> None:
        """Stop beating and say so: any lease still held (a worker process
        killed on a prompt stop) is then reclaimed at once by the others."""
        super().stop()
        try:
            self.huey.storage.heartbeat(self.owner, 0)
        except Exception as exc:
            logger.warning(
                'could not record the consumer as stopped (%s); its leases lapse within %ss',
                exc,
                self.ttl,
            )
