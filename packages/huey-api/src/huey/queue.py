"""``huey.queue``: the 0.x ``Invoker`` and ``AsyncData`` (deprecated), from huey-legacy."""

from huey._optional import load

Invoker = load('huey.queue', 'huey_legacy.queue', 'Invoker', 'huey-legacy')
AsyncData = load('huey.queue', 'huey_legacy.queue', 'AsyncData', 'huey-legacy')

__all__ = ['AsyncData', 'Invoker']
