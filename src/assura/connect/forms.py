"""Forms of the connect pages: they shape input; the services decide what is valid."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from assura.commitments.models import CaseType, Channel, Priority
from assura.connect.events import EVENTS
from assura.connect.models import (
    ChatApp,
    DeliveryStatus,
    InboundChannel,
    InboundStatus,
    Platform,
    UnknownSenders,
    WebhookSubscription,
)
from assura.core.models import Organisation, Role, User

SECRET_HELP = _("Leave empty to keep the stored value.")


def _secret(label: str, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=200,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class ChatAppForm(forms.Form):
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    organisation = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Organisation.objects.none(),
        help_text=_("The people writing to this application are its contacts."),
    )
    case_type = forms.ChoiceField(label=_("Type of new cases"), choices=CaseType.choices)
    unknown_senders = forms.ChoiceField(
        label=_("Messages from unknown people"), choices=UnknownSenders.choices
    )
    app_id = forms.CharField(
        label=_("Corp id / app id"),
        required=False,
        max_length=100,
        help_text=_("WeCom: the corp id (企业ID); its messages are encrypted for it."),
    )
    token = _secret(_("Token"), _("WeCom: Token. Feishu: Verification Token."))
    encryption_key = _secret(
        _("Encryption key"), _("WeCom: EncodingAESKey (43 characters). Feishu: Encrypt Key.")
    )
    app_secret = _secret(_("App secret"), _("DingTalk: the robot's AppSecret."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, app: ChatApp | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app
        self.fields["organisation"].queryset = Organisation.objects.customers()  # type: ignore[attr-defined]
        if app is not None:
            self.fields["platform"].disabled = True
            for name in ("token", "encryption_key", "app_secret"):
                self.fields[name].help_text = f"{self.fields[name].help_text} {SECRET_HELP}"

    @staticmethod
    def initial_for(app: ChatApp) -> dict[str, Any]:
        return {
            "platform": app.platform,
            "name": app.name,
            "organisation": app.organisation_id,
            "case_type": app.case_type,
            "unknown_senders": app.unknown_senders,
            "app_id": app.app_id,
            "is_active": app.is_active,
        }

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("token", "encryption_key", "app_secret"):
            if self.app is not None and not data[name]:
                data[name] = None  # keep
        if self.app is not None:
            data.pop("platform")
        return data


class IdentityForm(forms.Form):
    user_id = forms.CharField(label=_("Platform user id"), max_length=200)
    person = forms.ModelChoiceField(label=_("Contact"), queryset=User.objects.none())

    def __init__(self, *args: Any, app: ChatApp, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            organisation_id=app.organisation_id, role=Role.CUSTOMER, is_active=True
        )


class SourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    organisation = forms.ModelChoiceField(label=_("Customer"), queryset=Organisation.objects.none())
    case_type = forms.ChoiceField(
        label=_("Type of new cases"), choices=CaseType.choices, initial=CaseType.FAULT
    )
    priority = forms.ChoiceField(
        label=_("Priority of new cases"), choices=Priority.choices, initial=Priority.HIGH
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    rotate = forms.BooleanField(
        label=_("Generate a new signing secret"),
        required=False,
        help_text=_("The old secret stops working at once."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.customers()  # type: ignore[attr-defined]


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("Address"),
        max_length=2000,
        help_text=_("Events are posted here as signed JSON."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(name, label) for name, label in EVENTS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    rotate = forms.BooleanField(
        label=_("Generate a new signing secret"),
        required=False,
        help_text=_("The receiver must switch to the new secret, shown once after saving."),
    )

    @staticmethod
    def initial_for(subscription: WebhookSubscription) -> dict[str, Any]:
        return {
            "name": subscription.name,
            "url": subscription.url,
            "events": subscription.events,
            "is_active": subscription.is_active,
        }


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *DeliveryStatus.choices]
    )
    event = forms.ChoiceField(
        label=_("Event"),
        required=False,
        choices=[("", _("All")), *[(name, name) for name in EVENTS], ("ping", "ping")],
    )
    subscription = forms.ModelChoiceField(
        label=_("Subscription"),
        required=False,
        queryset=WebhookSubscription.objects.all(),
        empty_label=_("All"),
    )


class InboundFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *InboundStatus.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *InboundChannel.choices]
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_(
            "One case a row; the first row names the columns. Required: created, type,"
            " customer, subject. Optional: reference, first response, classified, resolved,"
            " closed, priority, contact email, description, agent, channel."
        ),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone of the times in the file"),
        help_text=_("Used for times written without a zone."),
    )
    channel = forms.ChoiceField(
        label=_("Channel of rows that name none"), choices=Channel.choices, initial=Channel.EMAIL
    )
    create_contacts = forms.BooleanField(
        label=_("Add contacts that do not exist yet"), required=False, initial=True
    )
    again = forms.BooleanField(
        label=_("Import again"),
        required=False,
        help_text=_("Only for a file imported before; rows imported then are skipped."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(available_timezones())
        self.fields["time_zone"].choices = [(zone, zone) for zone in zones]
        self.fields["time_zone"].initial = settings.TIME_ZONE
