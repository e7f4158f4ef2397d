"""Forms of the notify pages: they shape input; the services decide what is valid."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assura.notify.models import ChannelKind, NotificationChannel, Status


def split_addresses(text: str) -> list[str]:
    """Addresses written one a line, or separated by commas or semicolons."""
    return [part.strip() for part in re.split(r"[\s,;，；]+", text) if part.strip()]


class ChannelForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ChannelKind.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("Webhook address"),
        required=False,
        max_length=2000,
        help_text=_("The whole address the group's robot settings show, token included."),
    )
    recipients = forms.CharField(
        label=_("E-mail addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For e-mail channels: one address a line."),
    )
    signed = forms.BooleanField(
        label=_("Sign requests (DingTalk, Feishu, webhook)"), required=False
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, channel: NotificationChannel | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel is not None:
            # The kind decides what the settings mean: a channel keeps it for life, and
            # its form shows only the settings that kind uses.
            self.fields["kind"].disabled = True
            self.fields["kind"].initial = channel.kind
            for name in self.unused_fields(channel.kind):
                del self.fields[name]
            if channel.secret and "secret" in self.fields:
                self.fields["secret"].help_text = _(
                    "A secret is stored (%(masked)s). Leave empty to keep it."
                ) % {"masked": channel.masked_secret}

    @staticmethod
    def unused_fields(kind: str) -> tuple[str, ...]:
        if kind == ChannelKind.EMAIL:
            return ("url", "signed", "secret")
        if kind == ChannelKind.WECOM:
            return ("recipients", "signed", "secret")
        return ("recipients",)

    @classmethod
    def initial_for(cls, channel: NotificationChannel) -> dict[str, Any]:
        return {
            "kind": channel.kind,
            "name": channel.name,
            "url": channel.url,
            "recipients": "\n".join(channel.recipients),
            "signed": channel.signed,
            "is_active": channel.is_active,
        }

    def clean_recipients(self) -> list[str]:
        return split_addresses(self.cleaned_data.get("recipients", ""))

    def settings(self) -> dict[str, Any]:
        """The cleaned settings as the channel services take them; unused ones empty."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "url": data.get("url", ""),
            "recipients": data.get("recipients", []),
            "signed": data.get("signed", False),
            "secret": data.get("secret", ""),
            "is_active": data["is_active"],
        }


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Status.choices]
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)

    DIRECT = "direct"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = NotificationChannel.objects.order_by("name").values_list("pk", "name")
        self.fields["channel"].choices = [
            ("", _("Any channel")),
            (self.DIRECT, _("Direct e-mail")),
            *((str(pk), name) for pk, name in channels),
        ]
