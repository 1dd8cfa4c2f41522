"""Find the application's Huey from ``package.module.huey`` (or ``package.module:huey``)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__all__ = ['AppLoadError', 'load_app']


class AppLoadError(Exception):
    """The path does not name a Huey instance; the message says what to fix."""


def load_app(path: str) -> Any:
    """Import ``path`` and return the Huey it names (the current directory is importable)."""
    from huey_api import Huey

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, sep, attribute = path.partition(':') if ':' in path else path.rpartition('.')
    if not sep or not module_name or not attribute:
        raise AppLoadError(f'{path!r}: expected module.attribute, e.g. myapp.tasks.huey')
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + '.')):
            raise AppLoadError(
                f'{path!r}: no module named {module_name!r} (run from the directory that '
                'contains it, or add it to PYTHONPATH)'
            ) from None
        raise AppLoadError(f'{path!r}: importing {module_name!r} failed: {exc}') from None
    except Exception as exc:
        raise AppLoadError(f'{path!r}: importing {module_name!r} failed: {exc!r}') from None
    try:
        huey = getattr(module, attribute)
    except AttributeError:
        raise AppLoadError(f'{path!r}: module {module_name!r} has no {attribute!r}') from None
    if not isinstance(huey, Huey):
        raise AppLoadError(f'{path!r} is a {type(huey).__name__}, not a Huey instance')
    return huey
