"""Find the Huey instance named by an import path such as ``myapp.tasks.huey``."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__all__ = ['CONFIGURATION_HOOK', 'HueyImportError', 'load_configuration', 'load_huey']


class HueyImportError(Exception):
    """The import path does not lead to a Huey instance (message is one line)."""


def _huey_class() -> type:
    from huey_api import Huey

    return Huey


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f'{type(exc).__name__}: {text.splitlines()[0]}' if text else type(exc).__name__


def _is_missing(module_name: str, exc: ModuleNotFoundError) -> bool:
    """True if ``module_name`` itself (or a parent package) does not exist, as
    opposed to the module failing to import one of its own dependencies."""
    missing = exc.name or ''
    return module_name == missing or module_name.startswith(missing + '.')


def _import(module_name: str, path: str) -> Any | None:
    """The imported module, or None if it does not exist."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if _is_missing(module_name, exc):
            return None
        raise HueyImportError(
            f'error importing module {module_name!r} (from {path!r}): {_first_line(exc)}'
        ) from exc
    except Exception as exc:
        raise HueyImportError(
            f'error importing module {module_name!r} (from {path!r}): {_first_line(exc)}'
        ) from exc


def _no_module(module_name: str, path: str) -> HueyImportError:
    return HueyImportError(
        f'cannot import module {module_name!r} (from {path!r}): no such '
        'module in the current directory or on PYTHONPATH'
    )


#: Class method through which a configuration object (huey-legacy's 0.x
#: ``BaseConfiguration``, run as ``huey_consumer.py main.Configuration``) gives
#: the Huey to run; its ``consumer_settings`` dict holds Consumer options
#: plus ``logfile`` and ``loglevel``, applied where the command line is silent.
CONFIGURATION_HOOK = 'huey_consumer_configuration'


def load_configuration(obj: Any) -> Any:
    """The Huey a configuration object names through ``CONFIGURATION_HOOK``;
    any other object is returned as it is."""
    hook = getattr(obj, CONFIGURATION_HOOK, None)
    if not callable(hook):
        return obj
    try:
        return hook()
    except Exception as exc:
        raise HueyImportError(
            f'configuration {getattr(obj, "__qualname__", obj)!r} failed: {_first_line(exc)}'
        ) from exc


def load_huey(path: str, add_cwd: bool = True) -> Any:
    """Return the Huey instance at ``path`` (``module.attr``, ``package.module.attr``
    or ``module:attr``); the current directory goes first on ``sys.path``.

    Raises ``HueyImportError`` with a one-line message naming the bad part.
    """
    if add_cwd:
        cwd = os.getcwd()
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        importlib.invalidate_caches()
    if ':' in path:
        module_name, _, attrs = path.partition(':')
        if not module_name or not attrs:
            raise HueyImportError(
                f'{path!r} is not an import path: write module:attribute, for example myapp:huey'
            )
        module = _import(module_name, path)
        if module is None:
            raise _no_module(module_name, path)
        rest = attrs.split('.')
    else:
        parts = path.split('.')
        if len(parts) < 2 or not all(parts):
            raise HueyImportError(
                f'{path!r} is not an import path to a Huey instance: write '
                'module.attribute, for example myapp.huey'
            )
        # the longest prefix that is a module; the rest are attributes
        for cut in range(len(parts) - 1, 0, -1):
            module = _import('.'.join(parts[:cut]), path)
            if module is not None:
                rest = parts[cut:]
                break
        else:
            raise _no_module('.'.join(parts[:-1]), path)
    obj = module
    owner = module.__name__
    for name in rest:
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise HueyImportError(f'{owner!r} has no attribute {name!r} (from {path!r})') from None
        owner = f'{owner}.{name}'
    obj = load_configuration(obj)
    if not isinstance(obj, _huey_class()):
        raise HueyImportError(
            f'{path!r} is a {type(obj).__name__}, not a Huey instance: give '
            'the path of the Huey object, for example myapp.huey'
        )
    return obj
