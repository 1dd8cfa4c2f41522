"""``huey.utils``: time helpers."""

from huey_api.utils import make_id, resolve_expires, to_datetime, to_timestamp

__all__ = ['make_id', 'resolve_expires', 'to_datetime', 'to_timestamp']
