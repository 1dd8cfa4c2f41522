"""The web dashboard: ``dashboard_app(huey)`` (ASGI) and ``serve(huey, port=...)``."""

from .app import TOKEN_VARIABLE, dashboard_app
from .server import serve

__all__ = ['TOKEN_VARIABLE', 'dashboard_app', 'serve']
