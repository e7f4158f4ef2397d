"""Forms of the intake pages: they shape input; the services decide what is valid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.forms.models import fields_for_model, model_to_dict
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from assura.core.models import Organisation, Team
from assura.intake.models import MailChannel

PASSWORDS = ("imap_password", "smtp_password")
# The form's sections, in the order a person fills them in.
SECTIONS: tuple[tuple[Promise, tuple[str, ...]], ...] = (
    (_("Mailbox"), ("name", "address", "from_name", "is_active")),
    (
        _("Incoming mail (IMAP)"),
        (
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_user",
            "imap_password",
            "clear_imap_password",
            "imap_folder",
            "fetch_mode",
            "poll_seconds",
        ),
    ),
    (
        _("Replies (SMTP)"),
        (
            "smtp_use_default",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_user",
            "smtp_password",
            "clear_smtp_password",
        ),
    ),
    (
        _("New messages"),
        (
            "unknown_senders",
            "default_organisation",
            "default_case_type",
            "default_team",
            "rate_limit",
            "acknowledge",
            "ack_subject",
            "ack_body",
        ),
    ),
)
MODEL_FIELDS = [
    name
    for _title, names in SECTIONS
    for name in names
    if not name.startswith("clear_") and name not in PASSWORDS
]


def _port(label: Any) -> forms.IntegerField:
    message = _("Enter a port from 1 to 65535.")
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=65535,
        error_messages={"min_value": message, "max_value": message},
    )


def _password(label: Any) -> forms.CharField:
    # Never rendered back: the page would otherwise carry the password in its HTML.
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class MailChannelForm(forms.Form):
    """A mail channel's settings; passwords are write-only.

    When editing, an empty password field keeps the stored password and the box beside
    it removes it; the stored password itself never reaches the page.
    """

    def __init__(self, *args: Any, channel: MailChannel | None = None, **kwargs: Any) -> None:
        self.channel = channel
        if channel is not None:
            kwargs.setdefault("initial", model_to_dict(channel, fields=MODEL_FIELDS))
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(MailChannel, fields=MODEL_FIELDS))
        self.fields["imap_port"] = _port(_("IMAP port"))
        self.fields["smtp_port"] = _port(_("SMTP port"))
        self.fields["imap_password"] = _password(_("IMAP password"))
        self.fields["smtp_password"] = _password(_("SMTP password"))
        self.fields["imap_folder"].error_messages["required"] = _(
            "Name the folder to read, usually INBOX."
        )
        if channel is None:
            self.fields["imap_port"].initial = 993
            self.fields["smtp_port"].initial = 465
        else:
            # Switching a channel off and on is a button of its own on its page.
            del self.fields["is_active"]
            for name in PASSWORDS:
                self._password_on_edit(channel, name)
        organisations = Organisation.objects.customers().filter(is_active=True)
        teams = Team.objects.filter(is_active=True)
        if channel is not None:  # a choice made earlier stays on offer, even if switched off
            organisations = Organisation.objects.customers().filter(
                Q(is_active=True) | Q(pk=channel.default_organisation_id)
            )
            teams = Team.objects.filter(Q(is_active=True) | Q(pk=channel.default_team_id))
        self.fields["default_organisation"].queryset = organisations.order_by("name")  # type: ignore[attr-defined]
        self.fields["default_team"].queryset = teams.order_by("name")  # type: ignore[attr-defined]
        order = [name for _title, names in SECTIONS for name in names]
        self.order_fields([name for name in order if name in self.fields])

    def _password_on_edit(self, channel: MailChannel, name: str) -> None:
        field = self.fields[name]
        if getattr(channel, name):
            field.help_text = _("A password is stored. Leave empty to keep it.")
            self.fields[f"clear_{name}"] = forms.BooleanField(
                label=_("Remove the stored password"), required=False
            )
        else:
            field.help_text = _("No password is stored.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in PASSWORDS:
            if data.get(name) and data.get(f"clear_{name}"):
                self.add_error(name, _("Type a new password or remove the stored one, not both."))
        return data

    def sections(self) -> list[tuple[Promise, list[forms.BoundField]]]:
        """The fields grouped as the page shows them."""
        return [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in SECTIONS
        ]

    def values(self) -> dict[str, Any]:
        """The settings as `create_channel` / `update_channel` take them.

        On an edit, a password is None (keep the stored one) unless a new one was typed
        or its removal asked for ("").
        """
        data = {name: self.cleaned_data[name] for name in MODEL_FIELDS if name in self.fields}
        for name in PASSWORDS:
            typed = self.cleaned_data.get(name, "")
            if self.channel is None or typed:
                data[name] = typed
            elif self.cleaned_data.get(f"clear_{name}"):
                data[name] = ""
            else:
                data[name] = None
        return data
