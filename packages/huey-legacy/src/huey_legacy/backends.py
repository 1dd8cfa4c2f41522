"""The 0.x/1.x backend interfaces (``huey.backends.base``), deprecated.

A backend written against these classes keeps working: huey-legacy adapts it
to today's storage contract (``huey_legacy.adapters``). Messages and values
are ``bytes``; timestamps given to a schedule are epoch seconds (floats).
New backends should implement ``huey_storage.BaseStorage`` instead.
"""

from __future__ import annotations

from typing import Any

from huey_storage import EmptyData

from huey_legacy.deprecation import deprecated

__all__ = ['BaseDataStore', 'BaseEventEmitter', 'BaseQueue', 'BaseSchedule', 'EmptyData']


#: huey_legacy module -> the legacy import path users know it by
_LEGACY_MODULES = {
    'huey_legacy.backends': 'huey.backends.base',
    'huey_legacy.redis_backend': 'huey.backends.redis_backend',
}


def _legacy_name(cls: type) -> str:
    """``huey.backends.base.BaseQueue`` for a user's subclass of it."""
    for klass in cls.__mro__:
        if klass.__module__ in _LEGACY_MODULES and not klass.__name__.startswith('_'):
            return f'{_LEGACY_MODULES[klass.__module__]}.{klass.__name__}'
    return cls.__qualname__


class _Legacy:
    """Keeps ``name`` and the connection keywords; warns once per legacy class."""

    _replacement = 'a huey_storage.BaseStorage subclass'

    def __init__(self, name: str, **connection: Any) -> None:
        deprecated(_legacy_name(type(self)), self._replacement, stacklevel=4)
        self.name = name
        self.connection = connection

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.name!r}>'


class BaseQueue(_Legacy):
    """Deprecated: a FIFO of messages. Implement ``write`` and ``read``.

    ``blocking`` True means ``read()`` itself waits a little for a message,
    so the consumer does not sleep between empty reads.
    """

    blocking = False

    def write(self, data: bytes) -> None:
        """Append ``data`` to the queue."""
        raise NotImplementedError

    def read(self) -> bytes | None:
        """Remove and return the oldest message; None when empty (never raise)."""
        raise NotImplementedError

    def remove(self, data: bytes) -> int:
        """Remove every copy of ``data``; returns how many were removed."""
        raise NotImplementedError

    def flush(self) -> None:
        """Optional: delete every message."""
        raise NotImplementedError

    def __len__(self) -> int:
        """Optional: number of waiting messages."""
        raise NotImplementedError


class BaseDataStore(_Legacy):
    """Deprecated: a key/value store for results. Implement ``put`` and ``get``
    (``peek`` too when reading without removing is cheap)."""

    def put(self, key: str, value: bytes) -> None:
        """Store ``value`` at ``key``."""
        raise NotImplementedError

    def peek(self, key: str) -> Any:
        """The value at ``key`` (kept), or ``EmptyData``."""
        value = self.get(key)
        if value is not EmptyData and value is not None:
            self.put(key, value)
        return value

    def get(self, key: str) -> Any:
        """Remove and return the value at ``key``, or ``EmptyData`` (a stored
        value can be falsy, so a missing one is told apart)."""
        raise NotImplementedError

    def flush(self) -> None:
        """Delete every key."""
        raise NotImplementedError


class BaseSchedule(_Legacy):
    """Deprecated: tasks waiting for their time (``ts``: epoch seconds)."""

    def add(self, data: bytes, ts: float) -> None:
        """Keep ``data`` until ``ts``."""
        raise NotImplementedError

    def read(self, ts: float) -> list[bytes]:
        """Remove and return every item due at or before ``ts``."""
        raise NotImplementedError

    def flush(self) -> None:
        """Delete every item."""
        raise NotImplementedError


class BaseEventEmitter(_Legacy):
    """Deprecated: publishes task events (JSON text, see ``huey_legacy.events``)."""

    _replacement = 'huey.signal() receivers'

    def __init__(self, channel: str, **connection: Any) -> None:
        super().__init__(channel, **connection)
        self.channel = channel

    def emit(self, message: str) -> None:
        """Publish one event."""
        raise NotImplementedError
