"""Forms of the calendar editor; they parse and report, services decide."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from assura.calendars import cn
from assura.calendars.models import SpecialDayKind

WEEKDAYS = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)
MAX_ICS_BYTES = 1024 * 1024


def parse_spans(text: str) -> list[tuple[str, str]]:
    """'09:00-12:00, 13:30-18:00' → [('09:00', '12:00'), ('13:30', '18:00')]."""
    spans = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        start, sep, end = part.replace("–", "-").partition("-")
        if not sep:
            raise ValidationError(_("Write each interval as start-end, e.g. 09:00-12:00."))
        spans.append((start.strip(), end.strip()))
    return spans


def spell_spans(spans: list[list[str]] | list[tuple[str, str]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in spans)


def zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_timezones()) if "/" in zone]


class WeekForm(forms.Form):
    """One text field per weekday: the intervals that day, empty for a day off."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for day, label in enumerate(WEEKDAYS):
            self.fields[f"day{day}"] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "09:00-12:00, 13:30-18:00"}),
            )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        week: dict[int, list[tuple[str, str]]] = {}
        for day in range(7):
            try:
                week[day] = parse_spans(data.get(f"day{day}", "") or "")
            except ValidationError as error:
                self.add_error(f"day{day}", error)
        data["week"] = week
        return data


class CalendarForm(WeekForm):
    code = forms.CharField(
        label=_("Code"), max_length=32, help_text=_("Short and stable, e.g. cn-office.")
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=zone_choices, initial="Asia/Shanghai"
    )
    follows_official_china = forms.BooleanField(
        label=_("Load China's official holidays and make-up working days"),
        required=False,
        initial=True,
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ["code", "name", "time_zone", "follows_official_china", "description"]


class CalendarSettingsForm(WeekForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=zone_choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ["name", "time_zone", "description"]


class SpecialDayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=SpecialDayKind.choices)
    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. National Day")}),
    )
    hours = forms.CharField(
        label=_("Hours (make-up day)"),
        required=False,
        max_length=200,
        help_text=_("Empty: the normal weekday hours."),
        widget=forms.TextInput(attrs={"placeholder": "09:00-18:00"}),
    )

    def clean_hours(self) -> list[tuple[str, str]]:
        return parse_spans(self.cleaned_data.get("hours", ""))


class OfficialYearForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), coerce=int, choices=())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        years = list(cn.covered_years())
        self.fields["year"].choices = [(year, year) for year in reversed(years)]


class IcsImportForm(forms.Form):
    file = forms.FileField(label=_("iCalendar file (.ics)"))

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_ICS_BYTES:
            raise ValidationError(_("The file is larger than 1 MB."))
        return upload.read()
