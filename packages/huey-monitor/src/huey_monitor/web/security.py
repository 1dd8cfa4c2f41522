"""Who may use the dashboard, and proof that a state-changing POST came from it.

With a token set, every request needs the session cookie the login page
sets, or an ``Authorization: Bearer <token>`` header (for scrapers of
``/metrics``). Forms carry a CSRF token equal to a cookie set on first visit
(double submit): another site can post to the dashboard but cannot read the
cookie to put the same value in its form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

__all__ = [
    'AUTH_COOKIE',
    'CSRF_COOKIE',
    'CSRF_FIELD',
    'SecurityMiddleware',
    'csrf_ok',
    'session_value',
]

AUTH_COOKIE = 'huey_monitor_session'
CSRF_COOKIE = 'huey_monitor_csrf'
CSRF_FIELD = 'csrf_token'
_OPEN_PATHS = ('/login', '/static/')


def session_value(token: str) -> str:
    """The session cookie for ``token``: derived from it, so it changes with it."""
    return hmac.new(token.encode(), b'huey-monitor-session', hashlib.sha256).hexdigest()


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """True if the form's token matches this browser's CSRF cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected and submitted) and hmac.compare_digest(expected, submitted)


class SecurityMiddleware(BaseHTTPMiddleware):
    """Token check (when a token is set) and the CSRF cookie."""

    def __init__(self, app, token: str | None = None) -> None:
        super().__init__(app)
        self.token = token

    def _authorized(self, request: Request) -> bool:
        if self.token is None:
            return True
        header = request.headers.get('authorization', '')
        if header.startswith('Bearer ') and hmac.compare_digest(header[7:], self.token):
            return True
        cookie = request.cookies.get(AUTH_COOKIE, '')
        return hmac.compare_digest(cookie, session_value(self.token))

    async def dispatch(self, request: Request, call_next) -> Response:
        path = request.url.path[len(request.scope.get('root_path', '')) :] or '/'
        if not path.startswith(_OPEN_PATHS) and not self._authorized(request):
            if request.method == 'GET' and 'text/html' in request.headers.get('accept', ''):
                root = request.scope.get('root_path', '')
                return RedirectResponse(f'{root}/login?next={quote(path)}', status_code=303)
            return PlainTextResponse('a token is required (Authorization: Bearer ...)', 401)
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        request.state.csrf = csrf
        response = await call_next(request)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite='strict')
        return response
