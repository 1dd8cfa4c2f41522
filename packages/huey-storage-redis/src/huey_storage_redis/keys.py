"""Where a storage keeps things in Redis: every key is namespaced by its name.

All keys of the storage named ``<name>`` start with ``huey.{<name>}.``. The
braces make the name a Redis Cluster hash tag (every key of one storage lands
in one slot, as Lua scripts require) and keep ``name`` from ever reading as a
prefix of another storage's name (``a`` vs ``a.kv``).
"""

from __future__ import annotations

__all__ = ['KeyLayout', 'as_str']

_GLOB_SPECIAL = '\\*?[]'


def _encode_name(name: str) -> str:
    return name.replace('%', '%25').replace('{', '%7B').replace('}', '%7D')


def _escape_glob(text: str) -> str:
    """Escape ``text`` for a SCAN MATCH pattern."""
    return ''.join('\\' + char if char in _GLOB_SPECIAL else char for char in text)


class KeyLayout:
    """The Redis key names of one storage."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.prefix = f'huey.{{{_encode_name(name)}}}.'
        #: list (FIFO, head at the right end) or sorted set (priority)
        self.queue = self.prefix + 'queue'
        #: priority queue only: a list holding one token while the queue is not empty
        self.ready = self.prefix + 'queue.ready'
        #: priority queue only: counter ordering messages of equal priority
        self.queue_seq = self.prefix + 'queue.seq'
        #: hash receipt -> envelope of each leased message
        self.leases = self.prefix + 'leases'
        #: sorted set receipt -> lease deadline (epoch seconds)
        self.lease_deadlines = self.prefix + 'lease_deadlines'
        #: sorted set lease owner -> heartbeat deadline (epoch seconds); a
        #: receipt is ``<owner>/<random>`` when its lease has an owner
        self.lease_owners = self.prefix + 'lease_owners'
        #: sorted set of claim lists (see ``claim``) scored by in-use-until time
        self.claims = self.prefix + 'claims'
        #: sorted set (timestamp) of sequence-prefixed envelopes
        self.schedule = self.prefix + 'schedule'
        self.schedule_seq = self.prefix + 'schedule.seq'
        #: hash id -> record, sorted set id -> id (age order), id counter
        self.dead_letters = self.prefix + 'dead_letters'
        self.dead_letter_order = self.prefix + 'dead_letters.order'
        self.dead_letter_seq = self.prefix + 'dead_letters.seq'
        #: every data value (results, revocations, locks...) is a string key here
        self.data_prefix = self.prefix + 'kv.'
        #: counters (incr) are string keys of their own, apart from data keys
        self.counter_prefix = self.prefix + 'counter.'
        #: pub/sub channels announcing a write to one data key (wait_data)
        self.channel_prefix = self.prefix + 'notify.'
        #: lists announcing a stored result (notify_result=True, as huey)
        self.notify_prefix = self.prefix + 'result_ready.'
        #: the five keys every queue script receives first (see queue_lib.lua)
        self.queue_keys = [
            self.queue,
            self.ready,
            self.queue_seq,
            self.leases,
            self.lease_deadlines,
        ]

    def data(self, key: str | bytes) -> str:
        """The Redis key holding data ``key``."""
        return self.data_prefix + as_str(key)

    def counter(self, key: str | bytes) -> str:
        """The Redis key holding counter ``key``."""
        return self.counter_prefix + as_str(key)

    def claim(self, owner: str) -> str:
        """The claim list of one blocking client (a thread of one process):
        ``BLMOVE`` hands it a message that ``claim.lua`` then leases."""
        return self.prefix + 'claim.' + owner

    def channel(self, key: str | bytes) -> str:
        """The pub/sub channel announcing writes to data ``key``."""
        return self.channel_prefix + as_str(key)

    def notification(self, key: str | bytes) -> str:
        """The list a stored result pushes a token on (``notify_result=True``)."""
        return self.notify_prefix + as_str(key)

    def pattern(self, suffix: str = '*') -> str:
        """A SCAN MATCH pattern for this storage's keys (``suffix`` is a glob)."""
        return _escape_glob(self.prefix) + suffix

    def data_pattern(self) -> str:
        """A SCAN MATCH pattern for every data key."""
        return _escape_glob(self.data_prefix) + '*'

    def counter_pattern(self) -> str:
        """A SCAN MATCH pattern for every counter."""
        return _escape_glob(self.counter_prefix) + '*'


def as_str(key: str | bytes) -> str:
    """A data key as ``str`` (huey's callers also pass UTF-8 ``bytes``)."""
    return key.decode('utf-8') if isinstance(key, bytes) else key
