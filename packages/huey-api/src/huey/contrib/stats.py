"""``huey.contrib.stats``: task statistics in a peewee database (needs peewee)."""

from huey_api.stats import (
    ATTEMPT_ENDING_SIGNALS,
    MODELS,
    HueyEvent,
    HueyInflight,
    HueyStats,
    _resolve_db,  # noqa: F401  (huey's name, for code that resolves its database the same way)
    database,
)
from huey_api.stats_dashboard import (
    ACTIONS,
    dashboard_context,
    enable_stats,
    known_tasks,
    live_counts,
    pending_tasks,
    run_action,
    scheduled_tasks,
)

__all__ = [
    'ACTIONS',
    'ATTEMPT_ENDING_SIGNALS',
    'HueyEvent',
    'HueyInflight',
    'HueyStats',
    'MODELS',
    'dashboard_context',
    'database',
    'enable_stats',
    'known_tasks',
    'live_counts',
    'pending_tasks',
    'run_action',
    'scheduled_tasks',
]
