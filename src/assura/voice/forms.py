"""Forms of the survey builder, the results filters and the follow-up screens.

They collect and shape input; the services decide what is valid and their errors are
shown beside the fields (`assura.web.forms.show_errors` does the same for the shell).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from assura.calendars.models import Calendar
from assura.commitments.models import CaseType, Contract, Service
from assura.core.models import Organisation, Role, Team, User
from assura.voice.models import (
    AssignTo,
    Dimension,
    NextStep,
    Outcome,
    Period,
    ProgrammeKind,
    Question,
    QuestionKind,
    Survey,
    SurveyKind,
    TriggerKind,
)
from assura.voice.services import QuestionInput


class SurveyForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)
    kind = forms.ChoiceField(label=_("Kind"), choices=SurveyKind.choices)
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    intro_zh = forms.CharField(
        label=_("Introduction (Chinese)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    intro_en = forms.CharField(
        label=_("Introduction (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]


def spell_choices(choices: list[dict[str, Any]]) -> str:
    return "\n".join(
        " | ".join([c["code"], c["zh"], c["en"], *(["!"] if c.get("negative") else [])])
        for c in choices
    )


def parse_choices(text: str) -> list[dict[str, Any]]:
    """'yes | 是 | Yes' a line; a fourth column '!' marks a negative answer."""
    choices = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.replace("｜", "|").split("|")]
        if len(parts) < 3:
            raise ValidationError(
                _("Write each choice as: code | 中文 | English (| ! if negative).")
            )
        choices.append(
            {"code": parts[0], "zh": parts[1], "en": parts[2], "negative": "!" in parts[3:]}
        )
    return choices


class QuestionForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)
    kind = forms.ChoiceField(label=_("Type"), choices=QuestionKind.choices)
    text_zh = forms.CharField(
        label=_("Question (Chinese)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    text_en = forms.CharField(
        label=_("Question (English)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    required = forms.BooleanField(label=_("Required"), required=False, initial=True)
    ask_why = forms.BooleanField(
        label=_("Ask why (ratings and NPS)"), required=False, initial=False
    )
    dimension = forms.ChoiceField(
        label=_("SERVQUAL dimension"),
        choices=[("", "—"), *Dimension.choices],
        required=False,
    )
    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "yes | 是 | Yes\nno | 否 | No | !"}),
        help_text=_(
            "Single and multiple choice: one choice a line, code | 中文 | English; add "
            "| ! to mark an answer as negative (it opens a mandatory follow-up)."
        ),
    )

    @classmethod
    def initial_for(cls, question: Question) -> dict[str, Any]:
        return {
            "code": question.code,
            "kind": question.kind,
            "text_zh": question.text_zh,
            "text_en": question.text_en,
            "required": question.required,
            "ask_why": question.ask_why,
            "dimension": question.dimension,
            "choices_text": spell_choices(question.choices or []),
        }

    def clean_choices_text(self) -> list[dict[str, Any]]:
        return parse_choices(self.cleaned_data.get("choices_text") or "")

    def as_input(self) -> QuestionInput:
        data = self.cleaned_data
        return QuestionInput(
            code=data["code"],
            kind=data["kind"],
            text_zh=data["text_zh"],
            text_en=data["text_en"],
            required=data["required"],
            ask_why=data["ask_why"],
            dimension=data["dimension"],
            choices=data["choices_text"],
        )


def case_type_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Case types"),
        choices=CaseType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every case type."),
    )


class TriggerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("When"), choices=TriggerKind.choices)
    delay_hours = forms.DecimalField(
        label=_("Delay after resolution (hours)"), min_value=0, decimal_places=2, initial=2
    )
    sample_percent = forms.DecimalField(
        label=_("Sample (%)"), min_value=0, max_value=100, decimal_places=1, initial=100
    )
    min_days_between = forms.IntegerField(
        label=_("At most one survey per contact every (days)"), min_value=0, initial=30
    )
    case_types = case_type_field()
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.none(), required=False
    )
    contract = forms.ModelChoiceField(
        label=_("Contract"),
        queryset=Contract.objects.none(),
        required=False,
        help_text=_("Periodic: the contract's customer is surveyed; empty: every customer."),
    )
    period = forms.ChoiceField(
        label=_("Period"), choices=[("", "—"), *Period.choices], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(is_active=True)  # type: ignore[attr-defined]
        self.fields["contract"].queryset = Contract.objects.all()  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "delay": timedelta(hours=float(data["delay_hours"] or 0)),
            "sample": (data["sample_percent"] or Decimal(0)) / 100,
            "min_days_between": data["min_days_between"] or 0,
            "case_types": data["case_types"],
            "service": data["service"],
            "contract": data["contract"],
            "period": data["period"],
        }


class SendForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("Every active contact of this customer."),
    )
    contacts = forms.ModelMultipleChoiceField(
        label=_("Or these contacts"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.customers()  # type: ignore[attr-defined]
        self.fields["contacts"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(role=Role.CUSTOMER, is_active=True)
            .select_related("organisation")
            .order_by("organisation__name", "username")
        )

    def chosen(self) -> list[User]:
        people = list(self.cleaned_data.get("contacts") or [])
        organisation = self.cleaned_data.get("organisation")
        if organisation is not None:
            people += list(
                User.objects.filter(organisation=organisation, role=Role.CUSTOMER, is_active=True)
            )
        return list({p.pk: p for p in people}.values())


class ResultsFilterForm(forms.Form):
    survey = forms.ModelChoiceField(
        label=_("Survey"), queryset=Survey.objects.all(), required=False, to_field_name="code"
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Inclusive."),
    )
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.all(), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=User.objects.none(), required=False)
    customer = forms.ModelChoiceField(
        label=_("Customer"), queryset=Organisation.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = User.objects.exclude(role=Role.CUSTOMER).order_by(  # type: ignore[attr-defined]
            "display_name", "username"
        )
        self.fields["customer"].queryset = Organisation.objects.customers()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError(_("The period ends before it starts."))
        return data


class ProgrammeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ProgrammeKind.choices)
    target_hours = forms.DecimalField(
        label=_("Due within (working hours)"),
        min_value=Decimal("0.1"),
        decimal_places=2,
        initial=18,
        help_text=_("Measured on the calendar: 18 h is two days of a 9-18 calendar."),
    )
    calendar = forms.ModelChoiceField(label=_("Calendar"), queryset=Calendar.objects.none())
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    assign_to = forms.ChoiceField(label=_("Assign to"), choices=AssignTo.choices)
    sample_percent = forms.DecimalField(
        label=_("Sample (%)"),
        min_value=0,
        max_value=100,
        decimal_places=1,
        initial=100,
        help_text=_("Routine programmes: the share of resolved cases followed up."),
    )
    case_types = case_type_field()
    script_zh = forms.CharField(
        label=_("Script (Chinese)"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    script_en = forms.CharField(
        label=_("Script (English)"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar"].queryset = Calendar.objects.filter(is_active=True)  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.filter(is_active=True)  # type: ignore[attr-defined]
        if editing:
            del self.fields["code"]
            del self.fields["kind"]

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["target"] = timedelta(hours=float(data.pop("target_hours")))
        data["sample"] = (data.pop("sample_percent") or Decimal(0)) / 100
        return data


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    next_steps = forms.MultipleChoiceField(
        label=_("Next steps"),
        choices=NextStep.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    suggestion = forms.CharField(
        label=_("Improvement suggestion"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why cancel"), max_length=300)


class FollowUpReportForm(forms.Form):
    start = forms.DateField(
        label=_("Due from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Due until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Inclusive."),
    )


def answers_from_post(survey_questions: list[Question], data: QueryDict) -> dict[str, Any]:
    """The public form's fields, shaped as `services.clean_answers` reads them."""
    answers: dict[str, Any] = {}
    for question in survey_questions:
        code = question.code
        if question.kind in (QuestionKind.RATING, QuestionKind.NPS):
            answers[code] = {"value": data.get(code, ""), "why": data.get(f"{code}__why", "")}
        elif question.kind == QuestionKind.SERVQUAL:
            answers[code] = {
                "expectation": data.get(f"{code}__e", ""),
                "perception": data.get(f"{code}__p", ""),
            }
        elif question.kind == QuestionKind.MULTIPLE:
            answers[code] = data.getlist(code)
        else:
            answers[code] = data.get(code, "")
    return answers
