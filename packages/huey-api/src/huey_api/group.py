"""``group``: enqueue several task signatures in one storage round trip."""
from __future__ import annotations

from huey_api.result import ResultGroup
from huey_api.task import Task

__all__ = ['group']


def group(*tasks: Task) -> ResultGroup | None:
    """Enqueue ``add.s(1, 2), mul.s(3, 4), ...`` together (one
    ``storage.enqueue_many``) and return their ``ResultGroup`` in order.

    Every task must belong to the same ``Huey``; ``huey.group(tasks)`` is the
    same as a method.
    """
    if not tasks:
        raise ValueError('group(): pass at least one task signature, e.g. add.s(1, 2)')
    for task in tasks:
        if not isinstance(task, Task):
            raise TypeError(f'group({task!r}): pass task signatures made with .s(...)')
    huey = tasks[0].huey
    others = {t.huey.name for t in tasks if t.huey is not huey}
    if others:
        raise ValueError(f'group(): tasks belong to different Huey instances '
                         f'({huey.name!r} and {sorted(others)!r}); group each separately')
    return huey.enqueue_many(tasks)
