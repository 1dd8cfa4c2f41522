"""Dead letters of ``RedisStorage``: messages set aside, with the reason.

A hash id -> ``<failed_at> <reason byte length>|<reason><message>``, a sorted
set of ids by age and an id counter; moving a leased message there, and back
to the queue, are single scripts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from huey_storage.base import DeadLetter

if TYPE_CHECKING:
    import redis

    from huey_storage_redis.keys import KeyLayout

__all__ = ['DeadLetterMethods']


class DeadLetterMethods:
    """The dead-letter part of ``RedisStorage`` (a mixin: needs ``client``,
    ``keys``, ``_run``, ``_flag`` and ``_priority``)."""

    client: redis.Redis
    keys: KeyLayout
    _flag: str
    _priority: Callable[[int | None], int]
    _run: Callable[[str, list, list], Any]

    def _dead_letter_keys(self) -> list[str]:
        """The queue keys, then the dead letters' (``add_dead_letter`` in queue_lib.lua)."""
        return self.keys.queue_keys + [
            self.keys.dead_letters,
            self.keys.dead_letter_order,
            self.keys.dead_letter_seq,
        ]

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        dead_id = self._run(
            'dead_letter_add',
            self._dead_letter_keys(),
            [self._flag, '', reason, data, repr(time.time())],
        )
        return dead_id.decode()

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        dead_id = self._run(
            'dead_letter_add',
            self._dead_letter_keys(),
            [self._flag, receipt, reason, b'', repr(time.time())],
        )
        return None if dead_id is None else dead_id.decode()

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        if limit is not None and limit <= 0:
            return []
        flat = self._run(
            'dead_letter_list',
            [self.keys.dead_letters, self.keys.dead_letter_order],
            [-1 if limit is None else limit - 1],
        )
        letters = []
        for i in range(0, len(flat), 2):
            header, _, rest = flat[i + 1].partition(b'|')
            failed_at, _, reason_length = header.partition(b' ')
            length = int(reason_length)
            letters.append(
                DeadLetter(
                    id=flat[i].decode(),
                    data=rest[length:],
                    reason=rest[:length].decode('utf-8'),
                    failed_at=float(failed_at),
                )
            )
        return letters

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        return bool(
            self._run(
                'dead_letter_requeue',
                self._dead_letter_keys(),
                [self._flag, id, self._priority(priority)],
            )
        )

    def delete_dead_letter(self, id: str) -> bool:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.keys.dead_letters, id)
        pipe.zrem(self.keys.dead_letter_order, id)
        deleted, _ = pipe.execute()
        return bool(deleted)

    def flush_dead_letters(self) -> int:
        pipe = self.client.pipeline(transaction=True)
        pipe.hlen(self.keys.dead_letters)
        pipe.delete(self.keys.dead_letters, self.keys.dead_letter_order)
        count, _ = pipe.execute()
        return count
