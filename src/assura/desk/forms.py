"""Forms of the desk and the portal: they collect and shape input; the services decide.

A service raises `ValidationError` keyed by field; `show_errors` puts each message
beside its field, so a person reads the reason where it applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from assura.commitments.models import CaseType, Channel, Priority, Service
from assura.core.models import Organisation, Role, Team, User
from assura.desk.models import Case, Status
from assura.desk.queries import ANY_STATUS, Scope, SlaFilter
from assura.sla.models import CauseCategory

MAX_FILES = 10
#: Roles a case can be assigned to (people who work cases).
ASSIGNABLE_ROLES = (Role.AGENT, Role.TEAM_LEAD, Role.MANAGER, Role.QUALITY_MANAGER, Role.ADMIN)


def staff_people() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True, role__in=ASSIGNABLE_ROLES)
        .select_related("team")
        .order_by("team__name", "display_name", "username")
    )


def active_teams() -> QuerySet[Team]:
    return Team.objects.filter(is_active=True).order_by("name")


class PersonChoiceField(forms.ModelChoiceField):
    """A member of staff, named with the team so namesakes can be told apart."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} · {obj.team}" if obj.team_id else str(obj)


# ---------------------------------------------------------------------------- attachments


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; each must be a file, the service judges size and type."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > MAX_FILES:
            raise ValidationError(
                _("Attach at most %(count)s files at once.") % {"count": MAX_FILES}
            )
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files]


def attachments_field() -> MultipleFileField:
    limit = settings.ASSURA_ATTACHMENT_MAX_BYTES // (1024 * 1024)
    return MultipleFileField(
        label=_("Attachments"),
        help_text=_("Up to %(count)s files, %(limit)s MB each: images, PDF, office documents.")
        % {"count": MAX_FILES, "limit": limit},
    )


# ---------------------------------------------------------------------------- the queue


def _blank(choices: Iterable[tuple[str, Any]], label: Any) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": _("Reference or text")}),
    )
    scope = forms.ChoiceField(
        label=_("Cases"), required=False, choices=Scope.choices, widget=forms.HiddenInput
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any open status")), *Status.choices, (ANY_STATUS, _("Any status"))],
    )
    case_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=_blank(CaseType.choices, _("Any type"))
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=_blank(Priority.choices, _("Any priority"))
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        required=False,
        queryset=Service.objects.order_by("name"),
        empty_label=_("Any service"),
    )
    organisation = forms.ModelChoiceField(
        label=_("Customer"),
        required=False,
        queryset=Organisation.objects.customers().order_by("name"),
        empty_label=_("Any customer"),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=_blank(Channel.choices, _("Any channel"))
    )
    sla = forms.ChoiceField(
        label=_("SLA"), required=False, choices=_blank(SlaFilter.choices, _("Any"))
    )

    FILTER_NAMES = (
        "q",
        "scope",
        "status",
        "case_type",
        "priority",
        "service",
        "organisation",
        "channel",
        "sla",
    )

    def filters(self) -> dict[str, Any]:
        """The cleaned filters; invalid input counts as no filter, never as an error page."""
        self.is_valid()  # the fields that failed are left out of cleaned_data
        return dict(self.cleaned_data)

    def as_params(self) -> dict[str, str]:
        """The filters as query-string values (what a saved view stores)."""
        data = self.data if self.is_bound else {}
        return {
            name: str(data.get(name, "")).strip()
            for name in self.FILTER_NAMES
            if str(data.get(name, "")).strip()
        }


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of the view"), max_length=80)
    share = forms.BooleanField(label=_("Share with my team"), required=False)


class BulkAction(forms.Form):
    """Assign or change the status of several cases at once."""

    ACTIONS = (("assign", _("Assign to")), ("status", _("Set status")))

    cases = forms.ModelMultipleChoiceField(
        label=_("Cases"),
        queryset=Case.objects.none(),
        error_messages={"required": _("Select at least one case.")},
    )
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    assignee = PersonChoiceField(
        label=_("Assignee"), required=False, queryset=User.objects.none(), empty_label="—"
    )
    status = forms.ChoiceField(
        label=_("New status"), required=False, choices=_blank(Status.choices, "—")
    )

    def __init__(self, *args: Any, cases: QuerySet[Case], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cases"].queryset = cases  # type: ignore[attr-defined]
        self.fields["assignee"].queryset = staff_people()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "assign" and not data.get("assignee"):
            self.add_error("assignee", _("Choose who takes the cases."))
        if data.get("action") == "status" and not data.get("status"):
            self.add_error("status", _("Choose the new status."))
        return data


# ---------------------------------------------------------------------------- the case page


class ReplyKind:
    REPLY = "reply"
    NOTE = "note"
    INTERIM_PLAN = "interim_plan"


class ReplyForm(forms.Form):
    """A public reply, an internal note or (for a complex case) the interim plan."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (ReplyKind.REPLY, _("Public reply")),
            (ReplyKind.NOTE, _("Internal note")),
        ],
        initial=ReplyKind.REPLY,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = attachments_field()

    def __init__(self, *args: Any, case: Case | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"] = attachments_field()
        if case is not None and case.is_complex:
            kind: forms.ChoiceField = self.fields["kind"]  # type: ignore[assignment]
            kind.choices = [*kind.choices, (ReplyKind.INTERIM_PLAN, _("Interim plan"))]


class CustomerReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = attachments_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"] = attachments_field()


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it reopened?"),
        required=False,
        max_length=300,
        widget=forms.TextInput(),
    )


class ClassifyForm(forms.Form):
    case_type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    confirm = forms.BooleanField(
        label=_("Confirm the classification"),
        required=False,
        help_text=_("Confirming stops the classification clock."),
    )


class AssignForm(forms.Form):
    team = forms.ModelChoiceField(
        label=_("Team"), required=False, queryset=Team.objects.none(), empty_label="—"
    )
    assignee = PersonChoiceField(
        label=_("Assignee"), required=False, queryset=User.objects.none(), empty_label="—"
    )
    note = forms.CharField(label=_("Hand-over note"), required=False, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = active_teams()  # type: ignore[attr-defined]
        self.fields["assignee"].queryset = staff_people()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("team") and not data.get("assignee"):
            raise ValidationError(_("Choose a team, a person or both."))
        return data


class MergeForm(forms.Form):
    into = forms.CharField(
        label=_("Merge into case"),
        max_length=20,
        help_text=_("The reference of the case that carries on, e.g. C-2026-000123."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_into(self) -> str:
        return self.cleaned_data["into"].strip().upper()


class RootCauseForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Cause"), queryset=CauseCategory.objects.none(), empty_label="—"
    )
    description = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3})
    )
    corrective_action = forms.CharField(
        label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 3})
    )
    improvement_reference = forms.CharField(
        label=_("Improvement item"), required=False, max_length=100
    )

    def __init__(self, *args: Any, categories: Iterable[CauseCategory] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ModelChoiceField = self.fields["category"]  # type: ignore[assignment]
        field.queryset = CauseCategory.objects.filter(is_active=True)
        # The categories are loaded once for every form on the page.
        field.choices = [("", "—"), *((c.pk, str(c)) for c in categories)]


# ---------------------------------------------------------------------------- the portal

PORTAL_TYPES = (
    CaseType.INQUIRY,
    CaseType.FAULT,
    CaseType.COMPLAINT,
    CaseType.SUGGESTION,
    CaseType.REQUEST,
)


class SubmitForm(forms.Form):
    """A contact's new inquiry, fault, complaint, suggestion or request."""

    case_type = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[(t.value, t.label) for t in PORTAL_TYPES],
        initial=CaseType.INQUIRY,
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(
        label=_("Details"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happened, since when, who is affected, what you expected."),
    )
    service = forms.ModelChoiceField(
        label=_("Service"), required=False, queryset=Service.objects.none(), empty_label="—"
    )
    priority = forms.ChoiceField(
        label=_("How urgent is it?"),
        choices=Priority.choices,
        initial=Priority.NORMAL,
        help_text=_("Urgent: work has stopped for many people."),
    )
    attachments = attachments_field()

    def __init__(self, *args: Any, services: QuerySet[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"] = attachments_field()
        self.fields["service"].queryset = services  # type: ignore[attr-defined]
        if not services.exists():
            del self.fields["service"]
