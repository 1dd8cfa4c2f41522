"""Task events as JSON, published through a 1.x event emitter.

``connect_events(huey, emitter)`` makes ``emitter.emit(text)`` receive one
JSON object each time a task moves (today's huey signals, renamed as 1.x
named them). ``RedisEventEmitter`` publishes it on its Redis pub/sub channel,
so a subscriber sees tasks live. Fields of every event:

* ``status``: ``enqueued``, ``scheduled``, ``started``, ``finished``,
  ``error``, ``retrying``, ``revoked``, ``expired``, ``canceled``,
  ``locked``, ``rate-limited``, ``interrupted`` or ``dead-lettered``;
* ``id``: the task id (``AsyncData.task_id``); ``task``: the task name;
* ``retries``: retries left; ``retry_delay``: seconds between retries;
* ``execute_time``: when the task may run (epoch seconds), or null;
* ``timestamp``: when the event happened (epoch seconds);
* ``error`` (``error`` events only): ``"ExceptionType: message"``.

The producer publishes ``enqueued``/``scheduled`` and the consumer the rest,
each as it happens: a fast consumer's ``started`` can reach a subscriber
before the producer's ``enqueued``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

__all__ = ['EVENT_NAMES', 'connect_events', 'event_json']

logger = logging.getLogger(__name__)

#: today's signal name -> the status published (1.x names where they differ)
EVENT_NAMES = {
    'executing': 'started',
    'complete': 'finished',
}


def event_json(signal: str, task: Any, *args: Any) -> str:
    """The JSON text published for ``signal`` about ``task``."""
    event: dict[str, Any] = {
        'status': EVENT_NAMES.get(signal, signal),
        'id': task.id,
        'task': task.name,
        'retries': task.retries,
        'retry_delay': task.retry_delay,
        'execute_time': task.eta_ts,
        'timestamp': time.time(),
    }
    if signal == 'error' and args and isinstance(args[0], BaseException):
        event['error'] = f'{type(args[0]).__name__}: {args[0]}'
    return json.dumps(event)


def connect_events(huey: Any, emitter: Any) -> Callable:
    """Publish every task event of ``huey`` through ``emitter.emit``; returns
    the signal receiver (disconnect it with ``huey.disconnect_signal``)."""

    def publish(signal: str, task: Any, *args: Any) -> None:
        try:
            emitter.emit(event_json(signal, task, *args))
        except Exception:  # a lost event must never fail the task
            logger.exception('could not emit %s event for task %s', signal, task.id)

    huey.signal()(publish)
    return publish
