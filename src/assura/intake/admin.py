"""Django admin: editing mail channels (passwords never shown), reading what came and went."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from assura.intake import services
from assura.intake.models import InboundMessage, InboundStatus, MailChannel, OutboundMail

KEEP = _("Leave empty to keep the stored password.")


class MailChannelForm(forms.ModelForm[MailChannel]):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=KEEP,
    )
    smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=KEEP,
    )

    class Meta:
        model = MailChannel
        fields = (
            "name",
            "address",
            "from_name",
            "is_active",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_user",
            "imap_password",
            "imap_folder",
            "fetch_mode",
            "poll_seconds",
            "smtp_use_default",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_user",
            "smtp_password",
            "unknown_senders",
            "default_organisation",
            "default_case_type",
            "default_team",
            "rate_limit",
            "acknowledge",
            "ack_subject",
            "ack_body",
        )

    def clean_imap_password(self) -> str:
        return self.cleaned_data["imap_password"] or self.instance.imap_password

    def clean_smtp_password(self) -> str:
        return self.cleaned_data["smtp_password"] or self.instance.smtp_password


@admin.register(MailChannel)
class MailChannelAdmin(admin.ModelAdmin[MailChannel]):
    form = MailChannelForm
    list_display = ("name", "address", "imap_host", "fetch_mode", "connection", "is_active")
    list_filter = ("is_active", "connection")
    readonly_fields = ("connection", "connection_detail", "checked_at", "connected_at", "last_uid")
    fieldsets = (
        (None, {"fields": ("name", "address", "from_name", "is_active")}),
        (
            _("Incoming mail (IMAP)"),
            {
                "fields": (
                    "imap_host",
                    "imap_port",
                    "imap_security",
                    "imap_user",
                    "imap_password",
                    "imap_folder",
                    "fetch_mode",
                    "poll_seconds",
                )
            },
        ),
        (
            _("Replies (SMTP)"),
            {
                "fields": (
                    "smtp_use_default",
                    "smtp_host",
                    "smtp_port",
                    "smtp_security",
                    "smtp_user",
                    "smtp_password",
                )
            },
        ),
        (
            _("Rules"),
            {
                "fields": (
                    "unknown_senders",
                    "default_organisation",
                    "default_case_type",
                    "default_team",
                    "rate_limit",
                    "acknowledge",
                    "ack_subject",
                    "ack_body",
                )
            },
        ),
        (
            _("Connection"),
            {
                "fields": (
                    "connection",
                    "connection_detail",
                    "checked_at",
                    "connected_at",
                    "last_uid",
                )
            },
        ),
    )


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
