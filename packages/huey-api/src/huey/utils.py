"""``huey.utils``: time helpers, the stored error and skipped markers, ``FileLock``."""

from huey_api.filelock import FileLock
from huey_api.result import SKIPPED, Error
from huey_api.utils import (
    make_id,
    normalize_expire_time,
    normalize_time,
    resolve_expires,
    to_datetime,
    to_timestamp,
    utcnow,
)

__all__ = [
    'SKIPPED',
    'Error',
    'FileLock',
    'make_id',
    'normalize_expire_time',
    'normalize_time',
    'resolve_expires',
    'to_datetime',
    'to_timestamp',
    'utcnow',
]
