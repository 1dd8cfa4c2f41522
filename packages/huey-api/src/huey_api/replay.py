"""A signed message runs once: copies of it are refused.

Only with a signing key, and so paid only then. Every signed payload carries
a random nonce and its signing time (``serializer``), so two messages are
never byte-equal unless one is a copy. When a worker takes a message it
claims the message's signature with ``put_if_empty`` on a data key that
expires after ``huey.replay_window`` (one more round trip per task). A
claim that already exists means the message was taken before:

* on a redelivery (``deliveries > 1``: its worker died) it runs again, as
  at-least-once delivery promises;
* on a first delivery it is a copy: dead-lettered as replayed, not run.

A message signed longer than ``replay_window`` ago, and not due for longer
than that (its eta), is refused as stale: its claim may have expired, so
only the window bounds how long a copy could be replayed. Messages signed
again by the application (retries, scheduling, ``requeue_dead_letter``) are
new messages. ``release`` (SIGTERM) gives the claim back with the message.

Limits: the window is judged by the consumer's clock against the
producer's, so clocks must agree to well within it; a backlog older than the
window (consumers stopped for longer) is dead-lettered as stale, and
``huey.requeue_dead_letter`` signs it afresh. Whoever writes the storage can
still delete or reorder messages; only running forged or copied ones is
prevented.
"""

from __future__ import annotations

import time

from huey_api.constants import SEEN_PREFIX

__all__ = ['claim', 'requeue_dead_letter', 'unclaim']


def claim(
    storage, serializer, window: float, data: bytes, eta: float | None, deliveries: int
) -> tuple[str | None, str | None]:
    """Claim a verified signed message; ``(claim key, None)`` when it may run,
    ``(None, reason)`` when it is a replay or stale (``window``: the Huey's
    ``replay_window``)."""
    signed_at = serializer.signed_at(data)
    newest = signed_at if eta is None else max(signed_at, eta)
    age = time.time() - newest
    if age > window:
        return None, (
            f'stale signed message: signed {age:.0f}s ago, over replay_window='
            f'{window:g}s (requeue_dead_letter signs it afresh)'
        )
    key = SEEN_PREFIX + serializer.signature(data).hex()
    if storage.put_if_empty(key, b'1', window) or deliveries > 1:
        return key, None
    return None, 'replayed message: this signed message was already taken once'


def unclaim(storage, key: str) -> None:
    """Give back a claim (a message returned to the queue unrun)."""
    storage.delete_data(key)


def requeue_dead_letter(huey, id: str) -> bool:
    """``huey.requeue_dead_letter`` when signing: a letter with a valid
    signature goes back signed afresh; any other as it is (and is refused again)."""
    letter = next((item for item in huey.storage.dead_letters() if str(item.id) == str(id)), None)
    if letter is None:
        return False
    try:
        task = huey.deserialize_task(letter.data)
    except Exception:
        return huey.storage.requeue_dead_letter(id)
    if not huey.storage.delete_dead_letter(id):
        return False  # requeued or deleted meanwhile
    huey.storage.enqueue(huey.serialize_task(task), task.priority)
    return True
