"""Forms of the configuration pages; they parse and report, the services decide.

Durations are typed the way people write them ("15m", "2h", "3d 4h"), escalation
offsets as signed percentages of the target ("-25", "0", "+50"), and warnings as the
percentage of the target used ("75"). Each parser says what it expected when the text
does not read, beside the field it came from.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from assura.calendars.models import Calendar
from assura.commitments.models import (
    CaseEvent,
    CaseType,
    Channel,
    Contract,
    EscalationRecipient,
    Metric,
    Priority,
    Service,
    WaitingStatus,
)
from assura.core.models import Organisation, OrganisationKind, Role, User

# ---------------------------------------------------------------------------- durations

_UNITS: dict[str, timedelta] = {}
for _names, _size in (
    (("d", "day", "days", "天"), timedelta(days=1)),
    (("h", "hr", "hrs", "hour", "hours", "小时", "时"), timedelta(hours=1)),
    (("m", "min", "mins", "minute", "minutes", "分", "分钟"), timedelta(minutes=1)),
    (("s", "sec", "secs", "second", "seconds", "秒"), timedelta(seconds=1)),
):
    _UNITS.update(dict.fromkeys(_names, _size))

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+|[\u4e00-\u9fff]+)\s*", re.IGNORECASE)
MAX_DURATION = timedelta(days=3660)
DURATION_HINT = _("Write a duration like 15m, 2h or 3d 4h (d days, h hours, m minutes).")


def parse_duration(text: str) -> timedelta:
    """'15m' → 15 min; '3d 4h' → 76 h; '1.5h' and '2 hours' read too; anything else fails."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise ValidationError(_("Enter a duration."), code="required")
    total, position = timedelta(0), 0
    while position < len(cleaned):
        match = _PART.match(cleaned, position)
        if match is None:
            raise ValidationError(
                _("“%(text)s” is not a duration. %(hint)s"),
                code="invalid",
                params={"text": text.strip(), "hint": DURATION_HINT},
            )
        number, unit = match.groups()
        size = _UNITS.get(unit.lower())
        if size is None:
            raise ValidationError(
                _("Unknown unit “%(unit)s”. %(hint)s"),
                code="unit",
                params={"unit": unit, "hint": DURATION_HINT},
            )
        try:
            total += size * float(number)
        except OverflowError:
            total = MAX_DURATION * 2
        position = match.end()
    if total <= timedelta(0):
        raise ValidationError(_("A target must be longer than zero."), code="zero")
    if total > MAX_DURATION:
        raise ValidationError(_("A target must be shorter than ten years."), code="long")
    return total


def spell_duration(value: timedelta) -> str:
    """The form the parser reads back: 76 h → '3d 4h', 90 min → '1h 30m'."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return " ".join(parts) or "0m"


class DurationTextField(forms.Field):
    """A text box that reads a duration ("3d 4h") and shows one the same way."""

    widget = forms.TextInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"placeholder": "2h", "spellcheck": "false", "size": 8, "maxlength": 40}
        )

    def prepare_value(self, value: Any) -> Any:
        return spell_duration(value) if isinstance(value, timedelta) else value

    def to_python(self, value: Any) -> timedelta | None:
        text = str(value or "").strip()
        return parse_duration(text) if text else None


# ---------------------------------------------------------------------------- percentages

_PERCENT = re.compile(r"^([+\-−]?)\s*(\d+(?:\.\d)?)\s*%?$")


def parse_offset(text: str) -> Decimal:
    """'-25' → −0.25 of the target (before the due instant), '+50' → 0.5 after it."""
    match = _PERCENT.match((text or "").strip().replace("％", "%"))
    if match is None:
        raise ValidationError(
            _("Write the offset as a signed percentage of the target, e.g. -25, 0 or +50."),
            code="invalid",
        )
    sign, digits = match.groups()
    percent = Decimal(digits) * (-1 if sign in ("-", "−") else 1)
    if not Decimal(-99) <= percent <= Decimal(1000):
        raise ValidationError(
            _("The offset lies between -99 and +1000 percent of the target."), code="range"
        )
    return percent / 100


def spell_offset(value: Decimal) -> str:
    percent = (Decimal(value) * 100).normalize()
    text = format(percent, "f")
    return text if percent <= 0 else f"+{text}"


class OffsetField(forms.Field):
    """A text box that reads a signed percentage ("+50") as a fraction of the target."""

    widget = forms.TextInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"placeholder": "+50", "size": 6, "inputmode": "decimal", "maxlength": 12}
        )

    def prepare_value(self, value: Any) -> Any:
        return spell_offset(value) if isinstance(value, Decimal) else value

    def to_python(self, value: Any) -> Decimal | None:
        text = str(value or "").strip()
        return parse_offset(text) if text else None


def percent_field(label: Any, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("0.1"),
        max_value=Decimal(100),
        widget=forms.NumberInput(attrs={"step": "any", "size": 5}),
        **kwargs,
    )


# ---------------------------------------------------------------------------- choices


def customers() -> Any:
    return Organisation.objects.filter(kind=OrganisationKind.CUSTOMER).order_by("name")


def staff() -> Any:
    return User.objects.filter(is_active=True).exclude(role__in=["", Role.CUSTOMER])


def metric_choices() -> list[tuple[str, str]]:
    return [(metric.code, str(metric)) for metric in Metric.objects.all()]


class CodeField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Code"))
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", _("Short and stable; it cannot be changed later."))
        super().__init__(**kwargs)
        self.widget.attrs.update({"spellcheck": "false", "autocapitalize": "off"})


def freeze_code(form: forms.Form) -> None:
    """On an edit form the code is shown but not submitted: it names the row for good."""
    field = form.fields["code"]
    field.disabled, field.required, field.help_text = True, False, ""


# ---------------------------------------------------------------------------- services


class ServiceForm(forms.Form):
    code = CodeField()
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Offered"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            freeze_code(self)
        else:
            del self.fields["is_active"]


# ---------------------------------------------------------------------------- contracts


class ContractForm(forms.Form):
    code = CodeField()
    name = forms.CharField(label=_("Name"), max_length=200)
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Organisation.objects.none())
    services = forms.ModelMultipleChoiceField(
        label=_("Services"),
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    monthly_fee = forms.DecimalField(
        label=_("Monthly service fee"), max_digits=14, decimal_places=2, min_value=0
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    starts_on = forms.DateField(label=_("Starts"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label=_("Ends"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: open-ended."),
    )
    compensation_cap = forms.DecimalField(
        label=_("Compensation cap per month"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Empty: no cap."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers()  # type: ignore[attr-defined]
        self.fields["services"].queryset = Service.objects.all()  # type: ignore[attr-defined]
        if editing:
            freeze_code(self)
        else:
            del self.fields["is_active"]

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()


class CompensationRuleForm(forms.Form):
    metric = forms.ChoiceField(label=_("Metric"), choices=())
    percent_of_fee = forms.DecimalField(
        # xgettext:no-python-format
        label=_("% of monthly fee"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    fixed_amount = forms.DecimalField(
        label=_("Fixed amount"), max_digits=14, decimal_places=2, min_value=0, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = metric_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        empty = data.get("percent_of_fee") is None and data.get("fixed_amount") is None
        if empty and not self.errors:
            raise ValidationError(_("Give a percentage of the fee, a fixed amount, or both."))
        return data


# ---------------------------------------------------------------------------- policies


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = CodeField()
    position = forms.IntegerField(
        label=_("Order"),
        min_value=0,
        max_value=100000,
        initial=100,
        help_text=_("Policies are tried from the lowest number up; the first match wins."),
    )
    is_default = forms.BooleanField(
        label=_("Default policy"),
        required=False,
        help_text=_("Catches every case no other policy takes; tried last."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    customers = forms.ModelMultipleChoiceField(
        label=_("Customers"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    contracts = forms.ModelMultipleChoiceField(
        label=_("Contracts"),
        queryset=Contract.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Services"),
        queryset=Service.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    case_types = forms.MultipleChoiceField(
        label=_("Case types"),
        choices=CaseType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    priorities = forms.MultipleChoiceField(
        label=_("Priorities"),
        choices=Priority.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=200,
        required=False,
        help_text=_("Kept with the new version, e.g. “contract K-12 renegotiated”."),
    )

    CONDITIONS = ("customers", "contracts", "services", "channels", "case_types", "priorities")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customers"].queryset = customers()  # type: ignore[attr-defined]
        self.fields["contracts"].queryset = Contract.objects.select_related("customer")  # type: ignore[attr-defined]
        self.fields["services"].queryset = Service.objects.all()  # type: ignore[attr-defined]
        if editing:
            freeze_code(self)

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "code", "position", "is_default", "description")]

    def condition_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CONDITIONS]

    def conditions(self) -> dict[str, list[Any]]:
        return {name: list(self.cleaned_data.get(name) or []) for name in self.CONDITIONS}


class TargetForm(forms.Form):
    metric = forms.ChoiceField(label=_("Metric"), choices=())
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=[("", _("Any priority")), *Priority.choices],
        required=False,
    )
    target = DurationTextField(label=_("Target"))
    calendar = forms.ModelChoiceField(label=_("Calendar"), queryset=Calendar.objects.none())
    warn_at = percent_field(_("Warn at %"), initial=Decimal(75))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        metrics = kwargs.pop("metrics", None)
        calendars = kwargs.pop("calendars", None)
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [("", "—"), *(metrics or metric_choices())]  # type: ignore[attr-defined]
        self.fields["calendar"].queryset = (  # type: ignore[attr-defined]
            calendars if calendars is not None else Calendar.objects.all()
        )


class EscalationForm(forms.Form):
    level = forms.IntegerField(
        label=_("Level"), min_value=1, max_value=20, widget=forms.NumberInput(attrs={"size": 3})
    )
    offset = OffsetField(
        # xgettext:no-python-format
        label=_("When (% of the target from the due time)"),
        # xgettext:no-python-format
        help_text=_("-25 fires when 75 % is used, 0 at the due time, +50 half a target later."),
    )
    recipients = forms.MultipleChoiceField(
        label=_("Notify"),
        choices=EscalationRecipient.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    people = forms.ModelMultipleChoiceField(
        label=_("Also notify"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    expedite = forms.BooleanField(label=_("Mark expedited"), required=False)
    raise_priority_to = forms.ChoiceField(
        label=_("Raise priority to"),
        choices=[("", _("Keep")), *Priority.choices],
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        people = kwargs.pop("people", None)
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = people if people is not None else staff()  # type: ignore[attr-defined]


class RowFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    """Rows of a table editor: blank extra rows and ticked "remove" rows are skipped."""

    def rows(self) -> list[forms.Form]:
        """The forms that carry a row: filled in, valid so far, and not ticked for removal."""
        return [
            form
            for form in self.forms
            if form.is_valid()
            and form.cleaned_data
            and not (self.can_delete and self._should_delete_form(form))
        ]

    def add_non_form_errors(self, messages: list[str]) -> None:
        self.non_form_errors().extend(messages)


class TargetFormSet(RowFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[tuple[str, str]] = set()
        for form in self.rows():
            key = (form.cleaned_data["metric"], form.cleaned_data.get("priority") or "")
            if key in seen:
                form.add_error("priority", _("This metric already has a target for this priority."))
            seen.add(key)


class EscalationFormSet(RowFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.rows():
            level = form.cleaned_data["level"]
            if level in seen:
                form.add_error("level", _("Each level appears once."))
            seen.add(level)


TargetFormSetClass = forms.formset_factory(
    TargetForm, formset=TargetFormSet, extra=2, can_delete=True, max_num=60
)
EscalationFormSetClass = forms.formset_factory(
    EscalationForm, formset=EscalationFormSet, extra=1, can_delete=True, max_num=20
)


class PolicyTesterForm(forms.Form):
    """Facts about an imagined case: which policy would it get?"""

    customer = forms.ModelChoiceField(
        label=_("Customer"), queryset=Organisation.objects.none(), required=False
    )
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.none(), required=False
    )
    contract = forms.ModelChoiceField(
        label=_("Contract"), queryset=Contract.objects.none(), required=False
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial="portal")
    case_type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices, initial="inquiry")
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers()  # type: ignore[attr-defined]
        self.fields["service"].queryset = Service.objects.all()  # type: ignore[attr-defined]
        self.fields["contract"].queryset = Contract.objects.select_related("customer")  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- metrics


class MetricForm(forms.Form):
    code = CodeField(max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    start_event = forms.ChoiceField(label=_("Starts at"), choices=CaseEvent.choices)
    stop_event = forms.ChoiceField(label=_("Stops at"), choices=CaseEvent.choices)
    pause_statuses = forms.MultipleChoiceField(
        label=_("Pauses while"),
        choices=WaitingStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    case_types = forms.MultipleChoiceField(
        label=_("Case types"),
        choices=CaseType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every case type."),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            freeze_code(self)


# ---------------------------------------------------------------------------- root causes


class CauseCategoryForm(forms.Form):
    code = CodeField()
    name = forms.CharField(label=_("Name"), max_length=100)
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=32000, initial=100)
    is_active = forms.BooleanField(
        label=_("Offered for new analyses"), required=False, initial=True
    )

    def __init__(self, *args: Any, editing: bool = False, taken: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken = taken
        if editing:
            freeze_code(self)

    def clean_code(self) -> str:
        code = str(self.cleaned_data.get("code") or "").strip()
        if self.taken is not None and code and self.taken(code):
            raise ValidationError(_("A category with this code exists already."))
        return code
