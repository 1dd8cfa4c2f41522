"""``huey_admin APP serve``: run the dashboard with uvicorn."""

from __future__ import annotations

import logging
from typing import Any

from .app import dashboard_app, resolve_token

__all__ = ['serve']

logger = logging.getLogger(__name__)


def serve(huey: Any, host: str = '127.0.0.1', port: int = 8000, token: str | None = None) -> None:
    """Serve the dashboard until interrupted. Binds 127.0.0.1 unless told otherwise."""
    import uvicorn

    token = resolve_token(token)
    app = dashboard_app(huey, token=token)
    if host not in ('127.0.0.1', 'localhost', '::1') and token is None:
        logger.warning(
            'the dashboard listens on %s without a token: anyone who reaches it can requeue '
            'and delete; pass --token or set HUEY_MONITOR_TOKEN',
            host,
        )
    uvicorn.run(app, host=host, port=port, log_level='info')
