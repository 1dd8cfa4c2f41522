"""``FileStorage``: the storage contract in plain files under one directory.

No server and no dependency: for development, tests, or a single machine
with a handful of tasks. Every change takes one exclusive lock (a ``flock`` on
``<path>/.lock``, or a thread lock with ``use_thread_lock=True``), so it is
correct but not fast. Files are written under a temporary name and renamed, so
a reader never sees half a file. Layout under ``path``::

    queue/<priority>-<order>    4-byte delivery count + message
    leases/<receipt>            deadline, priority, delivery count + message; the
                                receipt is 32 hex digits + the owner's name in hex
    owners/<owner in hex>       the owner's heartbeat deadline
    schedule/<due>-<seq>        priority + message
    results/<a>/<b>/<md5(key)>  data keys: 4-byte key length + key + value
    counters/<md5(key)>         "<value> <expiry or ->"
    dead/<seq>                  failed_at, reason + message

Names sort in the order they are read: priority (highest first), then
messages returned to the head (newest first), then the tail in arrival order.
The directory is the namespace: ``name`` does not appear in it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import time
import uuid
from typing import Sequence

from huey_storage.base import (
    BaseStorage,
    DeadLetter,
    EmptyData,
    EmptyDataType,
    Lease,
    Timestamp,
    as_timestamp,
    check_heartbeat,
    check_priority,
    check_ttl,
)
from huey_storage.file_lock import ProcessFileLock
from huey_storage.permissions import DEFAULT_FILE_MODE, check_file_mode, create_directory

__all__ = ['FileStorage']

_MAX_ORDER = 2**64 - 1
_LEASE_HEADER = struct.Struct('>dqI')  # deadline, priority, deliveries
_KEY_LENGTH = struct.Struct('>I')
_EXPIRES = struct.Struct('>d')
_HAS_EXPIRY = 0x80000000  # key-length flag: an expiry follows the key
_DEAD_HEADER = struct.Struct('>dI')  # failed_at, reason length


def _write_atomic(filename: str, payload: bytes) -> None:
    tmp = f'{filename}.{uuid.uuid4().hex[:8]}.tmp'
    with open(tmp, 'wb') as fh:
        fh.write(payload)
    os.replace(tmp, filename)


def _read(filename: str) -> bytes | None:
    try:
        with open(filename, 'rb') as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _unlink(filename: str) -> bool:
    try:
        os.unlink(filename)
        return True
    except FileNotFoundError:
        return False


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode('utf-8') if isinstance(key, str) else bytes(key)


class FileStorage(BaseStorage):
    """Huey storage in the directory ``path``.

    ``levels`` (0-4) is how many directory levels spread the data files;
    ``use_thread_lock`` serialises threads of this process only (one process
    per directory); the default ``flock`` also serialises processes. A
    missing ``path`` is created now, private to its owner (``mode=0o600``
    gives directory 0o700: whoever can write there runs code in the
    consumer); ``mode=None`` leaves it to the umask, and an existing
    directory keeps its permissions.
    """

    blocking = False
    priority = True

    def __init__(
        self,
        name: str = 'huey',
        path: str | os.PathLike | None = None,
        levels: int = 2,
        use_thread_lock: bool = False,
        mode: int | None = DEFAULT_FILE_MODE,
        **kwargs,
    ) -> None:
        super().__init__(name, **kwargs)
        if path is None:
            raise TypeError('FileStorage needs path=, the directory to keep everything in')
        path = os.fspath(path)
        if os.path.exists(path) and not os.path.isdir(path):
            raise ValueError(f'FileStorage path={path!r} is a file: give a directory')
        if not isinstance(levels, int) or not 0 <= levels <= 4:
            raise ValueError(f'FileStorage levels={levels!r}: give 0 to 4 directory levels')
        self.mode = check_file_mode(mode, 'FileStorage')
        create_directory(path, self.mode)
        self.path = path
        self.levels = levels
        self.queue_path = os.path.join(path, 'queue')
        self.lease_path = os.path.join(path, 'leases')
        self.owner_path = os.path.join(path, 'owners')
        self.schedule_path = os.path.join(path, 'schedule')
        self.result_path = os.path.join(path, 'results')
        self.counter_path = os.path.join(path, 'counters')
        self.dead_path = os.path.join(path, 'dead')
        self.lock = ProcessFileLock(os.path.join(path, '.lock'), threads_only=use_thread_lock)

    # -- helpers (the lock is held by the caller) ---------------------------

    def _names(self, directory: str) -> list[str]:
        try:
            return sorted(name for name in os.listdir(directory) if not name.endswith('.tmp'))
        except FileNotFoundError:
            return []

    def _next_seq(self) -> int:
        filename = os.path.join(self.path, '.seq')
        raw = _read(filename)
        seq = int(raw) + 1 if raw else 1
        os.makedirs(self.path, exist_ok=True)
        _write_atomic(filename, str(seq).encode('ascii'))
        return seq

    def _push(self, data: bytes, priority: int, deliveries: int = 1, head: bool = False) -> None:
        seq = self._next_seq()
        order = f'h{_MAX_ORDER - seq:016x}' if head else f't{seq:016x}'
        name = f'{2**63 - 1 - priority:016x}-{order}'
        os.makedirs(self.queue_path, exist_ok=True)
        _write_atomic(os.path.join(self.queue_path, name), struct.pack('>I', deliveries) + data)

    def _pop_head(self) -> tuple[bytes, int, int] | None:
        """The next message as ``(data, priority, deliveries)``, removed from the queue."""
        for name in self._names(self.queue_path):
            filename = os.path.join(self.queue_path, name)
            raw = _read(filename)
            if raw is None:
                continue
            _unlink(filename)
            priority = 2**63 - 1 - int(name.split('-', 1)[0], 16)
            return raw[4:], priority, struct.unpack('>I', raw[:4])[0]
        return None

    def _flush(self, directory: str) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)

    # -- queue ------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        priority = check_priority(priority)
        with self.lock:
            self._push(data, priority)

    def dequeue(self) -> bytes | None:
        with self.lock:
            head = self._pop_head()
        return None if head is None else head[0]

    def queue_size(self) -> int:
        return len(self._names(self.queue_path))

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        with self.lock:
            names = self._names(self.queue_path)
            if limit is not None:
                names = names[: max(limit, 0)]
            raws = [_read(os.path.join(self.queue_path, name)) for name in names]
        return [raw[4:] for raw in raws if raw is not None]

    def flush_queue(self) -> None:
        with self.lock:
            self._flush(self.queue_path)
            self._flush(self.lease_path)
            self._flush(self.owner_path)

    # -- leases -----------------------------------------------------------

    def _lease_file(self, receipt: str) -> str | None:
        if not isinstance(receipt, str) or not receipt.isalnum():
            return None
        return os.path.join(self.lease_path, receipt)

    def _read_lease(self, receipt: str) -> tuple[float, int, int, bytes] | None:
        filename = self._lease_file(receipt)
        raw = None if filename is None else _read(filename)
        if raw is None:
            return None
        deadline, priority, deliveries = _LEASE_HEADER.unpack_from(raw)
        return deadline, priority, deliveries, raw[_LEASE_HEADER.size :]

    def lease(self, timeout: float) -> Lease | None:
        with self.lock:
            head = self._pop_head()
            if head is None:
                return None
            data, priority, deliveries = head
            receipt = uuid.uuid4().hex + (self.lease_owner or '').encode().hex()
            os.makedirs(self.lease_path, exist_ok=True)
            header = _LEASE_HEADER.pack(time.time() + timeout, priority, deliveries)
            _write_atomic(os.path.join(self.lease_path, receipt), header + data)
        return Lease(receipt, data, deliveries)

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        with self.lock:
            if result is not None:
                self._put(result[0], result[1], None)
            filename = self._lease_file(receipt)
            return filename is not None and _unlink(filename)

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        extended = 0
        with self.lock:
            now = time.time()
            for receipt in receipts:
                held = self._read_lease(receipt)
                if held is None or held[0] < now:
                    continue
                _, priority, deliveries, data = held
                header = _LEASE_HEADER.pack(now + timeout, priority, deliveries)
                _write_atomic(self._lease_file(receipt), header + data)
                extended += 1
        return extended

    def release(self, receipt: str) -> bool:
        with self.lock:
            held = self._read_lease(receipt)
            if held is None:
                return False
            _, priority, deliveries, data = held
            self._push(data, priority, deliveries + 1, head=True)
            _unlink(self._lease_file(receipt))
            return True

    def requeue_expired_leases(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        requeued = 0
        with self.lock:
            live = self._live_owners(now)
            for receipt in self._names(self.lease_path):
                held = self._read_lease(receipt)
                owner = receipt[32:]  # hex of the owner's name ('' for none)
                if held is None or (held[0] >= now and (not owner or owner in live)):
                    continue
                _, priority, deliveries, data = held
                self._push(data, priority, deliveries + 1, head=True)
                _unlink(self._lease_file(receipt))
                requeued += 1
        return requeued

    def _live_owners(self, now: float) -> set[str]:
        """Hex names of the owners beating at ``now``; drops the others' records."""
        live = set()
        for name in self._names(self.owner_path):
            raw = _read(os.path.join(self.owner_path, name))
            if raw is not None and _EXPIRES.unpack(raw)[0] >= now:
                live.add(name)
            else:
                _unlink(os.path.join(self.owner_path, name))
        return live

    def heartbeat(self, owner: str, ttl: float) -> None:
        owner, ttl = check_heartbeat(owner, ttl)
        with self.lock:
            os.makedirs(self.owner_path, exist_ok=True)
            filename = os.path.join(self.owner_path, owner.encode().hex())
            _write_atomic(filename, _EXPIRES.pack(time.time() + ttl))

    def leased_count(self) -> int:
        return len(self._names(self.lease_path))

    # -- schedule ---------------------------------------------------------

    def add_to_schedule(self, data: bytes, ts: Timestamp, priority: int | None = None) -> None:
        due = max(0, int(as_timestamp(ts) * 1_000_000))
        priority = check_priority(priority)
        with self.lock:
            name = f'{due:016x}-{self._next_seq():016x}'
            os.makedirs(self.schedule_path, exist_ok=True)
            payload = struct.pack('>q', priority) + data
            _write_atomic(os.path.join(self.schedule_path, name), payload)

    def _pop_due(self, ts: Timestamp) -> list[tuple[bytes, int]]:
        limit = f'{max(0, int(as_timestamp(ts) * 1_000_000)):016x}'
        due = []
        for name in self._names(self.schedule_path):
            if name[:16] > limit:
                break
            filename = os.path.join(self.schedule_path, name)
            raw = _read(filename)
            if raw is not None:
                _unlink(filename)
                due.append((raw[8:], struct.unpack('>q', raw[:8])[0]))
        return due

    def read_schedule(self, ts: Timestamp) -> list[bytes]:
        with self.lock:
            return [data for data, _ in self._pop_due(ts)]

    def enqueue_due(self, ts: Timestamp) -> int:
        with self.lock:
            due = self._pop_due(ts)
            for data, priority in due:
                self._push(data, priority)
        return len(due)

    def schedule_size(self) -> int:
        return len(self._names(self.schedule_path))

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        with self.lock:
            names = self._names(self.schedule_path)
            if limit is not None:
                names = names[: max(limit, 0)]
            raws = [_read(os.path.join(self.schedule_path, name)) for name in names]
        return [raw[8:] for raw in raws if raw is not None]

    def flush_schedule(self) -> None:
        with self.lock:
            self._flush(self.schedule_path)

    # -- key/value data ---------------------------------------------------

    def path_for_key(self, key: str | bytes) -> str:
        """The file holding data ``key``: ``results/<levels hex digits>/<md5>``."""
        digest = hashlib.md5(_key_bytes(key)).hexdigest()
        return os.path.join(self.result_path, *digest[: self.levels], digest)

    def _put(self, key: str | bytes, value: bytes, expires_at: float | None) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f'value {value!r}: data values are bytes')
        raw_key = _key_bytes(key)
        if expires_at is None:
            header = _KEY_LENGTH.pack(len(raw_key)) + raw_key
        else:
            header = (
                _KEY_LENGTH.pack(len(raw_key) | _HAS_EXPIRY) + raw_key + _EXPIRES.pack(expires_at)
            )
        filename = self.path_for_key(raw_key)
        os.makedirs(os.path.dirname(filename), exist_ok=True)
        _write_atomic(filename, header + bytes(value))

    @staticmethod
    def _unpack(raw: bytes | None) -> tuple[str, bytes] | None:
        """``(key, value)`` of a data file, or None if it is missing, cut short or expired."""
        if raw is None or len(raw) < _KEY_LENGTH.size:
            return None
        (length,) = _KEY_LENGTH.unpack_from(raw)
        start = _KEY_LENGTH.size
        key = raw[start : start + (length & ~_HAS_EXPIRY)]
        if len(key) != length & ~_HAS_EXPIRY:
            return None
        start += len(key)
        if length & _HAS_EXPIRY:
            if len(raw) < start + _EXPIRES.size:
                return None
            (expires_at,) = _EXPIRES.unpack_from(raw, start)
            if expires_at <= time.time():
                return None
            start += _EXPIRES.size
        return key.decode('utf-8', 'replace'), raw[start:]

    def _get(self, key: str | bytes) -> bytes | EmptyDataType:
        item = self._unpack(_read(self.path_for_key(key)))
        return EmptyData if item is None else item[1]

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        with self.lock:
            self._put(key, value, None)

    def peek_data(self, key: str) -> bytes | EmptyDataType:
        return self._get(key)

    def pop_data(self, key: str) -> bytes | EmptyDataType:
        with self.lock:
            value = self._get(key)
            _unlink(self.path_for_key(key))
        return value

    def has_data_for_key(self, key: str) -> bool:
        return self._get(key) is not EmptyData

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        ttl = check_ttl(ttl)
        with self.lock:
            if self._get(key) is not EmptyData:
                return False
            self._put(key, value, None if ttl is None else time.time() + ttl)
            return True

    def delete_data(self, key: str) -> bool:
        with self.lock:
            held = self._get(key) is not EmptyData
            _unlink(self.path_for_key(key))
        return held

    def delete_data_if(self, key: str, value: bytes) -> bool:
        with self.lock:
            if self._get(key) != value:
                return False
            _unlink(self.path_for_key(key))
        return True

    def flush_data(self) -> None:
        with self.lock:
            self._flush(self.result_path)

    def _data_files(self):
        for root, _, names in os.walk(self.result_path):
            for name in names:
                if not name.endswith('.tmp'):
                    yield os.path.join(root, name)

    def result_items(self) -> dict[str, bytes]:
        items = {}
        for filename in self._data_files():
            item = self._unpack(_read(filename))
            if item is not None:
                items[item[0]] = item[1]
        return items

    def result_store_size(self) -> int:
        return len(self.result_items())

    # -- counters ---------------------------------------------------------

    def _counter_file(self, key: str | bytes) -> str:
        return os.path.join(self.counter_path, hashlib.md5(_key_bytes(key)).hexdigest())

    @staticmethod
    def _read_counter(filename: str, now: float) -> tuple[int, str | None] | None:
        """``(value, expiry)`` of a live counter file, None when missing or expired."""
        raw = _read(filename)
        if not raw:
            return None
        stored, _, stored_expiry = raw.decode('ascii').partition(' ')
        if stored_expiry == '-':
            return int(stored), None
        if float(stored_expiry) > now:
            return int(stored), stored_expiry
        return None

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        ttl = check_ttl(ttl)
        filename = self._counter_file(key)
        with self.lock:
            now = time.time()
            value, expiry = 0, None if ttl is None else repr(now + ttl)
            live = self._read_counter(filename, now)
            if live is not None:
                value, expiry = live
            value += int(amount)
            os.makedirs(self.counter_path, exist_ok=True)
            _write_atomic(filename, f'{value} {expiry or "-"}'.encode('ascii'))
        return value

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        # no lock: counter files are replaced atomically, a reader sees one version
        now = time.time()
        counters = [self._read_counter(self._counter_file(key), now) for key in keys]
        return [0 if live is None else live[0] for live in counters]

    def delete_counter(self, key: str) -> None:
        with self.lock:
            _unlink(self._counter_file(key))

    def flush_counters(self) -> None:
        with self.lock:
            self._flush(self.counter_path)

    # -- dead letters -----------------------------------------------------

    def _add_dead(self, data: bytes, reason: str) -> str:
        dead_id = f'{self._next_seq():016x}'
        encoded = reason.encode('utf-8')
        os.makedirs(self.dead_path, exist_ok=True)
        payload = _DEAD_HEADER.pack(time.time(), len(encoded)) + encoded + data
        _write_atomic(os.path.join(self.dead_path, dead_id), payload)
        return dead_id

    def _dead_file(self, id: str) -> str | None:
        if not isinstance(id, str) or len(id) != 16 or not id.isalnum():
            return None
        return os.path.join(self.dead_path, id)

    @staticmethod
    def _unpack_dead(id: str, raw: bytes) -> DeadLetter:
        failed_at, length = _DEAD_HEADER.unpack_from(raw)
        start = _DEAD_HEADER.size
        reason = raw[start : start + length].decode('utf-8', 'replace')
        return DeadLetter(id, raw[start + length :], reason, failed_at)

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        with self.lock:
            return self._add_dead(data, reason)

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        with self.lock:
            held = self._read_lease(receipt)
            if held is None:
                return None
            dead_id = self._add_dead(held[3], reason)
            _unlink(self._lease_file(receipt))
            return dead_id

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        with self.lock:
            names = self._names(self.dead_path)
            if limit is not None:
                names = names[: max(limit, 0)]
            letters = []
            for name in names:
                raw = _read(os.path.join(self.dead_path, name))
                if raw is not None:
                    letters.append(self._unpack_dead(name, raw))
        return letters

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        priority = check_priority(priority)
        with self.lock:
            filename = self._dead_file(id)
            raw = None if filename is None else _read(filename)
            if raw is None:
                return False
            self._push(self._unpack_dead(id, raw).data, priority)
            _unlink(filename)
            return True

    def delete_dead_letter(self, id: str) -> bool:
        with self.lock:
            filename = self._dead_file(id)
            return filename is not None and _unlink(filename)

    def flush_dead_letters(self) -> int:
        with self.lock:
            count = len(self._names(self.dead_path))
            self._flush(self.dead_path)
        return count

    def close(self) -> None:
        self.lock.close()
