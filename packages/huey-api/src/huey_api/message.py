"""The task message: what a task is on the wire, in one place.

``Message`` names every field; ``encode()`` gives the plain tuple that is
serialized and ``Message.decode()`` checks and names one read back. The wire
tuple is small and fast to pickle (a tuple of plain values, no class
reference)::

    (id, name, eta, retries, retry, priority, expires, args, kwargs,
     on_complete, on_error)            # + (chord,) for a chord member

``eta`` is an epoch timestamp or None. ``retry`` is ``retry_delay``, or
``(retry_delay, retry_backoff, timeout)`` when either of those is set;
``expires`` is None or ``(deadline timestamp, expires as given)``, so a
relative expiry can be resolved again when the task is re-enqueued.
``on_complete`` and ``on_error`` are nested wire tuples or None. ``chord`` is
``(chord_id, index, size, callback)``, ``callback`` a wire tuple. Messages
written by earlier versions have this same layout.

Decoding checks the type of every field, so a message that unpickles but
is malformed is refused with ``SerializationError`` naming the field
(the consumer dead-letters it) instead of failing later inside a worker.
Pipelines are walked in loops, never by recursion, so a long pipeline
decodes and encodes at any length.
"""

from __future__ import annotations

import datetime
import math
import reprlib
from typing import Any, NamedTuple

from huey_api.exceptions import SerializationError

__all__ = ['Chord', 'Message', 'encode_steps']

_NUMBER = (int, float)
_new_tuple = tuple.__new__
#: the lengths of a wire tuple: a plain task, a chord member
_PLAIN, _MEMBER = 11, 12


class Chord(NamedTuple):
    """A chord member's place: ``callback`` runs once all ``size`` members are done."""

    id: str
    index: int
    size: int
    callback: Message

    def encode(self) -> tuple:
        return (self.id, self.index, self.size, self.callback.encode())

    @classmethod
    def decode(cls, wire: Any) -> Chord:
        if (
            type(wire) is not tuple
            or len(wire) != 4
            or type(wire[0]) is not str
            or type(wire[1]) is not int
            or type(wire[2]) is not int
            or not 0 <= wire[1] < wire[2]
            or type(wire[3]) is not tuple
        ):
            raise SerializationError(
                'not a task message: field chord must be (id, index, size, callback), '
                f'not {_clip(wire)}'
            )
        return cls(wire[0], wire[1], wire[2], Message.decode(wire[3]))


class Message(NamedTuple):
    """One task (and its pipeline) with named fields.

    ``eta`` and ``expires`` are epoch timestamps (``expires_given`` is the
    expiry as the caller gave it); ``on_complete`` and ``on_error`` are
    Messages; ``chord`` is a ``Chord`` for a chord member, else None.
    """

    id: str
    name: str
    eta: float | None
    retries: int
    retry_delay: float
    priority: int | None
    expires: float | None
    args: tuple
    kwargs: dict
    on_complete: Message | None = None
    on_error: Message | None = None
    chord: Chord | None = None
    retry_backoff: float = 0
    timeout: float | None = None
    expires_given: Any = None

    @property
    def expires_resolved(self) -> float | None:
        """huey's name for the absolute deadline; ``expires`` already is one."""
        return self.expires

    def encode(self) -> tuple:
        """The plain wire tuple (11 items, 12 for a chord member)."""
        return encode_steps(self)

    @classmethod
    def decode(cls, wire: Any) -> Message:
        """Name and check a wire tuple; ``SerializationError`` names what is wrong."""
        if type(wire) is tuple and len(wire) == _PLAIN and wire[9] is None:  # one step
            return _decode_one(cls, wire, None)
        steps = [_check_shape(wire)]
        while steps[-1][9] is not None:
            steps.append(_check_shape(steps[-1][9]))
        message = None
        for step in reversed(steps):
            message = _decode_one(cls, step, message)
        return message


def encode_steps(first: Any) -> tuple:
    """The wire tuple of ``first`` and the steps after it (``on_complete``).

    Reads the fields by name from a ``Message`` or, on the enqueue hot path,
    straight from a ``Task`` (whose attributes ``eta_ts``, ``expires_ts``,
    ``expires`` stand for ``eta``, ``expires``, ``expires_given``), so a
    task is encoded without building a Message first.
    """
    if first.on_complete is None:  # the common case: one step
        return _encode_step(first, None)
    steps = [first]
    while steps[-1].on_complete is not None:
        steps.append(steps[-1].on_complete)
    wire = None
    for step in reversed(steps):
        wire = _encode_step(step, wire)
    return wire


def _encode_step(step: Any, on_complete: tuple | None) -> tuple:
    if type(step) is Message:
        eta, deadline, given = step.eta, step.expires, step.expires_given
    else:
        eta, deadline, given = step.eta_ts, step.expires_ts, step.expires
    retry = step.retry_delay
    if step.retry_backoff or step.timeout is not None:
        retry = (retry, step.retry_backoff, step.timeout)
    on_error = step.on_error
    wire = (
        step.id,
        step.name,
        eta,
        step.retries,
        retry,
        step.priority,
        None if deadline is None else (deadline, given),
        step.args,
        step.kwargs,
        on_complete,
        None if on_error is None else encode_steps(on_error),
    )
    if step.chord is not None:
        wire += (step.chord.encode(),)
    return wire


def _check_shape(wire: Any) -> tuple:
    if type(wire) is not tuple or len(wire) not in (_PLAIN, _MEMBER):
        raise SerializationError(f'not a task message: {_clip(wire)}')
    return wire


def _decode_one(cls: type[Message], wire: tuple, on_complete: Message | None) -> Message:
    id, name, eta, retries, retry, priority, expires, args, kwargs, _, on_error = wire[:11]
    if (  # the common shape, checked in one expression (the worker's hot path)
        type(id) is str
        and id
        and type(name) is str
        and name
        and (eta is None or (type(eta) is float and eta - eta == 0))
        and type(retries) is int
        and retries >= 0
        and type(retry) is float
        and retry - retry == 0
        and retry >= 0
        and (priority is None or type(priority) is int)
        and expires is None
        and type(args) is tuple
        and type(kwargs) is dict
        and (not kwargs or all(type(key) is str for key in kwargs))
    ):
        backoff, timeout, deadline, given = 0, None, None, None
    else:
        retry, backoff, timeout, deadline, given = _check_fields(wire)
    return _new_tuple(  # Message(...) without its argument parsing: the worker's hot path
        cls,
        (
            id,
            name,
            eta,
            retries,
            retry,
            priority,
            deadline,
            args,
            kwargs,
            on_complete,
            None if on_error is None else cls.decode(on_error),
            Chord.decode(wire[11]) if len(wire) == _MEMBER else None,
            backoff,
            timeout,
            given,
        ),
    )


def _check_fields(wire: tuple) -> tuple:
    """Check each field, raising for the first wrong one; the unpacked
    ``(retry_delay, retry_backoff, timeout, expires deadline, expires as given)``."""
    id, name, eta, retries, retry, priority, expires, args, kwargs = wire[:9]
    _require(type(id) is str and id, 'id', id, 'a non-empty string')
    _require(type(name) is str and name, 'name', name, 'a non-empty string')
    _require(eta is None or _finite(eta), 'eta', eta, 'None or epoch seconds')
    _require(type(retries) is int and retries >= 0, 'retries', retries, 'an int >= 0')
    backoff, timeout = 0, None
    if type(retry) is tuple and len(retry) == 3:
        retry, backoff, timeout = retry
        _require(_finite(backoff) and backoff >= 0, 'retry_backoff', backoff, 'a number >= 0')
        _require(
            timeout is None or (_finite(timeout) and timeout >= 0),
            'timeout',
            timeout,
            'None or seconds >= 0',
        )
    _require(_finite(retry) and retry >= 0, 'retry_delay', retry, 'seconds >= 0')
    _require(priority is None or _is_int(priority), 'priority', priority, 'None or an int')
    deadline = given = None
    if expires is not None:
        _require(
            type(expires) is tuple and len(expires) == 2 and _finite(expires[0]),
            'expires',
            expires,
            '(deadline, expires as given)',
        )
        deadline, given = expires
        _require(
            given is None
            or _finite(given)
            or isinstance(given, (datetime.datetime, datetime.timedelta)),
            'expires',
            given,
            'seconds, a timedelta or a datetime',
        )
    _require(type(args) is tuple, 'args', args, 'a tuple')
    _require(
        type(kwargs) is dict and all(type(key) is str for key in kwargs),
        'kwargs',
        kwargs,
        'a dict with string keys',
    )
    return retry, backoff, timeout, deadline, given


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return type(value) in _NUMBER and math.isfinite(value)


def _require(ok: Any, field: str, value: Any, expected: str) -> None:
    if not ok:
        raise SerializationError(
            f'not a task message: field {field} must be {expected}, not {_clip(value)}'
        )


_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother = 2, 60, 60


def _clip(value: Any) -> str:
    """A short description of ``value`` that cannot fail or grow large."""
    try:
        text = _short.repr(value)
    except Exception:
        return f'<unprintable {type(value).__name__}>'
    return text if len(text) <= 120 else text[:117] + '...'
