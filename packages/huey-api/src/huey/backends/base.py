"""``huey.backends.base``: the 0.x/1.x backend interfaces (deprecated), from huey-legacy."""

from huey._optional import load

_names = ['BaseDataStore', 'BaseEventEmitter', 'BaseQueue', 'BaseSchedule', 'EmptyData']
globals().update(
    {n: load('huey.backends.base', 'huey_legacy.backends', n, 'huey-legacy') for n in _names}
)

__all__ = _names
