"""The Django admin's "Huey > Queue" page: what the queue holds and does, with
requeue / delete on dead letters.

Everything shown comes from huey-monitor's functions, the ones its CLI and
dashboard use (``huey_monitor.admin`` for the queue, schedule, results, dead
letters and periodic tasks; the monitor's reader for the overview, consumer
heartbeats and per-task timings), read from the storage when the page loads:
the admin keeps no copy. Consumers and timings need the consumers to record
(``settings.HUEY['monitor'] = True``, or ``huey_monitor.enable(HUEY)``).
Seeing the page needs the ``huey_django.view_queue`` permission, the actions
``huey_django.change_queue`` (superusers have both); actions are POSTs
checked by Django's CSRF protection (``admin_view`` applies it).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from huey_monitor import admin as queue_admin
from huey_monitor import monitor_for

from huey_django.models import Queue

__all__ = ['QueueAdmin']

#: Rows shown per list; the counts of the overview are always complete.
ROWS = 50

#: POST ``action`` -> (huey-monitor function, past tense for the message)
_ACTIONS = {
    'requeue': (queue_admin.requeue_dead_letter, 'requeued'),
    'delete': (queue_admin.delete_dead_letter, 'deleted'),
}


def _consumer_row(view: Any) -> dict:
    """A consumer heartbeat with readable times."""
    row = view.as_dict()
    row['started'] = queue_admin.iso_time(row['started'])
    row['last_seen'] = queue_admin.iso_time(row['last_seen'])
    return row


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    """One page instead of a change list: there are no rows to edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.queue_view)
        name = f'{self.opts.app_label}_{self.opts.model_name}_changelist'
        return [path('', view, name=name)]

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        from huey_django import HUEY

        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == 'POST':
            return self._dead_letter_action(request, HUEY)
        monitor = monitor_for(HUEY)
        context = {
            **self.admin_site.each_context(request),
            'opts': self.opts,
            'title': f'Huey queue {HUEY.name!r}',
            'storage': type(HUEY.storage).__name__,
            'immediate': HUEY.immediate,
            'status': monitor.status(),
            'consumers': [_consumer_row(view) for view in monitor.consumers()],
            'timings': monitor.timings(),
            'pending': queue_admin.pending(HUEY, ROWS),
            'scheduled': queue_admin.scheduled(HUEY, ROWS),
            'results': queue_admin.results(HUEY, ROWS),
            'dead_letters': queue_admin.dead_letters(HUEY, ROWS),
            'periodic': queue_admin.periodic(HUEY),
            'can_change': self.has_change_permission(request),
            'rows': ROWS,
        }
        return TemplateResponse(request, 'admin/huey_django/queue.html', context)

    def _dead_letter_action(self, request: HttpRequest, huey: Any) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        action = request.POST.get('action')
        ids = request.POST.getlist('dead_letter')
        if action not in _ACTIONS or not ids:
            self.message_user(request, 'Select dead letters and an action.', messages.WARNING)
        else:
            function, verb = _ACTIONS[action]
            done = sum(1 for id in ids if function(huey, id))
            self.message_user(request, f'{done} dead letter(s) {verb}.', messages.SUCCESS)
            if done < len(ids):
                self.message_user(
                    request,
                    f'{len(ids) - done} were already gone (another admin or a consumer).',
                    messages.WARNING,
                )
        return HttpResponseRedirect(reverse('admin:huey_django_queue_changelist'))
