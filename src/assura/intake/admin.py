"""Django admin, for superusers: reading what came and went.

Mail channels are configured on assura's own pages (`intake:channel`), through
`intake.services`, whose checks the admin would skip; so they are not in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from assura.intake import services
from assura.intake.models import InboundMessage, InboundStatus, OutboundMail


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin[InboundMessage]):
    list_display = ("received_at", "channel", "sender", "subject", "status", "reason", "case")
    list_filter = ("status", "reason", "channel")
    search_fields = ("sender", "subject", "message_id")
    exclude = ("raw",)
    readonly_fields = [field.name for field in InboundMessage._meta.get_fields() if field.concrete]
    actions = ("retry_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Retry the selected failed messages"))
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        done = 0
        for inbound in queryset.filter(status=InboundStatus.FAILED).defer("raw"):
            if services.retry(actor=None, inbound=inbound).status == InboundStatus.IMPORTED:
                done += 1
        self.message_user(
            request, _("%(count)s message(s) imported.") % {"count": done}, messages.INFO
        )


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin[OutboundMail]):
    list_display = ("created_at", "case", "kind", "recipients", "status", "attempts")
    list_filter = ("status", "kind")
    search_fields = ("message_id", "case__reference")
    readonly_fields = [field.name for field in OutboundMail._meta.get_fields() if field.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
