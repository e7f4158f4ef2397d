"""Forms of the web shell: they collect and shape input; the services decide what is valid.

A service raises `ValidationError` with field names; `show_errors` puts each message
next to the field it concerns, so a person reads the reason where it applies.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from auditlog.registry import auditlog
from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from assura.core.models import Organisation, Role, Team, User


@cache
def time_zone_names() -> tuple[str, ...]:
    """Region/City zones offered in the time zone field's suggestions."""
    return tuple(sorted(zone for zone in available_timezones() if "/" in zone))


class TimeZoneInput(forms.TextInput):
    """A text box that suggests zones as one types (the list is the page's datalist)."""

    def __init__(self) -> None:
        super().__init__(
            attrs={
                "list": "time-zones",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        )


def language_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=language_choices)
    time_zone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        widget=TimeZoneInput(),
        help_text=_("Times are shown in this zone. Leave it empty to use the default zone."),
    )


class PersonForm(forms.Form):
    """An administrator adds a member of staff or a customer contact."""

    username = forms.CharField(
        label=_("Login"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only. The person logs in with it."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    display_name = forms.CharField(label=_("Display name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=[("", _("Choose a role")), *Role.choices])
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.filter(is_active=True),
        empty_label=_("Choose an organisation"),
        help_text=_("Staff belong to the service provider; contacts to their customer."),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.filter(is_active=True),
        required=False,
        empty_label=_("No team"),
    )
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave it empty to create an account that cannot log in yet."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=lambda: [("", _("As the browser asks")), *language_choices()],
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        widget=TimeZoneInput(),
        help_text=_("Leave it empty to use the default zone."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password")
        if password:
            candidate = User(
                username=data.get("username", ""),
                display_name=data.get("display_name", ""),
                email=data.get("email", ""),
            )
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as error:
                self.add_error("password", error)
        return data


class DeactivateForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, this person may no longer log in"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class OrganisationForm(forms.Form):
    """A customer organisation; the provider organisation exists once and is not added."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("Short and stable, e.g. ECM. Shown in lists and used in links."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    name = forms.CharField(label=_("Name"), max_length=200)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What the token is for, e.g. the monitoring script that uses it."),
    )


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("Any role")), *Role.choices]
    )
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("Any organisation"),
        to_field_name="code",
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Active and inactive")),
            ("active", _("Active")),
            ("inactive", _("Inactive")),
        ],
    )

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]


def record_type_choices() -> list[tuple[str, str]]:
    """The kinds of record the audit log watches, by their (translated) names."""
    models = sorted(auditlog.get_models(), key=lambda model: str(model._meta.verbose_name))
    return [
        ("", _("Any record")),
        *((m._meta.model_name, capfirst(m._meta.verbose_name)) for m in models),
    ]


class AuditFilterForm(forms.Form):
    ACTIONS = [
        ("", _("Any change")),
        ("0", _("Created")),
        ("1", _("Changed")),
        ("2", _("Deleted")),
    ]

    actor = forms.ModelChoiceField(
        label=_("Who"),
        queryset=User.objects.order_by("username"),
        required=False,
        empty_label=_("Anyone"),
        to_field_name="username",
    )
    model = forms.ChoiceField(label=_("Record type"), choices=record_type_choices, required=False)
    action = forms.TypedChoiceField(
        label=_("Change"), choices=ACTIONS, required=False, coerce=int, empty_value=None
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    text = forms.CharField(label=_("Record contains"), required=False, max_length=100)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data


def hour_choices() -> list[tuple[str, str]]:
    """The look-ahead choices, labelled in the reader's language (evaluated per form)."""
    return [(str(n), str(_("%(n)s h")) % {"n": n}) for n in DashboardForm.HOURS]


class DashboardForm(forms.Form):
    """The manager view's one setting: how far ahead "at risk" looks, in hours.

    A value outside the choices (a hand-edited link, `?hours=abc`) is not an error page:
    `settle` falls back to the default and says so beside the field.
    """

    DEFAULT_HOURS = 4
    HOURS = (1, 2, 4, 8, 24, 48)

    hours = forms.TypedChoiceField(label=_("At risk within"), choices=hour_choices, coerce=int)

    @classmethod
    def settle(cls, query: Any) -> tuple[DashboardForm, int, str]:
        """(the form to show, the hours to use, a note when the asked value was refused)."""
        default = {"hours": str(cls.DEFAULT_HOURS)}
        if "hours" not in query:
            return cls(initial=default), cls.DEFAULT_HOURS, ""
        form = cls(query)
        if form.is_valid():
            return form, int(form.cleaned_data["hours"]), ""
        note = str(
            _("“%(value)s” is not one of the choices; showing the next %(hours)s hours.")
        ) % {"value": str(query.get("hours", ""))[:20], "hours": cls.DEFAULT_HOURS}
        return cls(initial=default), cls.DEFAULT_HOURS, note
