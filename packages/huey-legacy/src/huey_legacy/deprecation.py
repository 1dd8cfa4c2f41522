"""One DeprecationWarning per legacy name and process, naming what replaces it."""

from __future__ import annotations

import threading
import warnings

__all__ = ['deprecated']

_warned: set[str] = set()
_lock = threading.Lock()


def deprecated(legacy: str, replacement: str, stacklevel: int = 3) -> None:
    """Warn once per process that ``legacy`` is deprecated in favour of ``replacement``."""
    with _lock:
        if legacy in _warned:
            return
        _warned.add(legacy)
    warnings.warn(
        f'{legacy} is deprecated (huey 0.x/1.x API): use {replacement}',
        DeprecationWarning,
        stacklevel=stacklevel,
    )
