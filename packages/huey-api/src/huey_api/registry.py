"""Which task classes this process knows, by name, and message decoding.

A message is the plain tuple ``Task.to_message`` builds (small and fast to
pickle); ``Message`` names its fields for code that inspects one, such as
``create_message`` / ``create_task``, the registry calls huey users know.
"""

from __future__ import annotations

from typing import NamedTuple

from huey_api.exceptions import SerializationError, UnknownTaskError
from huey_api.task import PeriodicTask, Task

__all__ = ['Message', 'TaskRegistry']


class Message(NamedTuple):
    """A task message with named fields, in ``Task.to_message`` order.

    ``eta`` and ``expires`` are epoch timestamps; ``on_complete`` and
    ``on_error`` are nested Messages; ``chord`` is ``(chord_id, index, size,
    callback_message)`` for a chord member, else None.
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
    chord: tuple | None = None

    @property
    def expires_resolved(self) -> float | None:
        """huey's name for the absolute deadline; ``expires`` already is one."""
        return self.expires

    @classmethod
    def from_tuple(cls, message: tuple) -> Message:
        """Name the fields of a wire tuple (nested pipeline steps too)."""
        fields = cls(*message)
        return fields._replace(
            on_complete=None if fields.on_complete is None else cls.from_tuple(fields.on_complete),
            on_error=None if fields.on_error is None else cls.from_tuple(fields.on_error),
        )

    def to_tuple(self) -> tuple:
        """The plain wire tuple (11 items, 12 for a chord member)."""
        plain = (
            *self[:9],
            None if self.on_complete is None else self.on_complete.to_tuple(),
            None if self.on_error is None else self.on_error.to_tuple(),
        )
        return plain if self.chord is None else plain + (self.chord,)


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
        return Message.from_tuple(task.to_message())

    def create_task(self, message: Message | tuple) -> Task:
        """The Task a Message (or wire tuple) describes; ``UnknownTaskError``
        if it names an unregistered task."""
        if isinstance(message, Message):
            message = message.to_tuple()
        return self.decode(message)

    def decode(self, message) -> Task:
        """Build a ``Task`` from a message tuple of 11 items (12 for a chord member);
        ``UnknownTaskError`` if its name is unknown."""
        if type(message) is not tuple or len(message) != 11:
            if type(message) is tuple and len(message) == 12:
                return self._decode_chord_member(message)
            raise SerializationError(f'not a task message: {message!r:.200}')
        task_class = self._classes.get(message[1])
        if task_class is None:
            task_class = self.get(message[1])  # raises UnknownTaskError
        on_complete, on_error = message[9], message[10]
        return task_class.from_message(
            message,
            None if on_complete is None else self.decode(on_complete),
            None if on_error is None else self.decode(on_error),
        )

    def _decode_chord_member(self, message: tuple) -> Task:
        chord = message[11]
        if (
            type(chord) is not tuple
            or len(chord) != 4
            or type(chord[1]) is not int
            or type(chord[2]) is not int
            or not 0 <= chord[1] < chord[2]
            or type(chord[3]) is not tuple
        ):
            raise SerializationError(f'not a chord member message: {message!r:.200}')
        task = self.decode(message[:11])
        task.chord = chord
        return task
