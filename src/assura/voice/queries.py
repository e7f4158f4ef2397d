"""Reads of the voice app: survey results and follow-up completion, sliced and scoped.

Every figure is computed by `statistics` from the rows these functions select, with the
formulas of docs/kpis.md. A period is a half-open interval [start, end) of instants:
responses count by when they were submitted, invitations by when they were sent,
follow-ups by their due instant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from assura.core.models import User
from assura.sla.models import Clock
from assura.voice import servqual, statistics
from assura.voice.models import (
    Answer,
    FollowUp,
    FollowUpStatus,
    Invitation,
    InvitationStatus,
    Question,
    QuestionKind,
    Response,
    Survey,
)

#: The slices results can be cut by: a field of Response (and of Invitation).
SLICES = {
    "service": ("service", "service__name"),
    "team": ("team", "team__name"),
    "agent": ("agent", "agent__display_name"),
    "customer": ("organisation", "organisation__name"),
}


@dataclass(frozen=True)
class Scope:
    """Which responses and invitations a figure covers."""

    start: datetime | None = None
    end: datetime | None = None
    survey: Survey | None = None
    service_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    organisation_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def filters(self) -> Q:
        q = Q()
        if self.survey is not None:
            q &= Q(survey=self.survey)
        for name, value in (
            ("service_id", self.service_id),
            ("team_id", self.team_id),
            ("agent_id", self.agent_id),
            ("organisation_id", self.organisation_id),
        ):
            if value is not None:
                q &= Q(**{name: value})
        return q & Q(**self.extra)


def _count(model: Any, **filters: Any) -> Subquery:
    rows = model.objects.filter(survey=OuterRef("pk"), **filters).order_by()
    return Subquery(rows.values("survey").annotate(n=Count("pk")).values("n"))


def surveys_with_counts() -> QuerySet[Survey]:
    """Surveys with their number of questions, invitations sent and responses."""
    return Survey.objects.annotate(
        question_count=Coalesce(_count(Question), 0),
        sent_count=Coalesce(_count(Invitation, sent_at__isnull=False), 0),
        answered_count=Coalesce(_count(Response), 0),
    )


def responses(scope: Scope, viewer: User | None = None) -> QuerySet[Response]:
    rows = Response.objects.filter(scope.filters())
    if viewer is not None:
        rows = rows.visible_to(viewer)
    if scope.start is not None:
        rows = rows.filter(submitted_at__gte=scope.start)
    if scope.end is not None:
        rows = rows.filter(submitted_at__lt=scope.end)
    return rows


def invitations_sent(scope: Scope, viewer: User | None = None) -> QuerySet[Invitation]:
    rows = Invitation.objects.filter(scope.filters(), sent_at__isnull=False)
    if viewer is not None:
        rows = rows.visible_to(viewer)
    if scope.start is not None:
        rows = rows.filter(sent_at__gte=scope.start)
    if scope.end is not None:
        rows = rows.filter(sent_at__lt=scope.end)
    return rows


def _values(scope: Scope, kind: str, viewer: User | None = None) -> list[int]:
    return list(
        Answer.objects.filter(
            response__in=responses(scope, viewer), question__kind=kind, value__isnull=False
        ).values_list("value", flat=True)
    )


def csat(scope: Scope, viewer: User | None = None) -> statistics.Csat:
    """CSAT over every 1-5 satisfaction answer of the responses in scope."""
    return statistics.csat(_values(scope, QuestionKind.RATING, viewer))


def nps(scope: Scope, viewer: User | None = None) -> statistics.Nps:
    return statistics.nps(_values(scope, QuestionKind.NPS, viewer))


@dataclass(frozen=True)
class Rate:
    sent: int
    answered: int

    @property
    def rate(self) -> float | None:
        return statistics.response_rate(self.answered, self.sent)


def response_rate(scope: Scope, viewer: User | None = None) -> Rate:
    """Invitations sent in the period, and how many of them were answered (ever)."""
    sent = invitations_sent(scope, viewer)
    counts = sent.aggregate(
        sent=Count("pk"), answered=Count("pk", filter=Q(status=InvitationStatus.RESPONDED))
    )
    return Rate(sent=counts["sent"], answered=counts["answered"])


def servqual_pairs(scope: Scope, viewer: User | None = None) -> list[dict[str, tuple[int, int]]]:
    """Each response's SERVQUAL answers: item code → (expectation, perception)."""
    rows = (
        Answer.objects.filter(
            response__in=responses(scope, viewer),
            question__kind=QuestionKind.SERVQUAL,
            expectation__isnull=False,
            perception__isnull=False,
        )
        .order_by("response_id")
        .values_list("response_id", "question__code", "expectation", "perception")
    )
    per_response: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for response_id, code, expectation, perception in rows:
        per_response[response_id][code] = (expectation, perception)
    return list(per_response.values())


def servqual_dimensions(survey: Survey | None) -> dict[str, tuple[str, ...]]:
    """Dimension → item codes of the survey (the shipped instrument when none is given)."""
    if survey is None:
        return servqual.items_by_dimension()
    found: dict[str, list[str]] = {d: [] for d in servqual.DIMENSIONS}
    for code, dimension in survey.questions.filter(kind=QuestionKind.SERVQUAL).values_list(
        "code", "dimension"
    ):
        found.setdefault(dimension, []).append(code)
    return {d: tuple(codes) for d, codes in found.items() if codes}


def servqual_result(scope: Scope, viewer: User | None = None) -> statistics.Servqual:
    return statistics.servqual(servqual_pairs(scope, viewer), servqual_dimensions(scope.survey))


@dataclass(frozen=True)
class SliceRow:
    key: Any
    label: str
    csat: statistics.Csat
    nps: statistics.Nps
    rate: Rate


def by_slice(scope: Scope, slice_name: str, viewer: User | None = None) -> list[SliceRow]:
    """CSAT, NPS and response rate per service, team, agent or customer."""
    column, label_field = SLICES[slice_name]
    keys = (
        responses(scope, viewer)
        .exclude(**{f"{column}__isnull": True})
        .values_list(f"{column}_id", label_field)
        .distinct()
    )
    rows = []
    for key, label in sorted(set(keys), key=lambda item: str(item[1])):
        sliced = Scope(
            start=scope.start,
            end=scope.end,
            survey=scope.survey,
            service_id=scope.service_id,
            team_id=scope.team_id,
            agent_id=scope.agent_id,
            organisation_id=scope.organisation_id,
            extra={f"{column}_id": key},
        )
        rows.append(
            SliceRow(
                key=key,
                label=label or "—",
                csat=csat(sliced, viewer),
                nps=nps(sliced, viewer),
                rate=response_rate(sliced, viewer),
            )
        )
    return rows


@dataclass(frozen=True)
class MonthRow:
    month: str
    csat: float | None
    csat_n: int
    nps: float | None
    nps_n: int


def by_month(scope: Scope, viewer: User | None = None) -> list[MonthRow]:
    """CSAT mean and NPS per calendar month of submission (the installation's zone)."""
    rows = (
        Answer.objects.filter(
            response__in=responses(scope, viewer),
            question__kind__in=[QuestionKind.RATING, QuestionKind.NPS],
            value__isnull=False,
        )
        .annotate(
            month=TruncMonth("response__submitted_at", tzinfo=timezone.get_current_timezone())
        )
        .values_list("month", "question__kind", "value")
    )
    values: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for month, kind, value in rows:
        values[month.strftime("%Y-%m")][kind].append(value)
    result = []
    for month in sorted(values):
        ratings = values[month][QuestionKind.RATING]
        scores = values[month][QuestionKind.NPS]
        result.append(
            MonthRow(
                month=month,
                csat=statistics.csat(ratings).mean,
                csat_n=len(ratings),
                nps=statistics.nps(scores).score,
                nps_n=len(scores),
            )
        )
    return result


def choice_counts(scope: Scope, viewer: User | None = None) -> dict[int, dict[str, int]]:
    """Question id → choice code → how often it was chosen."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for question_id, chosen in Answer.objects.filter(
        response__in=responses(scope, viewer),
        question__kind__in=[QuestionKind.SINGLE, QuestionKind.MULTIPLE],
    ).values_list("question_id", "choices"):
        for code in chosen or []:
            counts[question_id][code] += 1
    return counts


def recent_comments(scope: Scope, viewer: User | None = None, limit: int = 20) -> QuerySet[Answer]:
    return (
        Answer.objects.filter(response__in=responses(scope, viewer))
        .exclude(text="")
        .select_related("question", "response__contact", "response__case")
        .order_by("-response__submitted_at", "-pk")[:limit]
    )


# ---------------------------------------------------------------------------- follow-ups


def follow_ups_for(user: User) -> QuerySet[FollowUp]:
    """An agent's list: its own open follow-ups and its team's unassigned ones."""
    mine = Q(assignee=user)
    if user.team_id:
        mine |= Q(assignee__isnull=True, team_id=user.team_id)
    return (
        FollowUp.objects.visible_to(user)
        .open()
        .filter(mine)
        .select_related("contact", "organisation", "case", "assignee", "programme", "team")
        .annotate(late=_late())
        .order_by("due_at", "pk")
    )


def _late() -> Exists:
    """Whether the follow-up's clock is breached (recorded by the watcher or at its stop)."""
    return Exists(
        Clock.objects.filter(
            subject_type=ContentType.objects.get_for_model(FollowUp),
            subject_id=OuterRef("pk"),
            breached_at__isnull=False,
        )
    )


def with_lateness(rows: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
    return rows.annotate(late=_late())


@dataclass(frozen=True)
class OnTime:
    """Follow-ups due in the period (cancelled ones left out) and how many were on time."""

    due: int
    on_time: int
    done_late: int
    open_late: int
    open_in_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


def on_time(rows: QuerySet[FollowUp]) -> OnTime:
    """Completed on time = done and its clock never breached."""
    counted = with_lateness(rows.exclude(status=FollowUpStatus.CANCELLED))
    figures = counted.aggregate(
        due=Count("pk"),
        on_time=Count("pk", filter=Q(status=FollowUpStatus.DONE, late=False)),
        done_late=Count("pk", filter=Q(status=FollowUpStatus.DONE, late=True)),
        open_late=Count("pk", filter=Q(status=FollowUpStatus.OPEN, late=True)),
        open_in_time=Count("pk", filter=Q(status=FollowUpStatus.OPEN, late=False)),
    )
    return OnTime(**figures)


def follow_ups_due(start: datetime | None, end: datetime | None) -> QuerySet[FollowUp]:
    rows = FollowUp.objects.all()
    if start is not None:
        rows = rows.filter(due_at__gte=start)
    if end is not None:
        rows = rows.filter(due_at__lt=end)
    return rows


@dataclass(frozen=True)
class OnTimeRow:
    label: str
    figures: OnTime


def on_time_by(rows: QuerySet[FollowUp], column: str, label_field: str) -> list[OnTimeRow]:
    """The on-time figures per team or per assignee."""
    keys = rows.values_list(column, label_field).distinct()
    result = []
    for key, label in sorted(set(keys), key=lambda item: str(item[1] or "")):
        result.append(OnTimeRow(label=label or "—", figures=on_time(rows.filter(**{column: key}))))
    return result


def outcome_counts(rows: Iterable[FollowUp] | QuerySet[FollowUp]) -> dict[str, int]:
    if isinstance(rows, QuerySet):
        return dict(
            rows.filter(status=FollowUpStatus.DONE)
            .values_list("outcome")
            .annotate(n=Count("pk"))
            .values_list("outcome", "n")
        )
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.status == FollowUpStatus.DONE:
            counts[row.outcome] += 1
    return dict(counts)
