"""Key/value data, results and ``wait_data`` of ``RedisStorage``.

Every value is a plain string key ``huey.{name}.kv.<key>`` (results, locks,
counters alike), so ``peek_data`` is one ``GET`` and every write one script.
Result keys are also indexed in a sorted set scored with their expiry (ms,
server clock) or +inf, for ``result_items``/``result_store_size``/
``flush_results``. Every write publishes on ``huey.{name}.notify.<key>``,
which ``wait_data`` subscribes to instead of polling.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Sequence

from huey_storage.base import EmptyData

from huey_storage_redis.scripts import BATCH_SIZE

if TYPE_CHECKING:
    import redis
    from huey_storage.base import _EmptyDataType

    from huey_storage_redis.keys import KeyLayout

__all__ = ['WAIT_RECHECK_INTERVAL', 'DataMethods', 'ttl_ms']

#: wait_data re-reads its key this often even if no wake-up came (seconds)
WAIT_RECHECK_INTERVAL = 5.0


def ttl_ms(ttl: float | None, what: str) -> int:
    """``ttl`` seconds as whole milliseconds for PX/PEXPIRE (0 for None)."""
    if ttl is None:
        return 0
    if not ttl > 0:
        raise ValueError(f'{what} must be a positive number of seconds or None, got {ttl!r}')
    return max(1, math.ceil(ttl * 1000))


class DataMethods:
    """The data half of ``RedisStorage`` (a mixin: needs ``client``, ``keys``,
    ``_run`` and ``_result_ttl_ms``)."""

    client: redis.Redis
    keys: KeyLayout
    _result_ttl_ms: int

    def _run(self, script: str, keys: list, args: list): ...

    def _store(self, receipt: str, key: str | None, value: bytes | None, is_result: bool) -> int:
        """Run store.lua: acknowledge ``receipt`` (if any) and store ``key`` (if any)."""
        keys, args = self._store_call(receipt, key, value, is_result)
        return self._run('store', keys, args)

    def _store_call(
        self, receipt: str, key: str | None, value: bytes | None, is_result: bool
    ) -> tuple[list, list]:
        """The keys and arguments of a store.lua call."""
        has_value = key is not None
        keys = [
            self.keys.leases,
            self.keys.lease_deadlines,
            self.keys.data(key if has_value else ''),
            self.keys.results,
        ]
        args = [
            receipt,
            '1' if has_value else '0',
            value if has_value else b'',
            '1' if is_result else '0',
            self._result_ttl_ms,
            key if has_value else '',
            self.keys.channel(key) if has_value else '',
        ]
        return keys, args

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        self._store('', key, value, is_result)

    def peek_data(self, key: str) -> bytes | _EmptyDataType:
        value = self.client.get(self.keys.data(key))
        return EmptyData if value is None else value

    def peek_data_many(self, keys: Sequence[str]) -> list[bytes | _EmptyDataType]:
        if not keys:
            return []
        values = self.client.mget([self.keys.data(key) for key in keys])
        return [EmptyData if value is None else value for value in values]

    def pop_data(self, key: str) -> bytes | _EmptyDataType:
        value = self._run('pop_data', [self.keys.data(key), self.keys.results], [key])
        return EmptyData if value is None else value

    def wait_data(
        self, key: str, timeout: float | None = None, pop: bool = True
    ) -> bytes | _EmptyDataType:
        """Wait for ``key`` without polling: sleep on its pub/sub channel.

        Every write to a data key publishes on the key's channel. The waiter
        subscribes, then re-reads, so a write between the first read and the
        subscription is not missed; it re-reads at least every
        ``WAIT_RECHECK_INTERVAL`` seconds as a safety net.
        """
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
        return bool(
            self._run(
                'put_if_empty',
                [self.keys.data(key), self.keys.results],
                [value, ttl_ms(ttl, 'put_if_empty ttl'), key, self.keys.channel(key)],
            )
        )

    def delete_data(self, key: str) -> bool:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.keys.data(key))
        pipe.zrem(self.keys.results, key)
        deleted, _ = pipe.execute()
        return bool(deleted)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return self._run(
            'incr',
            [self.keys.data(key), self.keys.results],
            [int(amount), ttl_ms(ttl, 'incr ttl'), key, self.keys.channel(key)],
        )

    def flush_data(self) -> None:
        self._unlink_matching(self.keys.data_pattern())
        self.client.delete(self.keys.results)

    def _unlink_matching(self, pattern: str) -> None:
        batch = []
        for key in self.client.scan_iter(match=pattern, count=BATCH_SIZE):
            batch.append(key)
            if len(batch) >= BATCH_SIZE:
                self.client.unlink(*batch)
                batch = []
        if batch:
            self.client.unlink(*batch)

    # -- results ----------------------------------------------------------

    def _results(self, mode: str):
        return self._run('results', [self.keys.results], [self.keys.data_prefix, mode, BATCH_SIZE])

    def result_store_size(self) -> int:
        return self._results('size')

    def result_items(self) -> dict[str, bytes]:
        flat = self._results('items')
        return {flat[i].decode('utf-8'): flat[i + 1] for i in range(0, len(flat), 2)}

    def flush_results(self) -> None:
        while self._results('flush') >= BATCH_SIZE:
            pass
