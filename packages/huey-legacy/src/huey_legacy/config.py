"""The 0.x consumer configuration class (``huey.bin.config``), deprecated.

``huey_consumer.py main.Configuration`` runs the application whose queue is
the class's ``QUEUE`` with the class's settings: huey-consumer calls the
``huey_consumer_configuration()`` class method, which returns that ``Huey``
with ``consumer_settings`` filled in (options given on the command line win).
"""

from __future__ import annotations

import logging
from typing import Any

from huey_legacy.api import Huey, app_for_queue
from huey_legacy.deprecation import deprecated

__all__ = ['BaseConfiguration', 'consumer_settings']


class BaseConfiguration:
    """Deprecated: subclass it and set the class attributes below; run it with
    ``huey_consumer.py module.Configuration``. Use a ``huey.RedisHuey`` and
    ``huey_consumer.py module.huey -w THREADS``.
    """

    QUEUE: Any = None  # a BaseQueue instance (required)
    RESULT_STORE: Any = None  # a BaseDataStore instance, or None
    TASK_STORE: Any = None  # where scheduled tasks wait if the queue has no schedule
    PERIODIC = False  # enqueue periodic commands on this consumer
    THREADS = 1
    LOGFILE: str | None = None
    LOGLEVEL = logging.INFO
    BACKOFF = 1.15
    INITIAL_DELAY = 0.1
    MAX_DELAY = 10
    UTC = True  # match periodic commands against UTC (else local) time

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        deprecated('huey.bin.config.BaseConfiguration', 'huey_consumer.py module.huey -w N')

    @classmethod
    def huey_consumer_configuration(cls) -> Huey:
        """The application to run, its ``consumer_settings`` set from this class."""
        if cls.QUEUE is None:
            raise ValueError(
                f'{cls.__name__}.QUEUE is None: set it to the queue your Invoker uses, '
                "e.g. QUEUE = RedisBlockingQueue('app')"
            )
        huey = app_for_queue(cls.QUEUE)
        if huey is None:
            huey = Huey(cls.QUEUE, cls.RESULT_STORE, task_store=cls.TASK_STORE)
        huey.utc = bool(cls.UTC)
        huey.consumer_settings = consumer_settings(
            cls.THREADS,
            cls.PERIODIC,
            cls.INITIAL_DELAY,
            cls.BACKOFF,
            cls.MAX_DELAY,
            cls.LOGFILE,
            cls.LOGLEVEL,
        )
        return huey


def consumer_settings(
    threads: Any,
    periodic: Any,
    initial_delay: Any,
    backoff: Any,
    max_delay: Any,
    logfile: Any,
    loglevel: Any,
) -> dict[str, Any]:
    """The 0.x consumer settings under huey_consumer's ``ConsumerConfig`` names
    (shared by configuration classes and Django's ``HUEY_CONFIG``)."""
    return {
        'workers': threads,
        'periodic': bool(periodic),
        'initial_delay': initial_delay,
        'backoff': backoff,
        'max_delay': max_delay,
        'logfile': logfile,
        'verbose': _verbose(loglevel),
    }


def _verbose(level: int | None) -> bool | None:
    """A LOGLEVEL as the consumer's ``verbose``: True for debug, False for
    warnings and above, None (info) otherwise."""
    if level is None or logging.DEBUG < level < logging.WARNING:
        return None
    return level <= logging.DEBUG
