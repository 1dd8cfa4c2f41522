"""``huey.consumer``: the consumer, from the huey-consumer distribution."""

from huey._optional import load

Consumer = load('huey.consumer', 'huey_consumer', 'Consumer', 'huey-consumer')

__all__ = ['Consumer']
