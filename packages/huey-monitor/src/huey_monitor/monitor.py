"""``enable(huey)``: the one call that turns the monitor on for an application."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from .reader import MonitorReader
from .recorder import Recorder
from .settings import MonitorSettings

__all__ = ['Monitor', 'disable', 'enable', 'monitor_for']

_monitors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_monitors_lock = threading.Lock()


class Monitor(MonitorReader):
    """The monitor of one Huey in this process: a reader plus, once enabled,
    the recorder that writes this process's events and heartbeats."""

    def __init__(self, huey: Any, settings: MonitorSettings | None = None) -> None:
        super().__init__(huey, settings)
        self.recorder: Recorder | None = None

    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def flush(self) -> int:
        """Write this process's buffered events now (tests, short scripts)."""
        return self.recorder.flush() if self.recorder is not None else 0


def enable(huey: Any, settings: MonitorSettings | None = None, **options: Any) -> Monitor:
    """Record ``huey``'s task events and consumer heartbeats in its own storage.

    Call it where the Huey is built (the module the consumer imports), so
    producers and every consumer process record. ``options`` are
    ``MonitorSettings`` fields (``max_events=``, ``max_age=``...). Calling it
    again returns the same monitor.
    """
    if settings is not None and options:
        raise TypeError('enable(): pass either settings= or MonitorSettings options, not both')
    chosen = settings if settings is not None else MonitorSettings(**options)
    with _monitors_lock:
        monitor = _monitors.get(huey)
        if monitor is not None and monitor.recording:
            if (settings is not None or options) and monitor.recorder.settings != chosen:
                raise ValueError(
                    f'the monitor of {huey!r} is already enabled with {monitor.recorder.settings}; '
                    'call huey_monitor.disable(huey) first to change its settings'
                )
            return monitor
        if monitor is None:
            monitor = _monitors[huey] = Monitor(huey, chosen)
        monitor._fallback = chosen
        monitor.recorder = Recorder(huey, chosen)
        monitor.recorder.connect()
        return monitor


def disable(huey: Any) -> None:
    """Stop recording ``huey``'s events in this process (buffered ones are written)."""
    with _monitors_lock:
        monitor = _monitors.get(huey)
        if monitor is None or monitor.recorder is None:
            return
        recorder, monitor.recorder = monitor.recorder, None
    recorder.disconnect()


def monitor_for(huey: Any) -> Monitor:
    """The monitor of ``huey`` in this process, reading only unless ``enable`` was called."""
    with _monitors_lock:
        monitor = _monitors.get(huey)
        if monitor is None:
            monitor = _monitors[huey] = Monitor(huey)
        return monitor
