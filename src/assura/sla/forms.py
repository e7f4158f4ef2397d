"""Forms of the breach pages: filters, the root-cause analysis, the notice reason, decisions."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from assura.commitments.models import Contract, Metric
from assura.core.models import Organisation
from assura.sla.models import CauseCategory, CompensationStatus
from assura.sla.notices import MAX_REASON


def metric_choices() -> list[tuple[str, str]]:
    return [("", _("Any metric")), *((m.code, str(m)) for m in Metric.objects.all())]


def parse_month(value: str) -> date | None:
    """ "2026-03" → 2026-03-01; None when it is not a month."""
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-03"})

    def to_python(self, value: str | None) -> date | None:  # type: ignore[override]
        value = super().to_python(value)
        if not value:
            return None
        month = parse_month(value)
        if month is None:
            raise ValidationError(_("Give a month as YYYY-MM."))
        return month


class BreachFilterForm(forms.Form):
    RCA_CHOICES = (
        ("", _("With or without")),
        ("with", _("With a root-cause analysis")),
        ("without", _("Without a root-cause analysis")),
    )

    metric = forms.ChoiceField(label=_("Metric"), required=False)
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Organisation.objects.customers(),
        required=False,
        empty_label=_("Any customer"),
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    rca = forms.ChoiceField(label=_("Root cause"), choices=RCA_CHOICES, required=False)
    withdrawn = forms.BooleanField(label=_("Include withdrawn breaches"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["metric"].choices = metric_choices()

    def clean(self) -> dict[str, object]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The period cannot end before it starts."))
        return data


class RootCauseForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Cause"), queryset=CauseCategory.objects.filter(is_active=True)
    )
    description = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3})
    )
    corrective_action = forms.CharField(
        label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 3})
    )
    improvement_reference = forms.CharField(
        label=_("Improvement item"), max_length=100, required=False
    )


class NoticeReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason given to the customer"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Once the notice has been sent, a change sends the customer a correction."),
    )


class DecisionForm(forms.Form):
    DECISIONS = (("approve", _("Approve")), ("waive", _("Waive")))

    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.TextInput(),
        help_text=_("Required to waive."),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("decision") == "waive" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the compensation is waived."))
        return data


class LedgerFilterForm(forms.Form):
    STATUS_CHOICES = (("", _("Any status")), *CompensationStatus.choices)

    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    contract = forms.ModelChoiceField(
        label=_("Contract"),
        queryset=Contract.objects.select_related("customer"),
        required=False,
        empty_label=_("Any contract"),
    )
    month = MonthField(label=_("Month"), required=False)
