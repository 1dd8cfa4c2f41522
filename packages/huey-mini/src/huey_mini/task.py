"""The wrapper the ``MiniHuey.task()`` decorator puts around a function."""

from __future__ import annotations

import datetime as _dt
import functools
from typing import TYPE_CHECKING, Any, Callable

from .result import MiniResult

if TYPE_CHECKING:
    from .minihuey import MiniHuey

__all__ = ['MiniTask']


class MiniTask:
    """A decorated function: calling it runs the function in a new greenlet.

    ``task(*args, **kwargs)`` returns a :class:`MiniResult` at once;
    ``task.schedule(...)`` runs it later (needs the scheduler, see
    ``MiniHuey.start()``); ``task.call_local(...)`` calls the function
    directly in the current greenlet.
    """

    def __init__(
        self,
        huey: MiniHuey,
        func: Callable[..., Any],
        validate_func: Callable[[_dt.datetime], bool] | None = None,
    ) -> None:
        self.huey = huey
        self.func = func
        self.validate_func = validate_func
        self.name: str = getattr(func, '__name__', repr(func))
        functools.update_wrapper(self, func)

    @property
    def periodic(self) -> bool:
        """True when the task runs by itself on its validator's minutes."""
        return self.validate_func is not None

    def __call__(self, *args: Any, **kwargs: Any) -> MiniResult:
        """Run the task now in a new greenlet; returns its result handle."""
        return self.huey._run_now(self, args, kwargs)

    def schedule(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        eta: _dt.datetime | None = None,
        delay: float | _dt.timedelta | None = None,
    ) -> MiniResult:
        """Run the task at ``eta`` (a datetime) or after ``delay`` seconds.

        Exactly one of ``eta`` and ``delay`` must be given. The task runs on
        the first scheduler check at or after that time, so the scheduler
        must be running (``MiniHuey.start()``).
        """
        if (eta is None) == (delay is None):
            raise ValueError(
                f'{self.name}.schedule() needs exactly one of eta= or delay= '
                f'(got eta={eta!r}, delay={delay!r}); call the task directly to run it now'
            )
        if args is not None and not isinstance(args, (tuple, list)):
            raise ValueError(f'{self.name}.schedule(args={args!r}): args must be a tuple or list')
        if kwargs is not None and not isinstance(kwargs, dict):
            raise ValueError(f'{self.name}.schedule(kwargs={kwargs!r}): kwargs must be a dict')
        return self.huey._run_later(self, tuple(args or ()), dict(kwargs or {}), eta, delay)

    def call_local(self, *args: Any, **kwargs: Any) -> Any:
        """Call the undecorated function in the current greenlet."""
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        kind = f'periodic {self.validate_func!r}' if self.periodic else 'task'
        return f'<MiniTask {self.name} ({kind}) of {self.huey.name!r}>'
