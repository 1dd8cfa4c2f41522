"""Chords: collect member values in storage, fire the callback once.

This docstring is the protocol's one description (``group.chord`` builds
chords, ``execution`` reports members here).

Safe under at-least-once delivery (a member may run twice after a crash, and
two members may finish at the same moment in different processes). When a
member is done (value, final error, or skipped), *before* its message is
acknowledged:

1. ``put_data('chord:<id>:<index>', value)`` - its slot;
2. ``incr('chord:<id>:count')`` - below ``size``: done (the first member to
   count, and a redelivered one, also peek the ``fired`` flag: see below);
3. ``peek_data_many`` of every slot and the ``fired`` flag: if a slot is
   missing, the chord is not complete (a redelivery over-counted);
4. ``put_if_empty('chord:<id>:fired', ttl=_FIRED_TTL)``: the winner - or a
   redelivered member (``deliveries > 1``), which may have won before
   crashing - enqueues the callback with the values appended to its args;
5. the slots and the counter are deleted. The fired flag is kept for
   ``_FIRED_TTL`` seconds: a member that counts after this (a duplicate, or
   a member outrun by an over-count) starts the counter again at 1, sees
   the flag and deletes its slot and the counter instead of leaving them.

So a plain member costs two round trips (three for a chord's first), the
last one ``size + 4``. A crash between steps 4 and 5 can enqueue the
callback twice (at-least-once); without a crash it is enqueued exactly once.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from huey_storage import EmptyData

from huey_api.constants import CHORD_PREFIX
from huey_api.exceptions import HueyException
from huey_api.result import Error
from huey_api.task import Task
from huey_api.utils import describe_exception

__all__ = ['Chords']

# Under 'huey', the logger applications configure for the facade they import.
logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))

#: seconds the fired flag blocks late duplicates of a finished chord's members
_FIRED_TTL = 24 * 3600.0


class Chords:
    """Chord completion in ``storage``; ``enqueue(task, now)`` enqueues the callback."""

    def __init__(self, storage, codec, enqueue: Callable[[Task, float], None]):
        self.storage = storage
        self.codec = codec
        self.enqueue = enqueue

    def member_done(self, task: Task, value: Any, deliveries: int, now: float) -> None:
        """Record ``value`` as ``task``'s chord slot; fire the callback if it was
        the last one. Storage errors propagate (the member is not acknowledged)."""
        chord = task.chord
        storage, codec = self.storage, self.codec
        prefix = f'{CHORD_PREFIX}{chord.id}:'
        slot_key, count_key, fired_key = (
            f'{prefix}{chord.index}',
            prefix + 'count',
            prefix + 'fired',
        )
        try:
            data = codec.encode_value(slot_key, value)
        except Exception as exc:
            logger.error(
                'chord %s: member %s returned a value that cannot be serialized: '
                '%s; its slot holds an Error',
                chord.id,
                task.id,
                describe_exception(exc),
            )
            error = {'error': describe_exception(exc), 'task_id': task.id, 'retries': 0}
            data = codec.encode_value(slot_key, Error(error))
        storage.put_data(slot_key, data)
        count = storage.incr(count_key)
        if count < chord.size:
            # Once the chord fired and was cleaned up, a late member restarts
            # the counter at 1: it must not leave its slot and counter behind.
            if (count == 1 or deliveries > 1) and storage.peek_data(fired_key) is not EmptyData:
                self._drop_late(slot_key, count_key)
            return
        keys = [f'{prefix}{i}' for i in range(chord.size)]
        found = storage.peek_data_many(keys + [fired_key])
        fired = found.pop()
        if any(item is EmptyData for item in found):
            if fired is not EmptyData:  # late: the chord already fired
                self._drop_late(slot_key, count_key)
            return
        won = fired is EmptyData and storage.put_if_empty(fired_key, b'1', _FIRED_TTL)
        if not won and deliveries <= 1:
            return
        values = [
            self._slot_value(chord.id, i, key, item)
            for i, (key, item) in enumerate(zip(keys, found))
        ]
        self._fire(chord, values, now)
        for key in keys:
            storage.delete_data(key)
        storage.delete_counter(count_key)

    def _drop_late(self, slot_key: str, count_key: str) -> None:
        logger.info('%s: its chord already fired; dropping this late value', slot_key)
        self.storage.delete_data(slot_key)
        self.storage.delete_counter(count_key)

    def _slot_value(self, chord_id: str, index: int, key: str, data: bytes) -> Any:
        try:
            return self.codec.decode_value(key, data)
        except HueyException as exc:
            logger.error(
                'chord %s: slot %d cannot be read (%s); the callback gets an Error there',
                chord_id,
                index,
                exc,
            )
            return Error({'error': f'unreadable chord slot: {exc}', 'retries': 0})

    def _fire(self, chord, values: list, now: float) -> None:
        callback = chord.callback
        message = callback._replace(args=callback.args + (values,))
        try:
            task = self.codec.registry.create_task(message)
        except HueyException as exc:
            dead_id = self.storage.add_dead_letter(
                self.codec.encode_message(message.encode()), f'chord {chord.id} callback: {exc}'
            )
            logger.error(
                'chord %s: callback not enqueued, moved to the dead letters (id %s): %s',
                chord.id,
                dead_id,
                exc,
            )
            return
        logger.debug('chord %s complete: enqueueing %s', chord.id, task)
        self.enqueue(task, now)
