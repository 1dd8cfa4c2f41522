"""The consumer heartbeat: a consumer that stops beating has its leases
reclaimed by the others at once, a beating one keeps them."""

from __future__ import annotations

from helpers import wait_for
from huey_api import MemoryHuey
from huey_consumer.leases import Heartbeat, consumer_id
from huey_storage import check_heartbeat


def test_consumer_ids_are_valid_unique_lease_owners():
    first, second = consumer_id(), consumer_id()
    assert first != second
    assert check_heartbeat(first, 1)[0] == first


def test_a_silent_consumers_leases_are_reclaimed_by_a_beating_one():
    huey = MemoryHuey('heartbeat-tests')
    dead = Heartbeat(huey, ttl=0.3)
    dead.beat()
    huey.enqueue(huey.task()(lambda: None).s())
    leased = huey.reserve()
    assert leased.deliveries == 1
    alive = Heartbeat(huey)
    assert alive.beat() == 0  # the other one still vouches for its lease
    # ``dead`` never beats again (a SIGKILL): once its beat lapses, the next beat reclaims
    wait_for(lambda: alive.beat() == 1, message="the silent consumer's lease reclaimed")
    again = huey.reserve()
    assert (again.task.id, again.deliveries) == (leased.task.id, 2)
    assert alive.beat() == 0  # a beating consumer keeps its own lease


def test_a_stopped_consumer_gives_up_its_leases_at_once():
    huey = MemoryHuey('heartbeat-tests')
    stopping = Heartbeat(huey)
    stopping.beat()
    huey.enqueue(huey.task()(lambda: None).s())
    huey.reserve()
    stopping.stop()
    assert Heartbeat(huey).beat() == 1
