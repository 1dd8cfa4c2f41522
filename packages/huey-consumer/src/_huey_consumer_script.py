"""Entry point of the ``huey_consumer.py`` console script.

The script is installed as ``<venv>/bin/huey_consumer.py``. Any program
started from that directory (the script itself, but also ``pytest`` or any
other console script of the venv) has it first on ``sys.path``, where the file
``huey_consumer.py`` shadows the ``huey_consumer`` package. This module, whose
name cannot clash, undoes the shadowing in both cases:

* run as the script, ``main()`` drops the script's directory from
  ``sys.path`` before importing the package;
* imported *as* ``huey_consumer`` by another program (the script file executes
  ``from _huey_consumer_script import main``), it swaps the real package into
  ``sys.modules``, so the import returns the package.
"""

from __future__ import annotations

import importlib
import os
import sys

__all__ = ['main']

_PACKAGE = 'huey_consumer'


def _without(directory: str) -> list[str]:
    return [entry for entry in sys.path if not entry or os.path.abspath(entry) != directory]


def _unshadow() -> None:
    shadow = sys.modules.get(_PACKAGE)
    if shadow is None or hasattr(shadow, '__path__'):
        return
    shadow_dir = os.path.dirname(os.path.abspath(getattr(shadow, '__file__', None) or '.'))
    saved = list(sys.path)
    sys.path[:] = _without(shadow_dir)
    del sys.modules[_PACKAGE]
    try:
        importlib.import_module(_PACKAGE)
    except ImportError:
        sys.modules[_PACKAGE] = shadow
        raise
    finally:
        sys.path[:] = saved


_unshadow()


def main() -> int:
    sys.path[:] = _without(os.path.dirname(os.path.abspath(sys.argv[0])))
    from huey_consumer.cli import main as run

    return run()
