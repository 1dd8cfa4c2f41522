"""Key/value data, results and ``wait_data`` of ``RedisStorage``.

Every value is a plain string key ``huey.{name}.kv.<key>`` (results,
revocations, locks alike), so ``peek_data`` is one ``GET`` and every write one
script; counters are ``huey.{name}.counter.<key>`` (read back with one
``MGET``). ``result_items`` lists the data keys with SCAN. Every write
publishes on ``huey.{name}.notify.<key>``, which ``wait_data`` subscribes to
instead of polling.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Sequence

from huey_storage.base import EmptyData, check_ttl

from huey_storage_redis.keys import as_str
from huey_storage_redis.scripts import BATCH_SIZE

if TYPE_CHECKING:
    import redis
    from huey_storage.base import EmptyDataType

    from huey_storage_redis.keys import KeyLayout

__all__ = ['WAIT_RECHECK_INTERVAL', 'DataMethods', 'ttl_ms']

#: wait_data re-reads its key this often even if no wake-up came (seconds)
WAIT_RECHECK_INTERVAL = 5.0


def ttl_ms(ttl: float | None, what: str) -> int:
    """``ttl`` seconds as whole milliseconds for PX/PEXPIRE (0 for None)."""
    ttl = check_ttl(ttl, what)
    return 0 if ttl is None else max(1, math.ceil(ttl * 1000))


class DataMethods:
    """The data half of ``RedisStorage`` (a mixin: needs ``client``, ``keys``,
    ``_run``, ``_result_ttl_ms``, ``notify_result`` and ``notify_result_ttl``)."""

    client: redis.Redis
    keys: KeyLayout
    _result_ttl_ms: int
    #: counters created without a ttl expire after this many ms (0 = never)
    _counter_ttl_ms: int = 0
    notify_result: bool = False
    notify_result_ttl: float = 60
    #: False makes put_if_empty(ttl=...) refuse, as huey does on old servers
    supports_hash_ttl: bool = True

    def _run(self, script: str, keys: list, args: list): ...

    def _store(self, receipt: str, key: str | None, value: bytes | None, is_result: bool) -> int:
        """Run store.lua: acknowledge ``receipt`` (if any) and store ``key`` (if any)."""
        keys, args = self._store_call(receipt, key, value, is_result)
        stored = self._run('store', keys, args)
        if is_result and key is not None and self.notify_result:
            self._notify(key)
        return stored

    def _store_call(
        self, receipt: str, key: str | None, value: bytes | None, is_result: bool
    ) -> tuple[list, list]:
        """The keys and arguments of a store.lua call."""
        has_value = key is not None
        keys = [
            self.keys.leases,
            self.keys.lease_deadlines,
            self.keys.data(key if has_value else ''),
        ]
        args = [
            receipt,
            '1' if has_value else '0',
            value if has_value else b'',
            self._result_ttl_ms if is_result else 0,
            self.keys.channel(key) if has_value else '',
        ]
        return keys, args

    def _notify(self, key: str) -> None:
        """Push a token a ``wait_result`` caller pops (``notify_result=True``)."""
        name = self.keys.notification(key)
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(name, b'1')
        pipe.expire(name, max(1, math.ceil(self.notify_result_ttl)))
        pipe.execute()

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        self._store('', as_str(key), value, is_result)

    def peek_data(self, key: str) -> bytes | EmptyDataType:
        value = self.client.get(self.keys.data(key))
        return EmptyData if value is None else value

    def peek_data_many(self, keys: Sequence[str]) -> list[bytes | EmptyDataType]:
        if not keys:
            return []
        values = self.client.mget([self.keys.data(key) for key in keys])
        return [EmptyData if value is None else value for value in values]

    def pop_data(self, key: str) -> bytes | EmptyDataType:
        value = self._run('pop_data', [self.keys.data(key)], [])
        return EmptyData if value is None else value

    def wait_result(self, key: str, timeout: float | None = None) -> bool:
        """With ``notify_result``, wait on the result's token list (and consume
        it); otherwise wait on the key's pub/sub channel (``wait_data``)."""
        if not self.notify_result:
            return self.wait_data(key, timeout, pop=False) is not EmptyData
        if self.has_data_for_key(key):
            return True
        name = self.keys.notification(key)
        if self.client.blpop([name], timeout=timeout or 0) is not None:
            self.client.delete(name)
            return True
        return self.has_data_for_key(key)

    def wait_data(
        self, key: str, timeout: float | None = None, pop: bool = True
    ) -> bytes | EmptyDataType:
        """Wait for ``key`` without polling: sleep on its pub/sub channel.

        Every write to a data key publishes on the key's channel. The waiter
        subscribes, then re-reads, so a write between the first read and the
        subscription is not missed; it re-reads at least every
        ``WAIT_RECHECK_INTERVAL`` seconds as a safety net.
        """
        key = as_str(key)
        read = self.pop_data if pop else self.peek_data
        value = read(key)
        if value is not EmptyData or (timeout is not None and timeout <= 0):
            return value
        give_up = None if timeout is None else time.monotonic() + timeout

        def remaining() -> float:
            if give_up is None:
                return WAIT_RECHECK_INTERVAL
            return min(WAIT_RECHECK_INTERVAL, give_up - time.monotonic())

        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.keys.channel(key))
            while remaining() > 0:  # the subscription is live once confirmed
                message = pubsub.get_message(timeout=remaining())
                if message is None or message['type'] == 'subscribe':
                    break
            while True:
                value = read(key)
                if value is not EmptyData:
                    return value
                wait = remaining()
                if wait <= 0:
                    return EmptyData
                pubsub.get_message(timeout=wait)
        finally:
            pubsub.close()

    def has_data_for_key(self, key: str) -> bool:
        return bool(self.client.exists(self.keys.data(key)))

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if ttl is not None and not self.supports_hash_ttl:
            raise NotImplementedError(
                f'put_if_empty({key!r}, ttl={ttl!r}): this storage was set to refuse '
                'TTLs (supports_hash_ttl=False); call it without ttl'
            )
        return bool(
            self._run(
                'put_if_empty',
                [self.keys.data(key)],
                [value, ttl_ms(ttl, 'put_if_empty ttl'), self.keys.channel(key)],
            )
        )

    def delete_data(self, key: str) -> bool:
        return bool(self.client.delete(self.keys.data(key)))

    def delete_data_if(self, key: str, value: bytes) -> bool:
        return bool(self._run('delete_if', [self.keys.data(key)], [value]))

    def flush_data(self) -> None:
        self._unlink_matching(self.keys.data_pattern())

    def _unlink_matching(self, pattern: str) -> None:
        batch = []
        for key in self.client.scan_iter(match=pattern, count=BATCH_SIZE):
            batch.append(key)
            if len(batch) >= BATCH_SIZE:
                self.client.unlink(*batch)
                batch = []
        if batch:
            self.client.unlink(*batch)

    # -- counters -----------------------------------------------------------

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        ttl_in_ms = ttl_ms(ttl, 'incr ttl') if ttl is not None else self._counter_ttl_ms
        return self._run('incr', [self.keys.counter(key)], [int(amount), ttl_in_ms])

    def counter_key(self, key: str | bytes) -> str:
        """The Redis key holding counter ``key``."""
        return self.keys.counter(key)

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        values = self.client.mget([self.keys.counter(key) for key in keys])
        return [0 if value is None else int(value) for value in values]

    def delete_counter(self, key: str) -> None:
        self.client.delete(self.keys.counter(key))

    def flush_counters(self) -> None:
        self._unlink_matching(self.keys.counter_pattern())

    # -- results ----------------------------------------------------------

    def result_key(self, key: str | bytes) -> str:
        """The Redis key holding data ``key``."""
        return self.keys.data(key)

    def result_items(self) -> dict[str, bytes]:
        prefix = len(self.keys.data_prefix)
        items = {}
        names = list(self.client.scan_iter(match=self.keys.data_pattern(), count=BATCH_SIZE))
        for start in range(0, len(names), BATCH_SIZE):
            chunk = names[start : start + BATCH_SIZE]
            for name, value in zip(chunk, self.client.mget(chunk)):
                if value is not None:  # expired since the scan
                    items[name.decode('utf-8')[prefix:]] = value
        return items

    def result_keys(self) -> list[str]:
        prefix = len(self.keys.data_prefix)
        names = self.client.scan_iter(match=self.keys.data_pattern(), count=BATCH_SIZE)
        return [name.decode('utf-8')[prefix:] for name in names]

    def result_store_size(self) -> int:
        return len(self.result_keys())  # names only: counting needs no values
