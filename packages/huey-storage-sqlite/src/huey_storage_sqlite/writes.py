"""Group commit: the writes of one storage's threads that queue up while another
thread writes are committed together, in one transaction.

A commit costs far more than the statements it commits (the WAL frames of
every page the transaction changed, the lock calls of ``BEGIN IMMEDIATE``),
and the consumer's workers all touch the same few pages (the head of the
queue, its indexes). So a thread that takes the turn to write (the *leader*)
also runs the writes that other threads of the same storage submitted
meanwhile, in one ``BEGIN IMMEDIATE`` ... ``COMMIT``; each caller returns
only after the commit that holds its write, so a write that returned is as
durable as before and a crash loses only writes whose call had not returned.
A lone write (no one waiting: a single worker, a quiet producer) runs exactly
as it would alone: one statement in autocommit, or its own transaction.

If a batch fails (a statement raises, or the commit does), nothing of it was
committed; every write of the batch then runs again on its own, so each
caller gets its own outcome and one bad write never fails another's. Only
writes of one storage are combined: another storage on the same file may
have other settings (``fsync``...), and takes turns through the file's
``WriteLock`` as before.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from typing import TYPE_CHECKING, Callable, TypeVar

from huey_storage_sqlite.connection import is_busy

if TYPE_CHECKING:
    from huey_storage_sqlite.connection import ConnectionPool

__all__ = ['GroupCommit']

logger = logging.getLogger(__name__)

T = TypeVar('T')

_group_commits: weakref.WeakSet[GroupCommit] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for group in list(_group_commits):
        group.reset()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Write:
    """One submitted write: ``body(conn)``, in a transaction of its own if ``atomic``."""

    __slots__ = ('atomic', 'body', 'done', 'error', 'lead', 'result', 'wake')

    def __init__(self, body: Callable[[sqlite3.Connection], object], atomic: bool) -> None:
        self.body = body
        self.atomic = atomic
        self.done = False
        self.result: object = None
        self.error: BaseException | None = None
        #: its thread holds the lead (and must pass it on)
        self.lead = False
        #: held while the write waits; released when it is done or its
        #: thread gets the lead
        self.wake = threading.Lock()

    def finish(self, result: object = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True


class GroupCommit:
    """Runs the writes of one ``ConnectionPool``'s threads, combining those that wait.

    One thread at a time leads: it runs its write and every write waiting
    when it starts, then wakes each of their threads (done) and passes the
    lead to the first write that arrived meanwhile. A waiting thread is
    woken once, directly, by the thread that finished its write. A thread
    interrupted while waiting (a signal, a greenlet's timeout) withdraws its
    write, or passes on the lead it was given.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self.reset()
        _group_commits.add(self)

    def reset(self) -> None:
        """Fresh state (also in a forked child: a parent thread's lead and
        waiting writes do not exist there)."""
        self._guard = threading.Lock()
        self._waiting: list[_Write] = []
        self._leading = False

    def run(self, body: Callable[[sqlite3.Connection], T], atomic: bool) -> T:
        """Run ``body(conn)`` as a write: alone (``atomic``: in a ``BEGIN
        IMMEDIATE`` transaction, else in autocommit, so ``body`` must then be
        one statement) or with other waiting writes in one transaction.
        Returns its value or raises its error once its commit is done."""
        write = _Write(body, atomic)
        with self._guard:
            if self._leading:
                write.wake.acquire()
                self._waiting.append(write)
            else:
                self._leading = write.lead = True
        try:
            if not write.lead:
                write.wake.acquire()  # until done, or given the lead
            if write.lead:
                self._lead_batch(write)
        except BaseException:
            self._withdraw(write)
            raise
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[return-value]

    def _lead_batch(self, write: _Write) -> None:
        batch = [write]
        try:
            with self._guard:
                batch, self._waiting = [write, *self._waiting], []
            self._lead(batch)
        finally:
            with self._guard:
                # Interrupted (a BaseException in this thread): the others'
                # writes not run yet go first, to the next leader.
                self._waiting[:0] = [other for other in batch[1:] if not other.done]
                successor = self._pass_lead(write)
            for other in batch[1:]:
                if other.done:
                    other.wake.release()
            if successor is not None:
                successor.wake.release()

    def _pass_lead(self, write: _Write) -> _Write | None:
        """With the guard held: ``write``'s thread gives up the lead; the
        first waiting write (returned, to be woken) gets it."""
        write.lead = False
        successor = self._waiting.pop(0) if self._waiting else None
        if successor is not None:
            successor.lead = True
        self._leading = successor is not None
        return successor

    def _withdraw(self, write: _Write) -> None:
        """``write``'s thread was interrupted: it leaves the queue of waiting
        writes, or passes on the lead if it held it. (A write already taken
        into a batch is still run; its outcome is lost with the caller.)"""
        successor = None
        with self._guard:
            if write in self._waiting:
                self._waiting.remove(write)
            elif write.lead:
                successor = self._pass_lead(write)
        if successor is not None:
            successor.wake.release()

    def _lead(self, batch: list[_Write]) -> None:
        pool = self._pool
        with pool.writer.lock:
            if len(batch) > 1:
                try:
                    results = pool.run(lambda conn: self._commit_together(conn, batch))
                except Exception as exc:
                    if is_busy(exc):  # still locked by another process: for all of them
                        for write in batch:
                            write.finish(error=exc)
                        return
                    logger.debug('a combined write failed (%s); running each alone', exc)
                else:
                    for write, result in zip(batch, results):
                        write.finish(result)
                    return
            for write in batch:
                try:
                    write.finish(pool.run(self._alone(write)))
                except Exception as exc:
                    write.finish(error=exc)

    def _alone(self, write: _Write) -> Callable[[sqlite3.Connection], object]:
        """The operation running ``write`` as if no other write were waiting."""
        if not write.atomic:
            return write.body
        filename = self._pool.filename
        return lambda conn: _in_transaction(conn, lambda: write.body(conn), filename)

    def _commit_together(self, conn: sqlite3.Connection, batch: list[_Write]) -> list:
        return _in_transaction(
            conn, lambda: [write.body(conn) for write in batch], self._pool.filename
        )


def _in_transaction(conn: sqlite3.Connection, body: Callable[[], T], filename: str) -> T:
    """``body()`` between ``BEGIN IMMEDIATE`` and ``COMMIT``; rolled back if anything fails."""
    conn.execute('BEGIN IMMEDIATE')
    try:
        result = body()
        conn.execute('COMMIT')
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute('ROLLBACK')
            except sqlite3.Error:
                logger.exception('%s: ROLLBACK failed', filename)
        raise
    return result
