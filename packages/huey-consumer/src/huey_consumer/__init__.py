"""The huey consumer: thread, process, greenlet and asyncio workers, scheduler
and console scripts.

Names are resolved lazily so that ``huey_consumer.cli`` can monkey-patch with
gevent before the standard library modules the consumer uses are imported.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    'AckFlusher',
    'AsyncioEnvironment',
    'Backoff',
    'Consumer',
    'ConsumerConfig',
    'ConsumerStopped',
    'ForkSafeFlag',
    'GreenletEnvironment',
    'HueyImportError',
    'LeaseKeeper',
    'OptionParserHandler',
    'ProcessEnvironment',
    'Scheduler',
    'SystemClock',
    'TaskEventLogger',
    'ThreadEnvironment',
    'WORKER_ASYNCIO',
    'WORKER_GREENLET',
    'WORKER_PROCESS',
    'WORKER_THREAD',
    'WORKER_TO_ENVIRONMENT',
    'WORKER_TYPES',
    'Worker',
    'WorkerType',
    'add_consumer_options',
    'configure_logging',
    'load_huey',
]
__version__ = '0.1.0'

_LOCATIONS = {
    'AckFlusher': 'worker',
    'AsyncioEnvironment': 'event_loop',
    'Backoff': 'backoff',
    'Consumer': 'consumer',
    'ConsumerConfig': 'config',
    'ConsumerStopped': 'consumer',
    'ForkSafeFlag': 'environments',
    'GreenletEnvironment': 'environments',
    'HueyImportError': 'loading',
    'LeaseKeeper': 'leases',
    'OptionParserHandler': 'options',
    'ProcessEnvironment': 'environments',
    'Scheduler': 'scheduler',
    'SystemClock': 'scheduler',
    'TaskEventLogger': 'logs',
    'ThreadEnvironment': 'environments',
    'WORKER_ASYNCIO': 'constants',
    'WORKER_GREENLET': 'constants',
    'WORKER_PROCESS': 'constants',
    'WORKER_THREAD': 'constants',
    'WORKER_TO_ENVIRONMENT': 'environments',
    'WORKER_TYPES': 'constants',
    'Worker': 'worker',
    'WorkerType': 'constants',
    'add_consumer_options': 'options',
    'configure_logging': 'logs',
    'load_huey': 'loading',
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module('.' + module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
