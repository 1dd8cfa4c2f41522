"""Revoking tasks: one instance by id, or every task of a name.

A revocation is a data key ``r:<task id>`` or ``r:<task name>`` holding
``b'<until timestamp or empty>|<once 0/1>'`` (no pickle), signed for its key
when the application signs: a forged or copied revocation is ignored (and
logged), so whoever writes the storage cannot cancel tasks with one.

A revocation by id expires: an id that never runs (a typo, a task already
done) must not stay forever. It lives ``revoke_id_ttl`` seconds (30 days;
set the attribute on the ``Huey`` to change it), or until its
``revoke_until`` if sooner. Revocations of a task name stay until restored.
Executing a task reads both keys in one ``peek_data_many`` call, but only
when the flag key ``REVOKED_FLAG`` exists: it is written before any
revocation, and a consumer reads it together with each message
(``lease_with_data``), so a queue where nothing was ever revoked costs no
extra round trip per task.
"""

from __future__ import annotations

import logging
import time

from huey_storage import EmptyData

from huey_api.constants import REVOKE_PREFIX, REVOKED_FLAG
from huey_api.exceptions import SignatureError
from huey_api.task import Task, TaskWrapper
from huey_api.utils import frame_timestamp, to_timestamp

__all__ = ['RevocationMixin']

logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))


def _encode_revocation(until: float | None, once: bool) -> bytes:
    return f'{"" if until is None else repr(until)}|{int(once)}'.encode()


def _decode_revocation(value: bytes) -> tuple[float | None, bool]:
    until, _, once = value.decode().partition('|')
    return (float(until) if until else None), once == '1'


class RevocationMixin:
    """Revocation methods of ``Huey``."""

    #: seconds a revocation by id lives (a task id that never runs)
    revoke_id_ttl: float = 30 * 86400.0

    def _revoke_key(self, task_or_id) -> list[str]:
        if hasattr(task_or_id, 'task') and hasattr(task_or_id, 'get'):  # a Result
            task_or_id = task_or_id.task if task_or_id.task is not None else task_or_id.id
        if isinstance(task_or_id, str):
            return [REVOKE_PREFIX + task_or_id]
        if isinstance(task_or_id, Task):
            return [REVOKE_PREFIX + task_or_id.id, REVOKE_PREFIX + task_or_id.name]
        if isinstance(task_or_id, TaskWrapper):
            return [REVOKE_PREFIX + task_or_id.name]
        if isinstance(task_or_id, type) and issubclass(task_or_id, Task):
            return [REVOKE_PREFIX + task_or_id.name]
        raise TypeError(f'{task_or_id!r} is not a task, task class, task function or task id')

    def _put_revocation(self, key: str, revoke_until, revoke_once: bool, ttl=None) -> None:
        until = to_timestamp(revoke_until)
        value = _encode_revocation(until, revoke_once)
        if self.signed:
            value = self.serializer.sign(value, b'r\0' + key.encode('utf8'))
        storage = self.storage
        storage.put_data(REVOKED_FLAG, b'1')  # before the revocation itself
        if ttl is None:
            storage.put_data(key, value)
            return
        if until is not None:
            ttl = min(ttl, until - time.time())
            if ttl <= 0:  # lapsed already: nothing to revoke
                storage.delete_data(key)
                return
        # put_data has no TTL: replace the key with an expiring one (the last
        # of two concurrent revocations wins either way)
        for _ in range(2):
            storage.delete_data(key)
            if storage.put_if_empty(key, value, ttl):
                return

    def revoke_all(self, task_class, revoke_until=None, revoke_once: bool = False) -> None:
        """Revoke every task of this class/name (until a datetime, or just the next one)."""
        self._put_revocation(self._revoke_key(task_class)[-1], revoke_until, revoke_once)

    def restore_all(self, task_class) -> bool:
        return self.storage.delete_data(self._revoke_key(task_class)[-1])

    def revoke_by_id(self, id: str, revoke_until=None, revoke_once: bool = False) -> None:
        """Revoke one task instance by id (for ``revoke_id_ttl`` seconds at most)."""
        self._put_revocation(REVOKE_PREFIX + id, revoke_until, revoke_once, self.revoke_id_ttl)

    def restore_by_id(self, id: str) -> bool:
        return self.storage.delete_data(REVOKE_PREFIX + id)

    def revoke(self, task: Task, revoke_until=None, revoke_once: bool = False) -> None:
        self.revoke_by_id(task.id, revoke_until, revoke_once)

    def restore(self, task: Task) -> bool:
        return self.restore_by_id(task.id)

    def is_revoked(self, task_or_id, timestamp=None, peek: bool = True) -> bool:
        """True if revoked at ``timestamp`` (default now).

        A Task (or its Result) checks its id and its name, a task class or
        function its name, a string an id. ``timestamp`` is in huey's clock
        (see ``Task.eta``). With ``peek=False`` a revoke-once is used up and
        a lapsed revocation deleted.
        """
        keys = self._revoke_key(task_or_id)
        now = time.time() if timestamp is None else frame_timestamp(timestamp, self.utc)
        values = self.storage.peek_data_many(keys)
        return self._revoked(keys, values, now, consume=not peek)

    def _revoked(self, keys, values, now: float, consume: bool) -> bool:
        for key, value in zip(keys, values):
            if value is EmptyData:
                continue
            if self.signed:
                try:
                    value = self.serializer.verify(value, b'r\0' + key.encode('utf8'))
                except SignatureError:
                    logger.warning('ignoring revocation %s: its signature does not match', key)
                    continue
            try:
                until, once = _decode_revocation(value)
            except (UnicodeDecodeError, ValueError):
                logger.warning('ignoring revocation %s: unreadable value %r', key, value[:40])
                continue
            if once:
                # delete, not pop: on storages whose reads keep the value
                # (destructive_reads False) a pop would not use it up
                if consume and not self.storage.delete_data(key):
                    continue  # another worker used up this revoke-once
                return True
            if until is not None and until <= now:
                if consume:
                    self.storage.delete_data(key)  # lapsed
                continue
            return True
        return False
