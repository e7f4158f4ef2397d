"""Reads of people, organisations and the audit log, always within the reader's scope."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from auditlog.models import LogEntry
from django.db.models import QuerySet
from django.utils import timezone

if TYPE_CHECKING:
    from assura.core.models import User


def audit_entries(
    *,
    actor: User | None = None,
    model: str = "",
    action: int | None = None,
    since: date | None = None,
    until: date | None = None,
    text: str = "",
) -> QuerySet[LogEntry]:
    """Audit entries, newest first, narrowed by the filters that are set.

    Days are taken in the current time zone (the reader's), so "until 2026-03-01"
    includes all of that local day.
    """
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-id")
    if actor is not None:
        entries = entries.filter(actor=actor)
    if model:
        entries = entries.filter(content_type__model=model)
    if action is not None:
        entries = entries.filter(action=action)
    if since is not None:
        entries = entries.filter(timestamp__gte=_start_of(since))
    if until is not None:
        entries = entries.filter(timestamp__lt=_start_of(until) + timezone.timedelta(days=1))
    if text:
        entries = entries.filter(object_repr__icontains=text)
    return entries


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
