"""Which task classes this process knows, by name, and message decoding."""

from __future__ import annotations

from huey_api.exceptions import SerializationError, UnknownTaskError
from huey_api.task import PeriodicTask, Task

__all__ = ['TaskRegistry']


class TaskRegistry:
    """Task classes by name. Messages name their task; this maps them back."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Task]] = {}
        self._periodic: dict[str, type[PeriodicTask]] = {}

    def register(self, task_class: type[Task]) -> None:
        self._classes[task_class.name] = task_class
        if issubclass(task_class, PeriodicTask):
            self._periodic[task_class.name] = task_class
        else:
            self._periodic.pop(task_class.name, None)

    def unregister(self, task_class: type[Task]) -> bool:
        self._periodic.pop(task_class.name, None)
        return self._classes.pop(task_class.name, None) is not None

    def names(self) -> list[str]:
        return sorted(self._classes)

    def periodic_tasks(self) -> list[type[PeriodicTask]]:
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
