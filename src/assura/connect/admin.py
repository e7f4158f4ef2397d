"""Administration pages: a read-mostly view for superusers.

Settings are edited on the integration pages, which validate them per platform and keep
secrets masked; the logs belong to the services and the sender, so they are read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assura.connect.models import (
    CaseImport,
    ChatApp,
    InboundEvent,
    InboundSource,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChatApp)
class ChatAppAdmin(admin.ModelAdmin[ChatApp]):
    list_display = ["name", "platform", "organisation", "is_active"]
    list_filter = ["platform", "is_active"]
    fields = ["name", "platform", "organisation", "case_type", "unknown_senders", "is_active"]
    readonly_fields = ["platform", "organisation"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundSource)
class InboundSourceAdmin(admin.ModelAdmin[InboundSource]):
    list_display = ["name", "organisation", "case_type", "priority", "is_active"]
    fields = ["name", "organisation", "case_type", "priority", "masked_secret", "is_active"]
    readonly_fields = ["organisation", "masked_secret"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin[WebhookSubscription]):
    list_display = ["name", "url", "is_active"]
    fields = ["name", "url", "events", "masked_secret", "is_active"]
    readonly_fields = ["url", "events", "masked_secret"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnly):
    list_display = ["received_at", "channel", "status", "outcome", "detail", "case"]
    list_filter = ["status", "channel", "outcome"]
    search_fields = ["event_id", "detail"]


class AttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "started_at",
        "duration_ms",
        "ok",
        "status_code",
        "response",
        "error",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ["created_at", "event", "subscription", "status", "attempts", "last_status_code"]
    list_filter = ["status", "event", "subscription"]
    inlines = [AttemptInline]


@admin.register(CaseImport)
class CaseImportAdmin(ReadOnly):
    list_display = ["uploaded_at", "file_name", "uploaded_by", "status", "imported", "failed"]
    exclude = ["content"]
