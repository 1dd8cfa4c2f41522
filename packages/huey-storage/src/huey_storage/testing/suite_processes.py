"""Conformance tests: several processes on one backing store, and fork()."""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import time

import pytest

__all__ = ['ProcessContract']

PRODUCERS = 3
CONSUMERS = 3
PER_PRODUCER = 300
STOP = b'<stop>'


def _fork_context():
    if 'fork' not in multiprocessing.get_all_start_methods():
        pytest.skip('needs the fork start method (POSIX)')
    return multiprocessing.get_context('fork')


class ProcessContract:
    """The storage keeps working after fork(), and processes share its queue."""

    def test_storage_keeps_working_in_a_forked_child(self, storage):
        storage.enqueue(b'from-parent')
        storage.put_data('parent', b'1')  # the parent has used its connection
        context = _fork_context()

        def child() -> None:
            message = storage.dequeue()
            storage.put_data('child-saw', message if message is not None else b'nothing')
            storage.enqueue(b'from-child')
            storage.close()

        process = context.Process(target=child, daemon=True)
        process.start()
        process.join(30)
        if process.is_alive():
            process.kill()
            pytest.fail('the forked child hung using the storage')
        assert process.exitcode == 0, 'the child failed (its traceback is in stderr)'
        # the parent's connection survives the child using (and closing) its copy
        assert storage.peek_data('child-saw') == b'from-parent'
        assert storage.dequeue() == b'from-child'
        assert storage.peek_data('parent') == b'1'

    def test_processes_deliver_each_message_once(self, storage, storage_factory):
        context = _fork_context()
        reports = context.Queue()

        def produce(producer: int) -> None:
            handle = storage_factory()
            for i in range(PER_PRODUCER):
                handle.enqueue(b'%d-%d' % (producer, i))
            handle.close()

        def consume(consumer: int) -> None:
            handle = storage_factory()
            received = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                lease = handle.lease(60)
                if lease is None:
                    time.sleep(0.002)
                    continue
                if not handle.ack(lease.receipt):
                    raise AssertionError(f'ack of {lease!r} failed in consumer {consumer}')
                if lease.data == STOP:
                    break
                received.append(lease.data)
            reports.put((consumer, received))
            handle.close()

        producers = [
            context.Process(target=produce, args=(p,), daemon=True) for p in range(PRODUCERS)
        ]
        consumers = [
            context.Process(target=consume, args=(c,), daemon=True) for c in range(CONSUMERS)
        ]
        try:
            for process in producers + consumers:
                process.start()
            for process in producers:
                process.join(60)
                assert process.exitcode == 0, 'a producer failed (see its stderr)'
            for _ in consumers:  # after every real message, so each consumer stops
                storage.enqueue(STOP)
            received = []
            for _ in consumers:
                try:
                    received.extend(reports.get(timeout=60)[1])
                except queue_module.Empty:
                    pytest.fail('a consumer process never reported (see its stderr)')
            for process in consumers:
                process.join(30)
                assert process.exitcode == 0, 'a consumer failed (see its stderr)'
        finally:
            for process in producers + consumers:
                if process.is_alive():
                    process.kill()
        expected = sorted(b'%d-%d' % (p, i) for p in range(PRODUCERS) for i in range(PER_PRODUCER))
        assert sorted(received) == expected  # each exactly once
        assert storage.queue_size() == 0
        assert storage.leased_count() == 0
