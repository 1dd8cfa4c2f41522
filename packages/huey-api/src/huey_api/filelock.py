"""``FileLock``: an exclusive lock between processes on one machine, held
with ``flock`` on a lock file (used by file-based storages)."""

from __future__ import annotations

import os
import threading
import warnings

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ['FileLock']


class FileLock:
    """``with FileLock(path):`` holds an exclusive ``flock`` on ``path``.

    The lock file is created on first ``acquire`` (its folder at
    construction) and never deleted, so building another lock on the same
    path cannot pull the file from under a holder. Each thread opens its own
    descriptor: threads sharing one would release each other's lock.
    """

    def __init__(self, filename: str) -> None:
        if fcntl is None:
            warnings.warn(
                f'FileLock({filename!r}): this platform has no fcntl, so the lock '
                'does not exclude other processes; use another storage',
                stacklevel=2,
            )
        self.filename = filename
        self._local = threading.local()
        folder = os.path.dirname(filename)
        if folder:
            os.makedirs(folder, exist_ok=True)

    def acquire(self) -> None:
        fd = os.open(self.filename, os.O_CREAT | os.O_RDWR)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._local.fd = fd

    def release(self) -> None:
        fd = getattr(self._local, 'fd', None)
        if fd is None:
            return
        self._local.fd = None
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.release()
