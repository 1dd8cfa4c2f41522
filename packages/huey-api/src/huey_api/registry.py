"""Which task classes this process knows, by name, and building tasks from
messages (``message.Message``)."""

from __future__ import annotations

from typing import Any

from huey_api.exceptions import UnknownTaskError
from huey_api.message import Message
from huey_api.task import PeriodicTask, Task

__all__ = ['Message', 'TaskRegistry']


def _module_qualified(task_class: type[Task]) -> str:
    """The name huey would register ``task_class`` under: its module, a dot,
    then its name (a default name already starts with the module)."""
    module = task_class.__module__
    name = task_class.name
    return name if name.startswith(module + '.') else f'{module}.{name}'


class TaskRegistry:
    """Task classes by name. Messages name their task; this maps them back."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Task]] = {}
        self._qualified: dict[str, type[Task]] = {}
        self._periodic: dict[str, type[PeriodicTask]] = {}

    def register(self, task_class: type[Task]) -> None:
        """Add ``task_class``; ``ValueError`` if its name is taken.

        Two tasks of one module may not share a name either way it is spelt
        (``name='add'`` in module ``app`` and the default-named ``app.add``),
        as huey refuses them too.
        """
        name, qualified = task_class.name, _module_qualified(task_class)
        taken = self._classes.get(name) or self._qualified.get(qualified)
        if taken is not None:
            raise ValueError(
                f'task name {name!r} is already registered (by {taken.func!r}): '
                'pass a different name= to @huey.task()'
            )
        self._classes[name] = task_class
        self._qualified[qualified] = task_class
        if issubclass(task_class, PeriodicTask):
            self._periodic[name] = task_class

    def unregister(self, task_class: type[Task]) -> bool:
        """Forget ``task_class``; False if it was not registered."""
        name = task_class.name
        if self._classes.get(name) is not task_class:
            return False
        del self._classes[name]
        del self._qualified[_module_qualified(task_class)]
        self._periodic.pop(name, None)
        return True

    def names(self) -> list[str]:
        """The registered task names, sorted."""
        return sorted(self._classes)

    @property
    def periodic_tasks(self) -> list[type[PeriodicTask]]:
        """The registered periodic task classes."""
        return list(self._periodic.values())

    def __contains__(self, name: str) -> bool:
        return name in self._classes

    def __len__(self) -> int:
        return len(self._classes)

    def get(self, name: str) -> type[Task]:
        try:
            return self._classes[name]
        except KeyError:
            module = name.rpartition('.')[0] or name
            raise UnknownTaskError(
                f'task {name!r} is not registered in this process: import the module that '
                f'defines it ({module}) in the module holding your huey instance, so the '
                'consumer registers it'
            ) from None

    # huey's spelling of the two lookups
    def task_to_string(self, task_class: type[Task]) -> str:
        return task_class.name

    string_to_task = get

    def create_message(self, task: Task) -> Message:
        """``task`` as a Message; ``UnknownTaskError`` if its class is not registered."""
        if self._classes.get(task.name) is not type(task):
            raise UnknownTaskError(
                f'task {task.name!r} is not registered in this huey: '
                'decorate its function with @huey.task() on this instance'
            )
        return task.to_message()

    def create_task(self, message: Message | tuple) -> Task:
        """The Task a Message (or wire tuple) describes; ``UnknownTaskError``
        if it names an unregistered task."""
        if not isinstance(message, Message):
            message = Message.decode(message)
        classes = self._classes
        if message.on_complete is None and message.on_error is None:  # one step
            return (classes.get(message.name) or self.get(message.name)).from_message(message)
        steps = [message]
        while steps[-1].on_complete is not None:
            steps.append(steps[-1].on_complete)
        task = None
        for step in reversed(steps):
            on_error = None if step.on_error is None else self.create_task(step.on_error)
            task_class = classes.get(step.name) or self.get(step.name)
            task = task_class.from_message(step, task, on_error)
        return task

    def decode(self, wire: Any) -> Task:
        """The Task a deserialized wire tuple describes: ``SerializationError``
        if it is not a valid message, ``UnknownTaskError`` if its name is unknown."""
        return self.create_task(Message.decode(wire))
