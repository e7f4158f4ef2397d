"""Reads of the desk: the agent's queue, a case's clocks and timeline, the portal's view.

Each list is built with a fixed number of queries however many rows it shows: the queue
reads a page of cases with a running clock (ordered by a subquery on the clocks), then
the other cases if the page is not full, and loads the page's clocks in one more query;
the case page loads each kind of timeline entry in one query.

The timeline is a list of typed entries. Each kind comes from a *source*, a function of
the case that yields entries; a later feature adds its own kind with `timeline_source`
(and a template to draw it) without touching the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assura.commitments.models import CaseType, Metric, Priority
from assura.core.models import User
from assura.desk.models import (
    ACTIVE_STATUSES,
    Activity,
    ActivityKind,
    Case,
    Message,
    MessageKind,
    SavedView,
    Status,
)
from assura.sla.models import (
    Breach,
    Clock,
    ClockEvent,
    ClockStatus,
    ClockWarning,
    EventKind,
    RootCauseAnalysis,
)

#: Metrics whose due instant is the promise a customer reads ("we will answer by …").
PROMISE_METRICS = ("complaint_reply", "first_response")
OPEN_CLOCK_STATUSES = (ClockStatus.RUNNING, ClockStatus.PAUSED)


def _case_clocks() -> QuerySet[Clock]:
    """Clocks whose subject is a case.

    The content type is found by name in a subquery the database runs once per statement
    (no lookup query of its own), and compared by id, so the clock indexes that lead with
    the subject serve. A join on the content type instead was repeated for every row of a
    correlated subquery (a scan of the content types per case on PostgreSQL).
    """
    case_type = ContentType.objects.filter(app_label="desk", model="case").values("pk")[:1]
    return Clock.objects.filter(subject_type_id=Subquery(case_type))


def metric_names() -> dict[str, str]:
    return {metric.code: str(metric) for metric in Metric.objects.all()}


# ---------------------------------------------------------------------------- the queue


class Scope(models.TextChoices):
    WORKSPACE = "", gettext_lazy("Mine and my team's")
    MINE = "mine", gettext_lazy("Mine")
    TEAM = "team", gettext_lazy("My team's")
    UNASSIGNED = "unassigned", gettext_lazy("Unassigned")
    ALL = "all", gettext_lazy("All")


class SlaFilter(models.TextChoices):
    AT_RISK = "at_risk", gettext_lazy("At risk or breached")
    BREACHED = "breached", gettext_lazy("Breached")


#: The status filter's value for "every status", beside the statuses themselves.
ANY_STATUS = "any"


def queue(user: User, filters: Mapping[str, Any], now: datetime | None = None) -> CaseQueue:
    """The cases `user` works, filtered, soonest due first (cases without a running clock last).

    `filters` holds the queue form's cleaned values: scope, q, case_type, priority,
    status ("" for the open statuses, "any" for all), service, organisation, channel, sla.
    """
    now = now or timezone.now()
    cases = Case.objects.visible_to(user).select_related(
        "organisation", "service", "team", "assignee"
    )
    cases = _in_scope(cases, user, filters.get("scope") or "")
    status = filters.get("status") or ""
    if status == ANY_STATUS:
        pass
    elif status:
        cases = cases.filter(status=status)
    else:
        cases = cases.filter(status__in=ACTIVE_STATUSES)
    for name, lookup in (
        ("case_type", "case_type"),
        ("priority", "priority"),
        ("channel", "channel"),
        ("service", "service"),
        ("organisation", "organisation"),
    ):
        if filters.get(name):
            cases = cases.filter(**{lookup: filters[name]})
    if filters.get("q"):
        cases = search(cases, filters["q"])
    sla = filters.get("sla")
    if sla:
        cases = cases.filter(_sla_condition(sla, now))
    return CaseQueue(cases)


class CaseQueue:
    """The queue's cases in order, read a page at a time (a sequence for `Paginator`).

    The order: cases with a running clock by their soonest due instant (`next_due`), then
    the others; ties by creation, oldest first. Ordering every matching case by a subquery
    on its clocks cost one index lookup per case, closed ones included: with years of
    history, tens of thousands per page, and on PostgreSQL a plan costly enough to be
    JIT-compiled on every request (bench/RESULTS.md, "Page speed with the demo ×100"). So
    the two groups are read apart: the cases with a running clock (as many as the open
    work, whatever the history) sorted by the subquery, and the others by their creation
    instant alone.

    Queries: one counts the cases and, in the same pass, those with a running clock; a
    page then reads each group it covers (one query, or two for the page where the first
    group ends).
    """

    ordered = True

    def __init__(self, cases: QuerySet[Case]) -> None:
        self.cases = cases
        running = _case_clocks().filter(status=ClockStatus.RUNNING, due_at__isnull=False)
        self.ticking = Q(pk__in=running.values("subject_id"))
        soonest = running.filter(subject_id=OuterRef("pk")).order_by("due_at").values("due_at")
        self.due = (
            cases.filter(self.ticking)
            .annotate(next_due=Subquery(soonest[:1]))
            .order_by("next_due", "created_at", "pk")
        )
        self.rest = (
            cases.exclude(self.ticking)
            .annotate(next_due=Value(None, output_field=DateTimeField()))
            .order_by("created_at", "pk")
        )
        self._sizes: tuple[int, int] | None = None

    def sizes(self) -> tuple[int, int]:
        """How many cases in all, and how many of them have a running clock."""
        if self._sizes is None:
            found = self.cases.aggregate(
                total=models.Count("pk"), due=models.Count("pk", filter=self.ticking)
            )
            self._sizes = (found["total"], found["due"])
        return self._sizes

    def count(self) -> int:
        return self.sizes()[0]

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Case]:
        yield from self.due
        yield from self.rest

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, int):
            found = self.page(key, key + 1)
            if not found:
                raise IndexError(key)
            return found[0]
        if key.step is not None or key.stop is None:
            raise TypeError("the queue is read in pages: cases[start:stop]")
        return self.page(key.start or 0, key.stop)

    def page(self, start: int, stop: int) -> list[Case]:
        """The cases from position `start` (counted from 0) up to `stop`, excluded."""
        total, due = self.sizes()
        stop = min(stop, total)
        rows: list[Case] = []
        if start < min(due, stop):
            rows.extend(self.due[start : min(due, stop)])
        if stop > max(due, start):
            rows.extend(self.rest[max(due, start) - due : stop - due])
        return rows


def _in_scope(cases: QuerySet[Case], user: User, scope: str) -> QuerySet[Case]:
    mine = Q(assignee=user) | Q(first_contact_owner=user)
    team = Q(team_id=user.team_id) if user.team_id else Q(pk__in=[])
    if scope == Scope.MINE:
        return cases.filter(mine)
    if scope == Scope.TEAM:
        return cases.filter(team)
    if scope == Scope.UNASSIGNED:
        return cases.filter(assignee__isnull=True)
    if scope == Scope.ALL:
        return cases
    return cases.filter(mine | team)


def search(cases: QuerySet[Case], text: str) -> QuerySet[Case]:
    """By reference (whole or its number) and by text in subject, description or messages.

    Messages are searched too, so a phrase the customer wrote later finds the case;
    internal notes count, since only staff use this search.
    """
    text = text.strip()
    if not text:
        return cases
    # The cases written about, found in one pass over the messages (a subquery the database
    # runs once), not by a lookup of each case's messages.
    written = Message.objects.filter(body__icontains=text).values("case_id")
    # Digits alone are a case number (C-2026-000123 is found by "123"), not a substring
    # of every reference's year.
    if text.isdigit():
        by_reference = Q(reference__endswith=f"-{int(text):06d}")
    else:
        by_reference = Q(reference__icontains=text)
    condition = (
        by_reference
        | Q(subject__icontains=text)
        | Q(description__icontains=text)
        | Q(pk__in=written)
    )
    return cases.filter(condition)


def _sla_condition(sla: str, now: datetime) -> Q:
    """Cases with a breached clock, or (at risk) one past its warning instant.

    The open clocks are few beside the cases: read once, not looked up per case.
    """
    clocks = _case_clocks().filter(status__in=OPEN_CLOCK_STATUSES)
    breached = Q(breached_at__isnull=False) | Q(status=ClockStatus.RUNNING, breaches_at__lte=now)
    if sla == SlaFilter.BREACHED:
        return Q(pk__in=clocks.filter(breached).values("subject_id"))
    warned = Q(status=ClockStatus.RUNNING, warning_at__lte=now) | breached
    return Q(pk__in=clocks.filter(warned).values("subject_id"))


def saved_views(user: User) -> list[SavedView]:
    return list(SavedView.objects.visible_to(user).select_related("owner"))


# ---------------------------------------------------------------------------- clocks


@dataclass(frozen=True)
class ClockView:
    """A clock as a person reads it at `now`: its state, instants and what is left."""

    clock: Clock
    name: str
    now: datetime
    at_risk: bool = False
    breached: bool = False
    #: Working time left of a paused clock (it does not count down while paused).
    remaining: timedelta | None = None
    #: Working time left of a running clock, when it differs from the wall-clock countdown.
    working_left: timedelta | None = None
    #: The calendar is off now, or a gap in working time lies before the due instant.
    off_hours: bool = False

    @property
    def status(self) -> str:
        return self.clock.status

    @property
    def is_running(self) -> bool:
        return self.clock.status == ClockStatus.RUNNING

    @property
    def is_paused(self) -> bool:
        return self.clock.status == ClockStatus.PAUSED

    @property
    def is_open(self) -> bool:
        return self.clock.status in OPEN_CLOCK_STATUSES

    @property
    def wall_left(self) -> timedelta | None:
        """Wall-clock time until the due instant (what the live countdown shows)."""
        return None if self.clock.due_at is None else self.clock.due_at - self.now

    @property
    def overdue(self) -> timedelta | None:
        left = self.wall_left
        return -left if left is not None and left < timedelta(0) else None

    @property
    def paused_overdue(self) -> timedelta | None:
        return -self.remaining if self.remaining and self.remaining < timedelta(0) else None

    @property
    def state(self) -> str:
        """One word for styling: breached, at_risk, running, paused, met, late, cancelled."""
        if self.clock.status == ClockStatus.STOPPED:
            return "late" if self.clock.stopped_late or self.breached else "met"
        if self.clock.status == ClockStatus.CANCELLED:
            return "cancelled"
        if self.breached:
            return "breached"
        if self.at_risk:
            return "at_risk"
        return str(self.clock.status)

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.clock.get_status_display()))


STATE_LABELS = {
    "breached": gettext_lazy("Breached"),
    "at_risk": gettext_lazy("At risk"),
    "running": gettext_lazy("Running"),
    "paused": gettext_lazy("Paused"),
    "met": gettext_lazy("Met"),
    "late": gettext_lazy("Met late"),
    "cancelled": gettext_lazy("Cancelled"),
    "not_started": gettext_lazy("Not started"),
}


def clock_view(clock: Clock, name: str, now: datetime) -> ClockView:
    running = clock.status == ClockStatus.RUNNING
    breached = _breached(clock, now)
    at_risk = bool(running and clock.warning_at and clock.warning_at <= now)
    remaining = None
    if clock.status == ClockStatus.PAUSED:
        remaining = clock.target - clock.elapsed
    working_left, off_hours = None, False
    if running and clock.due_at is not None and clock.due_at > now:
        working_left, off_hours = _working_left(clock, now)
    return ClockView(
        clock=clock,
        name=name,
        now=now,
        at_risk=at_risk,
        breached=breached,
        remaining=remaining,
        working_left=working_left,
        off_hours=off_hours,
    )


def _breached(clock: Clock, now: datetime) -> bool:
    """Breached by `now`: recorded (by the watcher or a recompute), or its instant has passed.

    The instant alone suffices, so a page shows a breach the moment it happens even before
    the watcher records it.
    """
    if clock.breached_at is not None:
        return clock.breached_at <= now
    return bool(
        clock.status == ClockStatus.RUNNING and clock.breaches_at and clock.breaches_at <= now
    )


def _working_left(clock: Clock, now: datetime) -> tuple[timedelta | None, bool]:
    """Working time until the due instant, and whether the wall-clock countdown overstates it.

    A business-hours clock does not run at night: at 20:00 a clock due at 09:40 tomorrow
    has 40 working minutes left although the wall clock shows 13 h 40 min.
    """
    calendar = clock.calendar_version.work_calendar()
    if calendar.is_continuous:
        return None, False
    assert clock.due_at is not None
    working = timedelta(seconds=calendar.between(now, clock.due_at))
    wall = clock.due_at - now
    off = not calendar.is_working(now) or wall - working > timedelta(minutes=1)
    return (working if off else None), off


def case_clocks(case: Case) -> QuerySet[Clock]:
    return (
        _case_clocks()
        .filter(subject_id=case.pk)
        .select_related("calendar_version__calendar", "policy_version__policy")
        .order_by("started_at", "pk")
    )


def clock_views(
    clocks: Iterable[Clock], now: datetime | None = None, names: Mapping[str, str] | None = None
) -> list[ClockView]:
    now = now or timezone.now()
    names = metric_names() if names is None else names
    return [clock_view(clock, names.get(clock.metric, clock.metric), now) for clock in clocks]


@dataclass
class QueueRow:
    case: Case
    clocks: list[ClockView]

    @property
    def state(self) -> str:
        """The row's worst clock: breached, at_risk, or ""."""
        states = {clock.state for clock in self.clocks}
        for state in ("breached", "at_risk"):
            if state in states:
                return state
        return ""


def queue_rows(cases: Sequence[Case], now: datetime | None = None) -> list[QueueRow]:
    """The page's cases with their open clocks, earliest due first: three queries in all.

    The calendar versions are read apart, once each: joined to every clock, each row
    carried (and had parsed) its calendar's whole definition, some 12 KB of JSON.
    """
    now = now or timezone.now()
    by_case: dict[int, list[Clock]] = defaultdict(list)
    clocks = (
        _case_clocks()
        .filter(subject_id__in=[case.pk for case in cases], status__in=OPEN_CLOCK_STATUSES)
        .prefetch_related("calendar_version")
        .order_by(F("due_at").asc(nulls_last=True), "pk")
    )
    for clock in clocks:
        by_case[clock.subject_id].append(clock)
    names = metric_names() if by_case else {}
    return [QueueRow(case, clock_views(by_case[case.pk], now, names)) for case in cases]


# ---------------------------------------------------------------------------- the case page


def case_for_page(user: User, reference: str) -> QuerySet[Case]:
    return (
        Case.objects.visible_to(user)
        .filter(reference=reference.upper())
        .select_related(
            "organisation",
            "contact",
            "service",
            "contract",
            "team",
            "assignee",
            "first_contact_owner",
            "policy_version__policy",
            "merged_into",
        )
    )


def breaches_needing_rca(clocks: Iterable[Clock]) -> list[Breach]:
    ids = [clock.pk for clock in clocks]
    return list(
        Breach.objects.standing()
        .filter(clock_id__in=ids, rca__isnull=True, historical=False)
        .select_related("clock")
        .order_by("breached_at")
    )


# ---------------------------------------------------------------------------- the timeline


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened on a case, drawn by `template`.

    `kind` names what it is (message, note, activity, clock, warning, breach, rca, …);
    `public` entries are the ones a customer may read in the portal.
    """

    kind: str
    at: datetime
    template: str
    actor: User | None = None
    public: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)
    rank: int = 50
    seq: int = 0


@dataclass
class TimelineContext:
    """What every source may need, loaded once: the case's clocks and the metric names."""

    case: Case
    clocks: list[Clock]
    names: Mapping[str, str]
    public_only: bool = False

    @property
    def clock_ids(self) -> list[int]:
        return [clock.pk for clock in self.clocks]

    def metric(self, code: str) -> str:
        return self.names.get(code, code)


TimelineSource = Callable[[TimelineContext], Iterable[TimelineEntry]]
_SOURCES: list[tuple[TimelineSource, bool]] = []


def timeline_source(*, public: bool = False) -> Callable[[TimelineSource], TimelineSource]:
    """Register a source of timeline entries; `public` sources also feed the portal.

    A source of a public kind still marks each entry `public` or not: the portal shows
    only entries marked public.
    """

    def register(source: TimelineSource) -> TimelineSource:
        _SOURCES.append((source, public))
        return source

    return register


def timeline(
    case: Case,
    *,
    clocks: Sequence[Clock] | None = None,
    names: Mapping[str, str] | None = None,
    public_only: bool = False,
) -> list[TimelineEntry]:
    """Everything that happened on `case`, oldest first; the portal asks for public only."""
    context = TimelineContext(
        case=case,
        clocks=list(case_clocks(case) if clocks is None else clocks),
        names=metric_names() if names is None else names,
        public_only=public_only,
    )
    entries: list[TimelineEntry] = []
    for source, public in _SOURCES:
        if public_only and not public:
            continue
        entries.extend(source(context))
    if public_only:
        entries = [entry for entry in entries if entry.public]
    return sorted(entries, key=lambda entry: (entry.at, entry.rank, entry.seq))


VALUE_LABELS: dict[str, Mapping[str, Any]] = {
    ActivityKind.STATUS: dict(Status.choices),
    ActivityKind.PRIORITY: dict(Priority.choices),
    ActivityKind.TYPE: dict(CaseType.choices),
}
#: Activities a customer may read: what happened to its case, not who handled it inside.
PUBLIC_ACTIVITIES = frozenset(
    {ActivityKind.CREATED, ActivityKind.STATUS, ActivityKind.REOPENED, ActivityKind.MERGED}
)


def _label(kind: str, value: str) -> str:
    if kind == ActivityKind.CLASSIFIED and "/" in value:
        case_type, _slash, priority = value.partition("/")
        return f"{dict(CaseType.choices).get(case_type, case_type)} · " + str(
            dict(Priority.choices).get(priority, priority)
        )
    return str(VALUE_LABELS.get(kind, {}).get(value, value))


@timeline_source(public=True)
def _messages(context: TimelineContext) -> Iterator[TimelineEntry]:
    messages = Message.objects.filter(case=context.case).select_related("author")
    if context.public_only:
        messages = messages.exclude(kind=MessageKind.NOTE)
    for message in messages.prefetch_related("attachments"):
        yield TimelineEntry(
            kind="note" if message.kind == MessageKind.NOTE else "message",
            at=message.created_at,
            template="desk/timeline/message.html",
            actor=message.author,
            public=message.is_public,
            data={"message": message, "attachments": list(message.attachments.all())},
            rank=20,
            seq=message.pk,
        )


@timeline_source(public=True)
def _activities(context: TimelineContext) -> Iterator[TimelineEntry]:
    activities = Activity.objects.filter(case=context.case).select_related("actor")
    if context.public_only:
        activities = activities.filter(kind__in=PUBLIC_ACTIVITIES)
    for activity in activities:
        yield TimelineEntry(
            kind="activity",
            at=activity.at,
            template="desk/timeline/activity.html",
            actor=activity.actor,
            public=activity.kind in PUBLIC_ACTIVITIES,
            data={
                "activity": activity,
                "before": _label(activity.kind, activity.before),
                "after": _label(activity.kind, activity.after),
            },
            rank=0 if activity.kind == ActivityKind.CREATED else 10,
            seq=activity.pk,
        )


CLOCK_EVENT_LABELS = {
    EventKind.START: gettext_lazy("%(metric)s clock started"),
    EventKind.PAUSE: gettext_lazy("%(metric)s clock paused"),
    EventKind.RESUME: gettext_lazy("%(metric)s clock resumed"),
    EventKind.STOP: gettext_lazy("%(metric)s clock stopped"),
    EventKind.CANCEL: gettext_lazy("%(metric)s clock cancelled"),
    EventKind.RETARGET: gettext_lazy("%(metric)s target changed"),
    EventKind.REOPEN: gettext_lazy("%(metric)s clock running again"),
}


@timeline_source()
def _clock_events(context: TimelineContext) -> Iterator[TimelineEntry]:
    clocks = {clock.pk: clock for clock in context.clocks}
    events = ClockEvent.objects.filter(clock_id__in=list(clocks)).select_related("actor")
    for event in events.order_by("at", "seq"):
        clock = clocks[event.clock_id]
        label = CLOCK_EVENT_LABELS.get(event.kind, gettext_lazy("%(metric)s clock"))
        yield TimelineEntry(
            kind="clock",
            at=event.at,
            template="desk/timeline/clock.html",
            actor=event.actor,
            data={
                "event": event,
                "clock": clock,
                "title": str(label) % {"metric": context.metric(clock.metric)},
            },
            rank=30,
            seq=event.pk,
        )


@timeline_source()
def _warnings(context: TimelineContext) -> Iterator[TimelineEntry]:
    clocks = {clock.pk: clock for clock in context.clocks}
    for warning in ClockWarning.objects.filter(clock_id__in=list(clocks)):
        clock = clocks[warning.clock_id]
        yield TimelineEntry(
            kind="warning",
            at=warning.warned_at,
            template="desk/timeline/warning.html",
            data={"clock": clock, "metric": context.metric(clock.metric)},
            rank=40,
            seq=warning.pk,
        )


@timeline_source()
def _breaches(context: TimelineContext) -> Iterator[TimelineEntry]:
    clocks = {clock.pk: clock for clock in context.clocks}
    breaches = Breach.objects.filter(clock_id__in=list(clocks))
    for breach in breaches:
        clock = clocks[breach.clock_id]
        yield TimelineEntry(
            kind="breach",
            at=breach.breached_at,
            template="desk/timeline/breach.html",
            data={"breach": breach, "clock": clock, "metric": context.metric(breach.metric)},
            rank=45,
            seq=breach.pk,
        )


@timeline_source()
def _root_causes(context: TimelineContext) -> Iterator[TimelineEntry]:
    analyses = RootCauseAnalysis.objects.filter(
        breach__clock_id__in=context.clock_ids
    ).select_related("breach", "category", "author")
    for rca in analyses:
        yield TimelineEntry(
            kind="rca",
            at=rca.created_at,
            template="desk/timeline/rca.html",
            actor=rca.author,
            data={"rca": rca, "metric": context.metric(rca.breach.metric)},
            rank=48,
            seq=rca.pk,
        )


def description_repeated(case: Case, entries: Iterable[TimelineEntry]) -> bool:
    """Is the description also the first message (as intake with attachments writes it)?"""
    return any(
        entry.kind == "message"
        and entry.at == case.created_at
        and entry.data["message"].body == case.description
        for entry in entries
    )


# Kinds from breach handling (escalations, notices to the customer, compensation), read
# only where their models are installed, so the desk works with or without them.


def optional_model(app_label: str, name: str) -> type[models.Model] | None:
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _has_fields(model: type[models.Model], *names: str) -> bool:
    try:
        for name in names:
            model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


@timeline_source()
def _escalations(context: TimelineContext) -> Iterator[TimelineEntry]:
    model = optional_model("sla", "Escalation")
    if model is None or not _has_fields(model, "clock", "level", "fired_at"):
        return
    clocks = {clock.pk: clock for clock in context.clocks}
    fired = model.objects.filter(clock_id__in=list(clocks), fired_at__isnull=False)  # type: ignore[attr-defined]
    for escalation in fired:
        clock = clocks[escalation.clock_id]
        yield TimelineEntry(
            kind="escalation",
            at=escalation.fired_at,
            template="desk/timeline/escalation.html",
            data={"escalation": escalation, "metric": context.metric(clock.metric)},
            rank=46,
            seq=escalation.pk,
        )


@timeline_source()
def _notices(context: TimelineContext) -> Iterator[TimelineEntry]:
    """Breach notices to the customer (the portal shows the sent ones in a panel of their own)."""
    for notice in breach_notices(context.clocks):
        yield TimelineEntry(
            kind="notice",
            at=notice.sent_at or notice.send_at,
            template="desk/timeline/notice.html",
            public=notice.sent_at is not None,
            data={"notice": notice, "metric": context.metric(notice.breach.metric)},
            rank=47,
            seq=notice.pk,
        )


def breach_notices(clocks: Iterable[Clock], *, sent_only: bool = False) -> list[Any]:
    """The customer notices of these clocks' breaches, if breach notices are installed."""
    model = optional_model("sla", "BreachNotice")
    if model is None or not _has_fields(model, "breach", "reason", "send_at", "sent_at"):
        return []
    notices = model.objects.filter(  # type: ignore[attr-defined]
        breach__clock_id__in=[clock.pk for clock in clocks]
    ).select_related("breach")
    if sent_only:
        notices = notices.filter(sent_at__isnull=False)
    return list(notices.order_by("send_at", "pk"))


@timeline_source()
def _compensation(context: TimelineContext) -> Iterator[TimelineEntry]:
    model = optional_model("sla", "CompensationEntry")
    if model is None or not _has_fields(model, "breach", "amount", "currency", "created_at"):
        return
    entries = model.objects.filter(  # type: ignore[attr-defined]
        breach__clock_id__in=context.clock_ids
    ).select_related("breach")
    for entry in entries:
        yield TimelineEntry(
            kind="compensation",
            at=entry.created_at,
            template="desk/timeline/compensation.html",
            data={"entry": entry, "metric": context.metric(entry.breach.metric)},
            rank=49,
            seq=entry.pk,
        )


# ---------------------------------------------------------------------------- the portal


def portal_cases(user: User) -> QuerySet[Case]:
    """The organisation's cases, newest first, for its contacts."""
    return (
        Case.objects.visible_to(user)
        .select_related("service", "contact")
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class Promise:
    """What the customer was promised about an answer, and where it stands."""

    metric: str
    name: str
    due_at: datetime | None
    met_at: datetime | None
    state: str  # pending, waiting (paused), met, late, breached (still owed)


def promises(clocks: Iterable[Clock], now: datetime | None = None) -> dict[int, Promise]:
    """Per case id: the answer promise (complaint reply first, then first response)."""
    now = now or timezone.now()
    by_case: dict[int, dict[str, Clock]] = defaultdict(dict)
    for clock in clocks:
        if clock.metric in PROMISE_METRICS and clock.status != ClockStatus.CANCELLED:
            by_case[clock.subject_id][clock.metric] = clock
    found = {}
    for case_id, metrics in by_case.items():
        code = next(code for code in PROMISE_METRICS if code in metrics)
        found[case_id] = _promise(metrics[code], now)
    return found


def _promise(clock: Clock, now: datetime) -> Promise:
    if clock.status == ClockStatus.STOPPED:
        state = "late" if clock.stopped_late else "met"
    elif clock.status == ClockStatus.PAUSED:
        state = "waiting"
    elif _breached(clock, now):
        state = "breached"
    else:
        state = "pending"
    name = {"complaint_reply": _("Reply to your complaint"), "first_response": _("First answer")}
    return Promise(
        metric=clock.metric,
        name=name.get(clock.metric, clock.metric),
        due_at=clock.due_at,
        met_at=clock.stopped_at if clock.status == ClockStatus.STOPPED else None,
        state=state,
    )


def promise_clocks(case_ids: Iterable[int]) -> list[Clock]:
    return list(_case_clocks().filter(subject_id__in=list(case_ids), metric__in=PROMISE_METRICS))


# ---------------------------------------------------------------------------- the manager view
#
# The desk's figures of the manager view (web `dashboard`), defined in docs/kpis.md
# ("Manager view"). `teams` is the reader's scope from `sla.queries.team_scope`: None for
# the whole desk, else the teams a team lead oversees. Each read costs a fixed number of
# queries whatever the number of cases.
#
# These imports sit here, not at the top, because this section was appended as a whole
# while the functions above were being changed; they can join the others at any time.
from django.db.models import Count  # noqa: E402

from assura.core.models import Team  # noqa: E402
from assura.sla import queries as sla_queries  # noqa: E402


def scoped_cases(user: User, teams: QuerySet[Team] | None) -> QuerySet[Case]:
    """Cases `user` may read, narrowed to the cases owned by `teams` when a scope is given."""
    cases = Case.objects.visible_to(user)
    return cases if teams is None else cases.filter(team__in=teams)


@dataclass(frozen=True)
class Expedited:
    """The expedite channel in brief: how many cases wait in it and the longest waiting."""

    count: int
    cases: list[Case]


def expedited(user: User, teams: QuerySet[Team] | None, limit: int) -> Expedited:
    """Open expedited cases in scope, the longest waiting first (two queries).

    The same cases as the expedite page (`sla:expedite`): open, `expedited_at` set.
    """
    cases = (
        scoped_cases(user, teams)
        .active()
        .filter(expedited_at__isnull=False)
        .select_related("organisation", "team", "assignee")
        .order_by("expedited_at", "pk")
    )
    count = cases.count()
    return Expedited(count=count, cases=list(cases[:limit]) if count else [])


@dataclass(frozen=True)
class AtRiskCases:
    """Open cases with a clock at risk: how many, and the soonest due, with those clocks."""

    count: int
    rows: list[QueueRow]
    now: datetime


def at_risk_cases(
    user: User,
    teams: QuerySet[Team] | None,
    now: datetime,
    within: timedelta,
    limit: int,
    names: Mapping[str, str] | None = None,
) -> AtRiskCases:
    """Open cases in scope with a clock at risk (`sla.queries.at_risk`), soonest due first.

    Each row holds the case and its at-risk clocks, as read at `now` (remaining time,
    working time left off hours). Three queries: the distinct count, the clocks of the
    `limit` soonest cases, and those cases.
    """
    cases = scoped_cases(user, teams).active()
    clocks = sla_queries.at_risk(
        _case_clocks().visible_to(user).filter(subject_id__in=cases.values("pk")), now, within
    )
    count = clocks.aggregate(n=Count("subject_id", distinct=True))["n"] or 0
    if not count:
        return AtRiskCases(count=0, rows=[], now=now)
    # The soonest `limit` cases: their first clock is among the first `limit` × metrics
    # clocks, so a bounded read finds them without loading every risky clock.
    by_case: dict[int, list[Clock]] = {}
    for clock in clocks.select_related("calendar_version")[: limit * 8]:
        if clock.subject_id in by_case or len(by_case) < limit:
            by_case.setdefault(clock.subject_id, []).append(clock)
    found = {
        case.pk: case
        for case in Case.objects.filter(pk__in=list(by_case)).select_related(
            "organisation", "team", "assignee"
        )
    }
    names = metric_names() if names is None else names
    rows = [
        QueueRow(found[case_id], clock_views(clocks_of_case, now, names))
        for case_id, clocks_of_case in by_case.items()
        if case_id in found
    ]
    return AtRiskCases(count=count, rows=rows, now=now)


@dataclass(frozen=True)
class Load:
    """Open work of a team or a person (docs/kpis.md, "Team load")."""

    open: int = 0
    unassigned: int = 0
    at_risk: int = 0
    breached: int = 0


@dataclass(frozen=True)
class PersonLoad:
    person: User
    load: Load


@dataclass(frozen=True)
class TeamLoad:
    team: Team
    load: Load
    people: list[PersonLoad]


def team_load(
    user: User, teams: QuerySet[Team] | None, now: datetime, within: timedelta
) -> list[TeamLoad]:
    """Per active team in scope, and per active member: open cases, unassigned ones, cases
    with a clock at risk within `within`, and cases with an open clock already breached.

    A team's figures count the open cases it owns; a person's count the open cases
    assigned to it within the reader's scope, whichever team owns them. Four queries:
    teams, members, then the counts per team and per assignee, each in one grouped query.
    """
    active_teams = Team.objects.visible_to(user).filter(is_active=True)
    if teams is not None:
        active_teams = active_teams.filter(pk__in=teams.values("pk"))
    team_list = list(active_teams.select_related("lead").order_by("name", "pk"))
    if not team_list:
        return []
    team_ids = [team.pk for team in team_list]
    members = list(
        User.objects.filter(team_id__in=team_ids, is_active=True).order_by(
            "display_name", "username"
        )
    )
    case_clocks = _case_clocks().filter(subject_id=OuterRef("pk"))
    figures = {
        "n_open": Count("pk"),
        "n_unassigned": Count("pk", filter=Q(assignee__isnull=True)),
        "n_at_risk": Count("pk", filter=Q(Exists(sla_queries.at_risk(case_clocks, now, within)))),
        "n_breached": Count("pk", filter=Q(Exists(sla_queries.breached_open(case_clocks, now)))),
    }
    open_cases = scoped_cases(user, teams).active()
    per_team = {
        row["team_id"]: _load(row)
        for row in open_cases.filter(team_id__in=team_ids)
        .values("team_id")
        .annotate(**figures)
        .order_by()
    }
    per_person = {
        row["assignee_id"]: _load(row)
        for row in open_cases.filter(assignee_id__in=[person.pk for person in members])
        .values("assignee_id")
        .annotate(**figures)
        .order_by()
    }
    return [
        TeamLoad(
            team=team,
            load=per_team.get(team.pk, Load()),
            people=[
                PersonLoad(person, per_person.get(person.pk, Load()))
                for person in members
                if person.team_id == team.pk
            ],
        )
        for team in team_list
    ]


def _load(row: Mapping[str, Any]) -> Load:
    return Load(
        open=row["n_open"],
        unassigned=row["n_unassigned"],
        at_risk=row["n_at_risk"],
        breached=row["n_breached"],
    )
