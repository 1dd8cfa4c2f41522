"""See and steer a huey queue: task events, consumer heartbeats, admin CLI,
web dashboard and Prometheus metrics, kept in the application's own storage.

    import huey_monitor
    huey_monitor.enable(huey)          # where the Huey is built
"""

from .monitor import Monitor, disable, enable, monitor_for
from .reader import ConsumerView, MonitorReader, TaskTiming
from .records import ConsumerRecord, Event, InFlight
from .settings import MonitorSettings

__version__ = '0.1.0'

__all__ = [
    'ConsumerRecord',
    'ConsumerView',
    'Event',
    'InFlight',
    'Monitor',
    'MonitorReader',
    'MonitorSettings',
    'TaskTiming',
    'disable',
    'enable',
    'monitor_for',
]
