"""MemoryStorage behaviour beyond the shared contract."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from huey_storage import BaseStorage, EmptyData, MemoryStorage
from huey_storage.testing import StorageConformance
from huey_storage.testing._helpers import wait_until


def test_is_a_non_blocking_priority_storage():
    storage = MemoryStorage()
    assert isinstance(storage, BaseStorage)
    assert storage.name == 'huey'
    assert (storage.blocking, storage.priority) == (False, True)
    assert repr(storage) == "<MemoryStorage 'huey'>"


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match='MemoryStorage got unexpected options: colour'):
        MemoryStorage('huey', colour='blue')


def test_instances_share_nothing_even_with_one_name():
    first, second = MemoryStorage('same'), MemoryStorage('same')
    first.enqueue(b'x')
    first.put_data('k', b'v')
    assert second.dequeue() is None
    assert second.peek_data('k') is EmptyData


def test_incr_keeps_the_ttl_it_was_created_with():
    storage = MemoryStorage()
    assert storage.incr('n', ttl=0.2) == 1
    assert storage.incr('n') == 2  # no ttl given: the first one still holds
    wait_until(lambda: storage.incr('n', 0) == 0, message='counter expiring')


def test_counters_are_a_plain_dict_of_ints():
    """huey's own tests look at ``_counters`` to check chords clean up."""
    storage = MemoryStorage()
    storage.incr('chord', 2)
    assert storage._counters == {'chord': 2}
    storage.delete_counter('chord')
    assert storage._counters == {}


def test_usable_in_a_child_forked_while_another_thread_held_the_lock():
    if 'fork' not in multiprocessing.get_all_start_methods():
        pytest.skip('needs the fork start method (POSIX)')
    storage = MemoryStorage()
    storage.enqueue(b'before-fork')
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with storage._lock:
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        context = multiprocessing.get_context('fork')

        def child():
            assert storage.dequeue() == b'before-fork'
            storage.put_data('k', b'v')
            assert storage.peek_data('k') == b'v'

        process = context.Process(target=child, daemon=True)
        process.start()
        process.join(30)
        if process.is_alive():
            process.kill()
            pytest.fail('the child deadlocked on the lock held at fork time')
        assert process.exitcode == 0
    finally:
        release.set()
        holder.join()
    assert storage.dequeue() == b'before-fork'  # the child had its own copy


class _FifoMemoryStorage(MemoryStorage):
    """A storage that ignores priorities, to run the suite's FIFO-only branch."""

    priority = False

    def _push_tail(self, data, priority, deliveries=1):
        super()._push_tail(data, 0, deliveries)

    def _push_head(self, held, deliveries):
        super()._push_head(held._replace(priority=0), deliveries)


class TestSuiteOnAFifoOnlyStorage(StorageConformance):
    """The conformance suite accepts a storage without priorities, and a test class
    with the single-handle contract only (no storage_factory)."""

    @pytest.fixture
    def storage(self):
        yield _FifoMemoryStorage('fifo')
