"""Which of the storage's data keys are task results, and what they hold.

The storage lists every data key as a result (``huey.all_results()``, as huey
counts them): besides task results that is huey-api's bookkeeping
(revocations, the "something was revoked" flag, locks) and this package's own
event slots, heartbeats and settings. The CLI, the dashboard and the metrics
show only task results, by the rule of ``task_results``.
"""

from __future__ import annotations

from typing import Any

from huey_storage import EmptyData

from .records import PREFIX

__all__ = ['decode_result', 'is_monitor_key', 'short_repr', 'stored_result', 'task_results']

_REPR_LIMIT = 200


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to a length a table cell can show."""
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + '...'


def is_monitor_key(key: str) -> bool:
    """True for the keys this package stores its own records under."""
    return key.startswith(PREFIX)


def _names_missing_code(exc: BaseException) -> bool:
    """True when decoding failed on code this process lacks (the payload was
    fine: a class or module it names cannot be imported here)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ImportError, AttributeError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def decode_result(huey: Any, key: str, data: bytes) -> dict | None:
    """``{'value': repr or None, 'error': text or None}`` of a stored result,
    or None when ``data`` is not something the application's serializer wrote
    (for ``key``: a signing application signs each value for its key).

    The rule, and why it goes by the value rather than the key: a result is
    what huey-api stored through the serializer (the task's value or its
    ``Error``, under the task id), while bookkeeping values are raw markers
    (``b'1'``, ``b'<until>|<once>'``) or this package's JSON, which the
    serializer refuses. Keys cannot tell them apart: a task id may be any
    string the caller chose, and huey-api's key layout is its own business
    (it may change), whereas the serializer is the contract both sides share.
    A payload that fails only because it names code missing in this process
    is still a result, shown with the error. Values the application stored
    itself with ``huey.put()`` are serialized too, and listed, as huey does;
    so is a chord member's value while it waits for the chord's callback.
    """
    try:
        value = huey.deserialize_value(key, data)
    except Exception as exc:
        if _names_missing_code(exc):
            return {'value': None, 'error': f'cannot decode: {exc!r}'}
        return None
    if type(value).__name__ == 'Error' and hasattr(value, 'metadata'):
        return {'value': None, 'error': short_repr(value.metadata.get('error'))}
    return {'value': short_repr(value), 'error': None}


def task_results(huey: Any, limit: int | None = None) -> dict[str, dict]:
    """``{key: decode_result(...)}`` of the stored task results, by key, at
    most ``limit`` (decoding stops there).

    Reads every data key (one ``result_items()`` call); the monitor's own keys
    are skipped by name without decoding them.
    """
    found: dict[str, dict] = {}
    for key, data in sorted(huey.all_results().items()):
        if limit is not None and len(found) >= limit:
            break
        if is_monitor_key(key):
            continue
        decoded = decode_result(huey, key, data)
        if decoded is not None:
            found[key] = decoded
    return found


def stored_result(huey: Any, key: str) -> dict | None:
    """``decode_result`` of the value at ``key`` (left in place); None when
    nothing, or nothing that is a task result, is stored there."""
    if is_monitor_key(key):
        return None
    data = huey.storage.peek_data(key)
    if data is EmptyData:
        return None
    return decode_result(huey, key, data)
