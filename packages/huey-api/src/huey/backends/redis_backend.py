"""``huey.backends.redis_backend``: the 0.x/1.x Redis backends (deprecated), from huey-legacy."""

from huey._optional import load

_names = [
    'RedisBlockingQueue',
    'RedisDataStore',
    'RedisEventEmitter',
    'RedisQueue',
    'RedisSchedule',
]
globals().update(
    {
        n: load('huey.backends.redis_backend', 'huey_legacy.redis_backend', n, 'huey-legacy')
        for n in _names
    }
)

__all__ = _names
