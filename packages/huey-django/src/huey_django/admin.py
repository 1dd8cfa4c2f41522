"""The Django admin's "Huey > Queue" page: a read-only view of the queue, the
schedule, the results and the dead letters, with requeue / delete actions on
dead letters.

Every number and row is read from huey's storage when the page is shown
(``pending``, ``scheduled``, ``dead_letters``...), and the actions call
``requeue_dead_letter`` / ``delete_dead_letter``: the admin keeps no copy.
Seeing the page needs the ``huey_django.view_queue`` permission, the actions
``huey_django.change_queue`` (superusers have both).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from huey_django.models import Queue

__all__ = ['QueueAdmin']

#: Rows shown per section; the counts above them are always complete.
ROWS = 50


@dataclass(frozen=True)
class DeadLetterRow:
    id: str
    task: str
    reason: str
    failed_at: dt.datetime


def _failed_at(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


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
        context = {
            **self.admin_site.each_context(request),
            'opts': self.opts,
            'title': f'Huey queue {HUEY.name!r}',
            'huey': HUEY,
            'storage': type(HUEY.storage).__name__,
            'immediate': HUEY.immediate,
            'pending_count': HUEY.pending_count(),
            'pending': HUEY.pending(ROWS),
            'scheduled_count': HUEY.scheduled_count(),
            'scheduled': HUEY.scheduled(ROWS),
            'result_count': HUEY.result_count(),
            'result_keys': sorted(HUEY.all_results())[:ROWS],
            'dead_letters': [self._row(HUEY, letter) for letter in HUEY.dead_letters(ROWS)],
            'can_change': self.has_change_permission(request),
            'rows': ROWS,
        }
        return TemplateResponse(request, 'admin/huey_django/queue.html', context)

    @staticmethod
    def _row(huey: Any, letter: Any) -> DeadLetterRow:
        try:
            task = repr(huey.deserialize_task(letter.data))
        except Exception:  # the reason it is a dead letter, often
            task = '(cannot be decoded)'
        return DeadLetterRow(letter.id, task, letter.reason, _failed_at(letter.failed_at))

    def _dead_letter_action(self, request: HttpRequest, huey: Any) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        action = request.POST.get('action')
        ids = request.POST.getlist('dead_letter')
        calls = {'requeue': huey.requeue_dead_letter, 'delete': huey.delete_dead_letter}
        if action not in calls or not ids:
            self.message_user(request, 'Select dead letters and an action.', messages.WARNING)
        else:
            done = sum(1 for id in ids if calls[action](id))
            verb = 'requeued' if action == 'requeue' else 'deleted'
            self.message_user(request, f'{done} dead letter(s) {verb}.', messages.SUCCESS)
            if done < len(ids):
                self.message_user(
                    request,
                    f'{len(ids) - done} were already gone (another admin or a consumer).',
                    messages.WARNING,
                )
        return HttpResponseRedirect(reverse('admin:huey_django_queue_changelist'))
