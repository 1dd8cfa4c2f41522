"""The dashboard: an ASGI (Starlette) app over one Huey.

Pages render with Jinja2 and refresh themselves: ``dashboard.js`` fetches
the page every few seconds and swaps its live part, and redraws the chart
from ``api/series``. Actions (requeue, delete, revoke) are POST forms with a
CSRF token. Storage calls block, so they run in Starlette's thread pool.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import admin
from ..metrics import metrics_registry
from ..monitor import monitor_for
from .security import AUTH_COOKIE, CSRF_FIELD, SecurityMiddleware, csrf_ok, session_value

__all__ = ['TOKEN_VARIABLE', 'dashboard_app', 'resolve_token']

#: Environment variable read for the token when none is passed.
TOKEN_VARIABLE = 'HUEY_MONITOR_TOKEN'
_HERE = Path(__file__).parent
_LIST_LIMIT = 200


def _clock(ts: float | None) -> str:
    if ts is None:
        return '-'
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def _ago(ts: float | None) -> str:
    if ts is None:
        return '-'
    seconds = max(0, int(time.time() - ts))
    if seconds < 120:
        return f'{seconds}s ago'
    if seconds < 7200:
        return f'{seconds // 60}m ago'
    return f'{seconds // 3600}h ago'


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return '-'
    return f'{seconds * 1000:.1f} ms' if seconds < 10 else f'{seconds:.1f} s'


def resolve_token(token: str | None) -> str | None:
    """The token in force: the one given, else ``$HUEY_MONITOR_TOKEN``, else None."""
    return token if token is not None else os.environ.get(TOKEN_VARIABLE) or None


def dashboard_app(huey: Any, token: str | None = None, title: str | None = None) -> Starlette:
    """The dashboard of ``huey`` as an ASGI app (mount it anywhere, or ``serve`` it).

    ``token`` (default: ``$HUEY_MONITOR_TOKEN``) protects every page and
    ``/metrics``; without one, anyone who reaches the port can use it, so
    bind 127.0.0.1 or put it behind your site's own login.
    """
    token = resolve_token(token)
    monitor = monitor_for(huey)
    templates = Jinja2Templates(directory=str(_HERE / 'templates'))
    templates.env.filters.update(clock=_clock, ago=_ago, ms=_ms)
    name = title or huey.name

    def page(request: Request, template: str, **context: Any) -> Response:
        context.update(
            title=name,
            root=request.scope.get('root_path', ''),
            csrf=getattr(request.state, 'csrf', ''),
            csrf_field=CSRF_FIELD,
            notice=request.query_params.get('notice'),
            path=request.url.path,
            token_required=token is not None,
        )
        return templates.TemplateResponse(request, template, context)

    def overview(request: Request) -> Response:
        return page(
            request,
            'overview.html',
            status=monitor.status(),
            consumers=monitor.consumers(include_gone=False),
            timings=monitor.timings(),
        )

    def queue(request: Request) -> Response:
        return page(
            request,
            'queue.html',
            pending=admin.pending(huey, _LIST_LIMIT),
            scheduled=admin.scheduled(huey, _LIST_LIMIT),
            status=monitor.status(),
        )

    def results(request: Request) -> Response:
        task_id = request.query_params.get('id', '').strip()
        found = admin.result(huey, task_id) if task_id else None
        return page(
            request,
            'results.html',
            task_id=task_id,
            found=found,
            recent=admin.results(huey, 50),
            events=[e for e in monitor.events(limit=500) if e.task_id == task_id][:20]
            if task_id
            else [],
        )

    def dead_letters(request: Request) -> Response:
        return page(request, 'dead_letters.html', letters=admin.dead_letters(huey, _LIST_LIMIT))

    def periodic(request: Request) -> Response:
        return page(request, 'periodic.html', tasks=admin.periodic(huey))

    def consumers(request: Request) -> Response:
        return page(
            request,
            'consumers.html',
            consumers=monitor.consumers(),
            events=monitor.events(limit=100),
        )

    registry = metrics_registry(huey)

    def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def api_overview(request: Request) -> Response:
        return JSONResponse(
            {
                'status': monitor.status(),
                'consumers': [view.as_dict() for view in monitor.consumers(include_gone=False)],
            }
        )

    def api_series(request: Request) -> Response:
        return JSONResponse(monitor.series(60))

    async def action(request: Request) -> Response:
        """POST /actions/{verb}: requeue, requeue-all, delete, revoke, restore."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not csrf_ok(request, form.get(CSRF_FIELD)):
            return PlainTextResponse('missing or wrong CSRF token: reload the page', 403)
        verb = request.path_params['verb']
        target = form.get('id', '')
        back = form.get('back') or '/'
        if not back.startswith('/') or back.startswith('//'):
            back = '/'
        if verb == 'requeue-all':
            count = await run_in_threadpool(admin.requeue_all, huey)
            notice = f'requeued {count} dead letters'
        else:
            functions = {
                'requeue': (admin.requeue_dead_letter, 'requeued dead letter {}'),
                'delete': (admin.delete_dead_letter, 'deleted dead letter {}'),
                'revoke': (admin.revoke, 'revoked task {}'),
                'restore': (admin.restore, 'restored task {}'),
            }
            if verb not in functions or not target:
                return PlainTextResponse(f'unknown action {verb!r} or no id given', 400)
            function, done = functions[verb]
            ok = await run_in_threadpool(function, huey, target)
            notice = done.format(target) if ok else f'{verb}: nothing found for {target}'
        root = request.scope.get('root_path', '')
        joiner = '&' if '?' in back else '?'
        return RedirectResponse(f'{root}{back}{joiner}notice={quote(notice)}', status_code=303)

    def login_form(request: Request) -> Response:
        return page(request, 'login.html', next=request.query_params.get('next', '/'), error=None)

    async def login(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        target = form.get('next') or '/'
        if not target.startswith('/') or target.startswith('//'):
            target = '/'
        if token is None or not csrf_ok(request, form.get(CSRF_FIELD)):
            return page(request, 'login.html', next=target, error='reload the page and retry')
        if not hmac.compare_digest(form.get('token', ''), token):
            return page(request, 'login.html', next=target, error='wrong token')
        response = RedirectResponse(request.scope.get('root_path', '') + target, 303)
        response.set_cookie(AUTH_COOKIE, session_value(token), httponly=True, samesite='strict')
        return response

    routes = [
        Route('/', overview),
        Route('/queue', queue),
        Route('/results', results),
        Route('/dead-letters', dead_letters),
        Route('/periodic', periodic),
        Route('/consumers', consumers),
        Route('/api/overview', api_overview),
        Route('/api/series', api_series),
        Route('/actions/{verb}', action, methods=['POST']),
        Route('/login', login_form, methods=['GET']),
        Route('/login', login, methods=['POST']),
        Route('/metrics', metrics),
        Mount('/static', app=StaticFiles(directory=str(_HERE / 'static')), name='static'),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityMiddleware, token=token)])
