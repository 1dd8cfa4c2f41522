"""Revoking tasks: one instance by id, or every task of a name.

A revocation is a data key ``r:<task id>`` or ``r:<task name>`` holding
``b'<until timestamp or empty>|<once 0/1>'`` (no pickle), signed for its key
when the application signs (``codec``): a forged or copied revocation is
ignored (and logged), so whoever writes the storage cannot cancel tasks with
one. A revocation by id expires: an id that never runs (a typo, a task
already done) must not stay forever. It lives ``Huey.revoke_id_ttl`` seconds
(30 days), or until its ``revoke_until`` if sooner; revocations of a task
name stay until restored.

Executing a task reads both keys in one ``peek_data_many`` call, but only
while the flag key ``REVOKED_FLAG`` exists: a consumer reads it together with
each message (``lease_with_data``), so a queue with no revocation costs no
extra round trip per task.

The flag is cleared when the last revocation is gone, without ever hiding
one. The counter ``REVOCATION_COUNT`` is incremented *before* a revocation
key is written and decremented *after* one is deleted, so it never reads
less than the revocations that exist. The one who brings it to 0 takes the
``REVOCATION_CLEARING`` mark (``put_if_empty``), reads the counter again and,
if still 0, deletes the flag, then drops the mark. A writer, after its
revocation key, waits while the mark exists and only then writes the flag.
So either the writer's increment came before the clearer's second read (and
the flag stays), or the writer's flag write comes after the clearer is done;
the flag is missing only while a ``revoke()`` call has not yet returned.
A revocation that expires is never uncounted, so the flag then stays (the
safe side). Flags written by earlier versions (``b'1'``, their revocations
uncounted) are never cleared.
"""

from __future__ import annotations

import logging
import time

from huey_storage import EmptyData

from huey_api.constants import (
    REVOCATION_CLEARING,
    REVOCATION_COUNT,
    REVOKE_PREFIX,
    REVOKED_FLAG,
)
from huey_api.exceptions import SignatureError
from huey_api.task import Task, TaskWrapper

__all__ = ['Revocations', 'revocation_keys']

logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))

#: the flag's value when every revocation is counted (earlier versions wrote b'1')
_COUNTED = b'2'
#: seconds a clearer may hold the mark (it needs two round trips)
_CLEARING_TTL = 10.0


def _encode(until: float | None, once: bool) -> bytes:
    return f'{"" if until is None else repr(until)}|{int(once)}'.encode()


def _decode(value: bytes) -> tuple[float | None, bool]:
    until, _, once = value.decode().partition('|')
    return (float(until) if until else None), once == '1'


def revocation_keys(task_or_id) -> list[str]:
    """The revocation keys that apply: a Task (or its Result) its id and its
    name, a task class or function its name, a string an id."""
    if hasattr(task_or_id, 'task') and hasattr(task_or_id, 'get'):  # a Result
        task_or_id = task_or_id.task if task_or_id.task is not None else task_or_id.id
    if isinstance(task_or_id, str):
        return [REVOKE_PREFIX + task_or_id]
    if isinstance(task_or_id, Task):
        return [REVOKE_PREFIX + task_or_id.id, REVOKE_PREFIX + task_or_id.name]
    if isinstance(task_or_id, TaskWrapper) or (
        isinstance(task_or_id, type) and issubclass(task_or_id, Task)
    ):
        return [REVOKE_PREFIX + task_or_id.name]
    raise TypeError(f'{task_or_id!r} is not a task, task class, task function or task id')


class Revocations:
    """Revocations in ``storage``: written, checked, used up and deleted."""

    def __init__(self, storage, codec) -> None:
        self.storage = storage
        self.codec = codec

    def revoke(self, key: str, until: float | None, once: bool, ttl: float | None = None) -> None:
        """Write a revocation (expiring after ``ttl`` seconds, if given)."""
        storage = self.storage
        if ttl is not None and until is not None:
            ttl = min(ttl, until - time.time())
            if ttl <= 0:  # lapsed already: nothing to revoke
                self.delete(key)
                return
        value = self.codec.sign_revocation(key, _encode(until, once))
        storage.incr(REVOCATION_COUNT)  # before the key exists
        if not storage.put_if_empty(key, value, ttl):  # already revoked: replace it
            if ttl is None:
                storage.put_data(key, value)
            else:  # put_data has no TTL: replace the key with an expiring one
                for _ in range(2):
                    storage.delete_data(key)
                    if storage.put_if_empty(key, value, ttl):
                        break
            storage.incr(REVOCATION_COUNT, -1)  # the key was counted when created
        deadline = time.monotonic() + _CLEARING_TTL
        while storage.peek_data(REVOCATION_CLEARING) is not EmptyData:
            if time.monotonic() > deadline:
                break  # the mark expired with its clearer
            time.sleep(0.002)  # a clearer holds it for two round trips
        storage.put_if_empty(REVOKED_FLAG, _COUNTED)

    def delete(self, key: str) -> bool:
        """Delete one revocation; False if there was none."""
        if not self.storage.delete_data(key):
            return False
        if self.storage.incr(REVOCATION_COUNT, -1) <= 0:
            self._clear_flag()
        return True

    def _clear_flag(self) -> None:
        storage = self.storage
        if not storage.put_if_empty(REVOCATION_CLEARING, b'1', _CLEARING_TTL):
            return  # another clearer is at it
        started = time.monotonic()
        try:
            if (
                storage.peek_counters([REVOCATION_COUNT])[0] <= 0
                and storage.peek_data(REVOKED_FLAG) == _COUNTED
                and time.monotonic() - started < _CLEARING_TTL / 2
            ):
                storage.delete_data(REVOKED_FLAG)
        finally:
            storage.delete_data(REVOCATION_CLEARING)

    def is_revoked(self, keys: list[str], now: float, consume: bool) -> bool:
        """True if one of ``keys`` revokes at ``now``; with ``consume`` a
        revoke-once is used up and a lapsed revocation deleted."""
        values = self.storage.peek_data_many(keys)
        return any(value is not EmptyData for value in values) and self._decide(
            keys, values, now, consume
        )

    def _decide(self, keys, values, now: float, consume: bool) -> bool:
        for key, value in zip(keys, values):
            if value is EmptyData:
                continue
            try:
                until, once = _decode(self.codec.verify_revocation(key, value))
            except SignatureError:
                logger.warning('ignoring revocation %s: its signature does not match', key)
                continue
            except (UnicodeDecodeError, ValueError):
                logger.warning('ignoring revocation %s: unreadable value %r', key, value[:40])
                continue
            if once:
                # delete, not pop: on storages whose reads keep the value
                # (destructive_reads False) a pop would not use it up
                if consume and not self.delete(key):
                    continue  # another worker used up this revoke-once
                return True
            if until is not None and until <= now:
                if consume:
                    self.delete(key)  # lapsed
                continue
            return True
        return False

    def task_revoked(self, task: Task, now: float) -> bool:
        """Is ``task`` revoked (by id or by name)? Uses a revoke-once up."""
        return self.is_revoked(
            [REVOKE_PREFIX + task.id, REVOKE_PREFIX + task.name], now, consume=True
        )

    def ran(self, task: Task) -> None:
        """A revocation of this instance made while it ran no longer applies."""
        self.delete(REVOKE_PREFIX + task.id)
