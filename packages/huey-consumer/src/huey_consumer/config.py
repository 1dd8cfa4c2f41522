"""Consumer settings: one validated object, built by the command line,
``Huey.create_consumer(**options)`` and ``Consumer(huey, **options)`` alike.

The field names are huey's (``ConsumerConfig`` in ``huey.consumer_options``),
so ``huey.create_consumer(**ConsumerConfig(...).values)`` works as it does
with huey. Every default and every check lives here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Mapping

from .constants import (
    GRACEFUL_SIGNALS,
    MAX_WORKERS,
    SCHEDULER_INTERVALS,
    WORKER_ALIASES,
    WORKER_ASYNCIO,
    WORKER_GREENLET,
    WORKER_PROCESS,
    WORKER_THREAD,
    WORKER_TYPES,
)

__all__ = [
    'ConsumerConfig',
    'GRACEFUL_SIGNALS',
    'MAX_WORKERS',
    'SCHEDULER_INTERVALS',
    'WORKER_ASYNCIO',
    'WORKER_GREENLET',
    'WORKER_PROCESS',
    'WORKER_THREAD',
    'WORKER_TYPES',
    'check_scheduler_interval',
]

#: Largest ``prefetch``: more saves nothing and holds messages other workers could run.
MAX_PREFETCH = 1000

#: Fields that configure logging (the script's), not the consumer.
_LOGGING_FIELDS = ('logfile', 'verbose', 'simple_log')


@dataclass(frozen=True)
class ConsumerConfig:
    """How a consumer runs. Build freely, then ``validate()`` (the consumer
    and the script do): a bad value raises ValueError naming it and the fix.

    ``initial_delay``, ``backoff`` and ``max_delay`` shape the polling of
    non-blocking storages when the queue is empty; ``scheduler_interval``
    (a divisor of 60) is the scheduler's tick; ``check_worker_health``
    replaces dead workers every ``health_check_interval`` seconds;
    ``flush_locks`` clears task locks (and ``extra_locks``, names or a
    comma-separated string) at start-up; ``max_tasks`` recycles a worker after
    that many tasks; ``prefetch`` is how many waiting messages a worker may
    lease at once (1: one at a time; see ``worker``); ``task_timeout`` stops
    tasks without a ``timeout`` of their own after that many seconds; a
    graceful shutdown (``graceful_signal``, INT or TERM) waits up to
    ``shutdown_timeout`` seconds (None: as long as it takes) before
    interrupting the tasks in flight. ``logfile``, ``verbose`` (None:
    info, True: debug, False: warnings) and ``simple_log`` configure the
    script's logging.
    """

    workers: int = 1
    worker_type: str = WORKER_THREAD
    initial_delay: float = 0.1
    backoff: float = 1.15
    max_delay: float = 10.0
    check_worker_health: bool = True
    health_check_interval: float = 10.0
    scheduler_interval: int = 1
    periodic: bool = True
    logfile: str | None = None
    verbose: bool | None = None
    simple_log: bool | None = None
    flush_locks: bool = False
    extra_locks: Any = ()
    max_tasks: int | None = None
    prefetch: int = 16
    task_timeout: float | None = None
    shutdown_timeout: float | None = None
    graceful_signal: str = 'INT'

    def __post_init__(self) -> None:
        # Normalise spellings once, so every reader sees one form.
        set_field = object.__setattr__
        set_field(self, 'worker_type', WORKER_ALIASES.get(self.worker_type, self.worker_type))
        set_field(self, 'extra_locks', _lock_names(self.extra_locks))

    @classmethod
    def from_options(cls, options: Any) -> ConsumerConfig:
        """Settings from parsed command-line options (or a mapping): every
        option left unset (None) keeps its default."""
        values = options if isinstance(options, Mapping) else vars(options)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names and v is not None})

    @classmethod
    def from_kwargs(cls, options: Mapping[str, Any]) -> ConsumerConfig:
        """Settings from keyword options, with a clear error for unknown names."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(names))
        if 'utc' in unknown:  # huey 1.x/2.x consumers took it
            raise TypeError(
                f'utc={options["utc"]!r} is a setting of the application, not of its '
                "consumer: pass Huey(..., utc=...) (it sets the periodic tasks' clock)"
            )
        if unknown:
            raise TypeError(
                f'unknown consumer option(s): {", ".join(unknown)}; '
                f'the options are: {", ".join(names)}'
            )
        return cls(**options)

    def validate(self) -> ConsumerConfig:
        """Raise ValueError for the first bad value; returns self."""
        _check_number('workers', self.workers, integer=True)
        if self.worker_type not in WORKER_TYPES:
            raise ValueError(
                f'worker_type={self.worker_type!r}: must be one of '
                f'{", ".join(map(str, WORKER_TYPES))}'
            )
        limit = MAX_WORKERS.get(self.worker_type)
        if limit is not None and self.workers > limit:
            raise ValueError(
                f'workers={self.workers!r}: a consumer runs at most {limit} '
                f'{self.worker_type} workers; run several consumers to go further'
                + (' (or use greenlet workers)' if self.worker_type == WORKER_THREAD else '')
            )
        _check_number('initial_delay', self.initial_delay)
        _check_number('max_delay', self.max_delay)
        if _not_number(self.backoff) or self.backoff < 1:
            raise ValueError(f'backoff={self.backoff!r}: must be a number of 1 or more')
        if self.max_delay < self.initial_delay:
            raise ValueError(
                f'max_delay={self.max_delay!r}: must be at least '
                f'initial_delay={self.initial_delay!r}'
            )
        _check_number('health_check_interval', self.health_check_interval)
        check_scheduler_interval(self.scheduler_interval)
        if self.max_tasks is not None:
            _check_number('max_tasks', self.max_tasks, integer=True)
        _check_number('prefetch', self.prefetch, integer=True)
        if self.prefetch > MAX_PREFETCH:
            raise ValueError(
                f'prefetch={self.prefetch!r}: at most {MAX_PREFETCH} (a batch that size '
                'already costs a thousandth of a round trip per task)'
            )
        if self.task_timeout is not None:
            _check_number('task_timeout', self.task_timeout)
        if self.shutdown_timeout is not None:
            _check_number('shutdown_timeout', self.shutdown_timeout, allow_zero=True)
        if self.graceful_signal not in GRACEFUL_SIGNALS:
            raise ValueError(
                f'graceful_signal={self.graceful_signal!r}: must be INT or TERM '
                '(the other of the two interrupts the tasks in flight)'
            )
        return self

    @property
    def values(self) -> dict[str, Any]:
        """The consumer options, for ``huey.create_consumer(**config.values)``."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _LOGGING_FIELDS
        }

    @property
    def loglevel(self) -> int:
        if self.verbose is None:
            return logging.INFO
        return logging.DEBUG if self.verbose else logging.WARNING

    def setup_logger(self, logger: logging.Logger | None = None) -> logging.Handler:
        """Configure logging as the script does (see ``logs.configure_logging``)."""
        from .logs import configure_logging

        return configure_logging(
            verbose=bool(self.verbose),
            quiet=self.verbose is False,
            logfile=self.logfile,
            simple=bool(self.simple_log),
            logger=logger,
        )


def check_scheduler_interval(interval: Any) -> None:
    """ValueError unless ``interval`` is one of ``SCHEDULER_INTERVALS``."""
    if interval not in SCHEDULER_INTERVALS or isinstance(interval, bool):
        raise ValueError(
            f'scheduler_interval={interval!r}: must be a number of seconds that '
            f'divides a minute: one of {", ".join(map(str, SCHEDULER_INTERVALS))}'
        )


def _lock_names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        value = value.split(',')
    return tuple(name.strip() for name in value if name and name.strip())


def _not_number(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float))


def _check_number(name: str, value: Any, integer: bool = False, allow_zero: bool = False) -> None:
    wrong_type = _not_number(value) or (integer and not isinstance(value, int))
    if wrong_type or value < 0 or (value == 0 and not allow_zero):
        kind = 'whole number' if integer else 'number'
        bound = '0 or more' if allow_zero else 'greater than 0'
        raise ValueError(f'{name}={value!r}: must be a {kind} {bound}')
