"""``huey.registry``: the task registry (``huey._registry``) and its messages."""

from huey_api.registry import Message
from huey_api.registry import TaskRegistry as Registry

__all__ = ['Message', 'Registry']
