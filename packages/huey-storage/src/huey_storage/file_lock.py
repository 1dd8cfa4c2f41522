"""``ProcessFileLock``: one lock shared by the threads and processes using a directory.

Threads of one process take a ``threading.Lock`` first, so the process's
single lock-file descriptor is only ever flocked by one thread at a time (a
descriptor shared by contending threads could be unlocked by the wrong one and
leave the lock held for good). After ``os.fork()`` the child opens its own
descriptor and lock, since ``flock`` locks belong to the open file, which the
child would otherwise share with its parent.
"""

from __future__ import annotations

import os
import threading

try:
    import fcntl
except ImportError:  # Windows: threads of one process are still serialised
    fcntl = None

__all__ = ['ProcessFileLock']


class ProcessFileLock:
    """Exclusive lock on ``filename`` across threads and processes (a context manager).

    With ``threads_only`` (or where ``fcntl`` is missing) only the threads of
    this process are serialised.
    """

    def __init__(self, filename: str, threads_only: bool = False) -> None:
        self.filename = filename
        self.threads_only = threads_only or fcntl is None
        self._pid = None
        self._fd = None
        self._thread_lock = threading.Lock()

    def _renew_after_fork(self) -> None:
        pid = os.getpid()
        if self._pid != pid:
            # another thread may have held the old lock at fork time: a fresh one
            self._thread_lock = threading.Lock()
            self._fd = None
            self._pid = pid

    def __enter__(self) -> ProcessFileLock:
        self._renew_after_fork()
        self._thread_lock.acquire()
        if self.threads_only:
            return self
        try:
            if self._fd is None:
                os.makedirs(os.path.dirname(self.filename) or '.', exist_ok=True)
                self._fd = os.open(self.filename, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.threads_only and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        """Close the lock file's descriptor (it is reopened on next use)."""
        with self._thread_lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
