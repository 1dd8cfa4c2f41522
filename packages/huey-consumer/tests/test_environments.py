"""Worker environments: stop flags, task timeouts per worker type, and the
consumer's signal handling."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from huey_api import TaskTimeout
from huey_consumer import (
    Consumer,
    ForkSafeFlag,
    GreenletEnvironment,
    ProcessEnvironment,
    ThreadEnvironment,
)
from huey_consumer.timeouts import TaskAbandoned


def test_fork_safe_flag_is_seen_by_a_forked_child_and_survives_a_killed_waiter():
    flag = ForkSafeFlag()
    assert not flag.is_set()
    started = time.monotonic()
    assert flag.wait(0.05) is False
    assert time.monotonic() - started >= 0.04
    environment = ProcessEnvironment()
    waiter = environment.create_process(flag.wait, 'waiter')
    waiter.start()
    os.kill(waiter.pid, signal.SIGKILL)  # killed while waiting on the flag
    waiter.join(5)
    flag.set()
    flag.set()
    assert flag.is_set() and flag.wait(0)
    child = environment.create_process(lambda: os._exit(0 if flag.is_set() else 1), 'child')
    child.start()
    child.join(5)
    assert child.exitcode == 0


def test_process_timeout_interrupts_with_sub_second_precision_then_disarms():
    started = time.monotonic()
    with pytest.raises(TaskTimeout, match=r'timeout \(0.15s\)'):
        with ProcessEnvironment().timeout(0.15):
            time.sleep(2)
    assert time.monotonic() - started < 1
    with ProcessEnvironment().timeout(0.1):
        pass
    time.sleep(0.2)  # no alarm left behind


def test_greenlet_timeout_raises_task_timeout():
    import gevent

    with pytest.raises(TaskTimeout, match=r'timeout \(0.05s\)'):
        with GreenletEnvironment().timeout(0.05):
            gevent.sleep(2)


@pytest.mark.parametrize('worker_type', ['thread', 'process', 'greenlet'])
def test_consumer_gives_huey_the_timeout_handler_of_its_workers(huey, worker_type):
    consumer = Consumer(huey, worker_type=worker_type, task_timeout=30)
    assert huey._timeout_handler == consumer.environment.timeout
    assert huey._default_timeout == 30


def _spin(seconds):
    """Python code running ``seconds`` without a blocking call."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def test_thread_timeout_interrupts_python_code_in_the_worker_thread():
    environment = ThreadEnvironment()
    with pytest.raises(TaskTimeout, match=r'timeout \(0.1s\)') as caught:
        with environment.timeout(0.1):
            _spin(10)
    assert 'interrupted by the consumer' in str(caught.value.__cause__)
    with environment.timeout(0.05):
        pass
    _spin(0.2)  # no interruption left behind once the run ended


def test_thread_timeout_holds_when_the_task_swallows_the_exception():
    with pytest.raises(TaskTimeout, match=r'timeout \(0.1s\)'):
        with ThreadEnvironment().timeout(0.1):
            try:
                _spin(10)
            except Exception:
                pass  # a task catching everything still overran


def test_a_run_given_up_on_discards_its_outcome():
    environment = ThreadEnvironment()
    with pytest.raises(TaskAbandoned):
        with environment.timeout(0.05):
            run = environment.deadlines.overdue(threading.get_ident(), time.monotonic() + 60)
            assert run is not None and environment.deadlines.abandon(run)
            time.sleep(0.2)  # blocked in C: interrupted only once it returns


def test_graceful_signal_chooses_which_signal_interrupts(huey):
    consumer = Consumer(huey)
    assert consumer._signal_actions == {
        signal.SIGINT: (False, True),
        signal.SIGTERM: (False, False),
        signal.SIGHUP: (True, True),
    }
    consumer = Consumer(huey, graceful_signal='TERM')
    assert consumer._signal_actions[signal.SIGTERM] == (False, True)
    assert consumer._signal_actions[signal.SIGINT] == (False, False)


def test_a_second_graceful_signal_raises_keyboard_interrupt(huey):
    consumer = Consumer(huey)
    previous = signal.getsignal(signal.SIGINT)
    try:
        consumer._set_signal_handlers()
        consumer._handle_signal(signal.SIGINT, None)
        assert (consumer._graceful, consumer._restart) == (True, False)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        consumer._restore_signal_handlers()
    assert signal.getsignal(signal.SIGINT) == previous
