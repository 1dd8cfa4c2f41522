"""``group`` and ``chord``: several task signatures enqueued together, and a
callback run with all of their return values.

Neither is enqueued when built; ``huey.enqueue(group(...))`` returns a
``ResultGroup`` and ``huey.enqueue(chord(...))`` a ``ChordResult``.

How a chord completes: each member message carries a ``message.Chord``;
the protocol is described once, in the ``chords`` module.
"""

from __future__ import annotations

from typing import Any, Iterable

from huey_api.message import Chord
from huey_api.result import ChordResult, Result, ResultGroup
from huey_api.task import Task, TaskWrapper, signature
from huey_api.utils import make_id

__all__ = ['chord', 'group']


def _signatures(where: str, tasks, more: tuple, nested: bool = False) -> list:
    """``tasks`` as a list of signatures (and chords, when ``nested``),
    checked to share one ``Huey``."""
    if more or isinstance(tasks, (Task, TaskWrapper)):
        items = [tasks, *more]
    else:
        try:
            items = list(tasks)
        except TypeError:
            items = [tasks]
    for task in items:
        if isinstance(task, group):
            raise TypeError(
                f'{where}({task!r}): a group cannot be a member; make it a chord '
                'with .then(callback) first'
            )
        if not isinstance(task, Task) and not (nested and isinstance(task, chord)):
            raise TypeError(
                f'{where}({task!r}): pass task signatures made with .s(...), e.g. add.s(1, 2)'
            )
    heads = [item.callback if isinstance(item, chord) else item for item in items]
    if heads:
        _check_huey(f'{where}()', heads[0].huey, heads)
    return items


def _signature(where: str, task, args: tuple, kwargs: dict) -> Task:
    """A Task from a task function plus arguments, or a signature they extend."""
    if not isinstance(task, (Task, TaskWrapper)):
        raise TypeError(f'{where}({task!r}): pass a task function or a signature made with .s(...)')
    return signature(task, args, kwargs)


def _check_huey(where: str, huey, tasks: list[Task]) -> None:
    others = {t.huey.name for t in tasks if t.huey is not huey}
    if others:
        raise ValueError(
            f'{where}: tasks belong to different Huey instances '
            f'({huey.name!r} and {sorted(others)!r}); keep the tasks of each '
            'Huey together and enqueue them with it'
        )


class group:  # noqa: N801 - lower case like the reference API
    """Task signatures to enqueue together: ``group([add.s(1, 2), mul.s(3, 4)])``
    (``group(add.s(1, 2), mul.s(3, 4))`` works too).

    ``huey.enqueue(g)`` sends them in one ``storage.enqueue_many`` round trip
    and returns their ``ResultGroup`` in order.
    """

    def __init__(self, tasks: Iterable[Task] | Task, *more: Task) -> None:
        self.tasks = _signatures('group', tasks, more)

    def then(self, task, *args: Any, **kwargs: Any) -> chord:
        """A ``chord`` of these tasks whose callback is ``task(results, *args, **kwargs)``."""
        return chord(self.tasks, _signature('group.then', task, args, kwargs))

    def error(self, task, *args: Any, **kwargs: Any) -> group:
        """Give every member the error handler ``task`` (each gets its own copy)."""
        template = _signature('group.error', task, args, kwargs)
        for member in self.tasks:
            member.error(template.copy())
        return self

    def _enqueue_in(self, huey) -> ResultGroup | None:
        _check_huey('enqueue(group)', huey, self.tasks)
        return huey.enqueue_many(self.tasks)

    def __repr__(self) -> str:
        return f'<group of {len(self.tasks)} tasks>'


class chord:  # noqa: N801 - lower case like the reference API
    """Run ``callback`` once every task has finished, with the list of their
    return values (in task order) appended to its arguments::

        huey.enqueue(chord([add.s(1, 2), add.s(3, 4)], tot.s(extra=100)))
        # -> tot([3, 7], extra=100)

    ``callback`` is a signature (a task function is called with no other
    arguments). ``then``/``error`` add pipeline steps / an error handler to
    the callback.
    """

    def __init__(self, tasks: Iterable, callback) -> None:
        self.tasks = _signatures('chord', tasks, (), nested=True)
        self.callback = _signature('chord', callback, (), {})
        if self.tasks:
            _check_huey('chord()', self._heads()[0].huey, [self.callback])

    def then(self, task, *args: Any, **kwargs: Any) -> chord:
        """Run ``task`` after the callback, with its return value (a pipeline)."""
        self.callback.then(task, *args, **kwargs)
        return self

    def error(self, task, *args: Any, **kwargs: Any) -> chord:
        """Run ``task`` with the exception if the callback fails for good."""
        self.callback.error(task, *args, **kwargs)
        return self

    def _enqueue_in(self, huey) -> ChordResult:
        """Enqueue the members in order (plain ones in batches); a member that
        is a chord itself counts through its callback's last step."""
        _check_huey('enqueue(chord)', huey, [*self._heads(), self.callback])
        callback = self.callback
        results = []
        if not self.tasks:
            huey.enqueue(callback.copy(id=callback.id, args=callback.args + ([],)))
        else:
            chord_id, size, message = make_id(), len(self.tasks), callback.to_message()
            batch = []
            for index, member in enumerate(self.tasks):
                membership = Chord(chord_id, index, size, message)
                if isinstance(member, chord):
                    if batch:
                        huey.enqueue_many(batch)
                        batch = []
                    member.callback.chord = membership  # travels with the inner callback
                    results.append(member._enqueue_in(huey).callback_tail)
                else:
                    member.chord = membership
                    batch.append(member)
                    results.append(Result(huey, member.chain()[-1]))
            if batch:
                huey.enqueue_many(batch)
        pipeline = [Result(huey, step) for step in callback.chain()]
        return ChordResult(
            # a pipeline member's value is its last step's
            ResultGroup(results),
            pipeline[0],  # one handle: reading either reads both
            ResultGroup(pipeline) if len(pipeline) > 1 else None,
        )

    def _heads(self) -> list[Task]:
        return [member.callback if isinstance(member, chord) else member for member in self.tasks]

    def __repr__(self) -> str:
        return f'<chord of {len(self.tasks)} tasks -> {self.callback!r}>'
