from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from assura.core.models import User


def _zone_choices() -> list[tuple[str, str]]:
    zones = sorted(zone for zone in available_timezones() if "/" in zone)
    return [("", _("Organisation default")), *((zone, zone) for zone in zones)]


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=())
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=(), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["language"].choices = list(settings.LANGUAGES)
        self.fields["time_zone"].choices = _zone_choices()


class AuditFilterForm(forms.Form):
    ACTIONS = [("", _("Any change")), ("0", _("Created")), ("1", _("Changed")), ("2", _("Deleted"))]

    actor = forms.ModelChoiceField(
        label=_("Who"), queryset=User.objects.all(), required=False, empty_label=_("Anyone")
    )
    model = forms.CharField(label=_("Record type"), required=False, max_length=100)
    action = forms.ChoiceField(label=_("Change"), choices=ACTIONS, required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    text = forms.CharField(label=_("Record contains"), required=False, max_length=100)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data
