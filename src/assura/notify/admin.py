"""Administration pages: a read-mostly view of channels and the outbox for superusers.

Channels are edited on the channel pages, which validate the settings per kind and
keep the secret masked; here only the name and the active switch can change. The
outbox rows are the sender's to change, so they are read-only.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from assura.notify.models import Notification, NotificationAttempt, NotificationChannel


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin[NotificationChannel]):
    list_display = ["name", "kind", "masked_url", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    fields = ["name", "kind", "masked_url", "recipients", "signed", "masked_secret", "is_active"]
    readonly_fields = ["kind", "masked_url", "recipients", "signed", "masked_secret"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AttemptInline(admin.TabularInline[NotificationAttempt, Notification]):
    model = NotificationAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "started_at",
        "duration_ms",
        "outcome",
        "status_code",
        "reply",
        "error",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ["dedup_key", "destination", "subject", "status", "attempts", "created_at"]
    list_filter = ["status", "channel"]
    search_fields = ["dedup_key", "subject"]
    inlines = [AttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False
