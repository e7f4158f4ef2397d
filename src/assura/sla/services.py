"""Every change to a clock: append an event, replay, store the figures, record breaches.

Callers (the desk, follow-ups, imports, a calendar change) never set a clock's derived
columns themselves; they record what happened, and `recompute` derives the rest from
the whole history with the pure `replay` function. A breach or warning that the replay
finds is written in the same transaction, once (unique per clock), and announced with
`breaches_recorded` / `warnings_recorded` after the commit. Inside `history()` (an import
replaying another help desk's past) they are written marked historical and announced to
nobody: measured, never acted on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from assura.calendars.models import CalendarVersion, work_calendar_for
from assura.commitments.models import PolicyVersion
from assura.core.audit import acting_as
from assura.core.models import Organisation, Team, User
from assura.core.permissions import Action, can
from assura.sla import compensation, escalation, replay
from assura.sla.models import (
    OPEN_STATUSES,
    Breach,
    CauseCategory,
    Clock,
    ClockEvent,
    ClockStatus,
    ClockWarning,
    Escalation,
    EventKind,
    RootCauseAnalysis,
)

#: Sent after commit with `breach_ids`: the breaches just recorded.
breaches_recorded = Signal()
#: Sent after commit with `warning_ids`: the warnings just recorded.
warnings_recorded = Signal()

DEFAULT_WARNING_FRACTION = 0.75

#: Set inside `history()`: what is recorded is another help desk's past.
_replaying_history: ContextVar[bool] = ContextVar("sla_replaying_history", default=False)


@contextmanager
def history() -> Iterator[None]:
    """Record the clock outcomes found inside as imported history (see docs/sla.md).

    A breach or warning first recorded inside is marked `historical`: it counts in
    compliance and reports like any other, but it is not announced, so nothing acts on
    it (no compensation, no customer notice, no staff message, no follow-up). Only the
    recording is marked: a history ends with `end_history`, and the clocks still open
    after it are live from then on.
    """
    token = _replaying_history.set(True)
    try:
        yield
    finally:
        _replaying_history.reset(token)


def end_history(clocks: Iterable[Clock], now: datetime | None = None) -> None:
    """Close an imported history: what the open clocks passed before `now` is history.

    Clocks are recomputed as of each event's own time, so a clock still running after
    the last imported event has not recorded what it passed since; left alone, the
    watcher would record that warning or breach just after the import, as a live one.
    Here the running clocks are recomputed as of `now` inside `history()`, and the
    escalation levels of the open clocks whose instant has already passed are set
    aside: they keep their planned instant but lose their due instant, so the timer
    never fires them (a later live change that moves the instant plans them anew).
    From `now` on the clocks are live: what they pass later is handled as usual.
    """
    now = now or timezone.now()
    with history(), transaction.atomic():
        open_ids = [clock.pk for clock in clocks if clock.status in OPEN_STATUSES]
        running = Clock.objects.select_for_update().filter(
            pk__in=open_ids, status=ClockStatus.RUNNING
        )
        for clock in running.order_by("pk"):
            recompute(clock, now=now)
        Escalation.objects.filter(
            clock_id__in=open_ids, fired_at__isnull=True, due_at__lte=now
        ).update(due_at=None)


@dataclass(frozen=True)
class ClockStart:
    """One clock to create and start: what `start_clocks` needs to know about it."""

    subject: models.Model
    metric: str
    target: timedelta
    calendar_version: CalendarVersion
    at: datetime
    actor: User | None = None
    warning_fraction: float = DEFAULT_WARNING_FRACTION
    organisation: Organisation | None = None
    team: Team | None = None
    policy_version: PolicyVersion | None = None


def start_clock(
    *,
    subject: models.Model,
    metric: str,
    target: timedelta,
    calendar_version: CalendarVersion,
    at: datetime,
    actor: User | None = None,
    warning_fraction: float = DEFAULT_WARNING_FRACTION,
    organisation: Organisation | None = None,
    team: Team | None = None,
    policy_version: PolicyVersion | None = None,
    now: datetime | None = None,
) -> Clock:
    """Create the clock for one metric of `subject` and start it at `at`."""
    start = ClockStart(
        subject=subject,
        metric=metric,
        target=target,
        calendar_version=calendar_version,
        at=at,
        actor=actor,
        warning_fraction=warning_fraction,
        organisation=organisation,
        team=team,
        policy_version=policy_version,
    )
    return start_clocks([start], now=now)[0]


def start_clocks(starts: Sequence[ClockStart], *, now: datetime | None = None) -> list[Clock]:
    """Create and start several clocks in a handful of statements, whatever their number.

    A new clock's whole history is its start event, so it is replayed in memory before
    anything is written: the clocks go in with their figures, then their start events and
    escalation plans, one multi-row INSERT each. Opening a case starts three clocks, and
    case creation is the API's busiest write (see bench/RESULTS.md). What `record` would
    derive is exactly what is written here: a test replays the stored events to check it.
    """
    for start in starts:
        _check_target(start.target, start.warning_fraction)
        if timezone.is_naive(start.at):
            raise ValidationError(_("Event times must carry a time zone."))
    clocks, events, states = [], [], []
    for start in starts:
        clock, event = _new_clock(start)
        calendars = {str(start.calendar_version.pk): _work_calendar(start.calendar_version)}
        as_of = max(now or timezone.now(), start.at)
        state = replay.replay([event.as_replay_event()], calendars, as_of)
        _apply(clock, state, as_of)
        clocks.append(clock)
        events.append(event)
        states.append(state)
    # No savepoint of its own: a batch is all or nothing, and so is any caller's transaction.
    with transaction.atomic(savepoint=False):
        Clock.objects.bulk_create(clocks)
        for clock, event in zip(clocks, events, strict=True):
            event.clock = clock
        ClockEvent.objects.bulk_create(events)
        for clock, state in zip(clocks, states, strict=True):
            if state.warned_at is not None or state.breached_at is not None:
                _record_outcomes(clock, state)
        escalation.plan_new(list(zip(clocks, events, states, strict=True)))
    return clocks


def _new_clock(start: ClockStart) -> tuple[Clock, ClockEvent]:
    clock = Clock(
        subject_type=ContentType.objects.get_for_model(start.subject),
        subject_id=start.subject.pk,
        metric=start.metric,
        organisation=start.organisation,
        team=start.team,
        calendar_version=start.calendar_version,
        policy_version=start.policy_version,
        target=start.target,
        warning_fraction=start.warning_fraction,
    )
    event = ClockEvent(
        seq=1,
        kind=EventKind.START,
        at=start.at,
        actor=start.actor,
        target=start.target,
        warning_fraction=start.warning_fraction,
        calendar_version=start.calendar_version,
    )
    return clock, event


class Transition(Protocol):
    def __call__(
        self,
        clock: Clock,
        at: datetime,
        *,
        actor: User | None = None,
        reason: str = "",
        now: datetime | None = None,
    ) -> Clock: ...


def _transition(kind: str) -> Transition:
    """An event that carries nothing but its instant, recorded through `record`."""

    def apply(
        clock: Clock,
        at: datetime,
        *,
        actor: User | None = None,
        reason: str = "",
        now: datetime | None = None,
    ) -> Clock:
        return record(clock, kind, at, actor=actor, reason=reason, now=now)

    apply.__name__ = apply.__qualname__ = str(kind)
    return apply


pause = _transition(EventKind.PAUSE)
resume = _transition(EventKind.RESUME)
stop = _transition(EventKind.STOP)
cancel = _transition(EventKind.CANCEL)
reopen = _transition(EventKind.REOPEN)


def retarget(
    clock: Clock,
    at: datetime,
    *,
    target: timedelta | None = None,
    calendar_version: CalendarVersion | None = None,
    warning_fraction: float | None = None,
    actor: User | None = None,
    reason: str = "",
    policy_version: PolicyVersion | None = None,
    now: datetime | None = None,
) -> Clock:
    """New target and/or calendar, applied from the clock's start (see docs/sla.md).

    `policy_version` records which promise the new target comes from; the event itself
    carries only what the replay needs.
    """
    if target is None and calendar_version is None and warning_fraction is None:
        raise ValidationError(_("A retarget changes the target, the calendar or the warning."))
    _check_target(target or clock.target, warning_fraction or clock.warning_fraction)
    if policy_version is not None and policy_version.pk != clock.policy_version_id:
        Clock.objects.filter(pk=clock.pk).update(policy_version=policy_version)
        clock.policy_version = policy_version
    return record(
        clock,
        EventKind.RETARGET,
        at,
        actor=actor,
        target=target,
        calendar_version=calendar_version,
        warning_fraction=warning_fraction,
        reason=reason,
        now=now,
    )


def record(
    clock: Clock,
    kind: str,
    at: datetime,
    *,
    actor: User | None = None,
    target: timedelta | None = None,
    calendar_version: CalendarVersion | None = None,
    warning_fraction: float | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Clock:
    """Append one event (at the instant it happened) and re-derive the clock."""
    if timezone.is_naive(at):
        raise ValidationError(_("Event times must carry a time zone."))
    with transaction.atomic():
        locked = Clock.objects.select_for_update().get(pk=clock.pk)
        _append(
            locked,
            kind,
            at,
            actor=actor,
            target=target,
            calendar_version=calendar_version,
            warning_fraction=warning_fraction,
            reason=reason,
        )
        return recompute(locked, now=now)


def _append(clock: Clock, kind: str, at: datetime, **fields: object) -> ClockEvent:
    last = clock.events.aggregate(last=Max("seq"))["last"] or 0
    return ClockEvent.objects.create(clock=clock, seq=last + 1, kind=kind, at=at, **fields)


def state_of(clock: Clock, now: datetime | None = None) -> replay.ClockState:
    """The clock as of `now`, replayed from its events (for display and checks)."""
    events = list(clock.events.all())
    # Never as of a moment before the latest known event: a late-arriving earlier event
    # must not hide the later ones from the stored figures.
    as_of = max([now or timezone.now(), *(event.at for event in events)])
    return replay.replay([event.as_replay_event() for event in events], _calendars(events), as_of)


def recompute(clock: Clock, now: datetime | None = None) -> Clock:
    """Replay the clock's events as of `now`, store the figures, record breach/warning."""
    state = state_of(clock, now)
    _apply(clock, state, state.as_of)
    clock.save()
    _record_outcomes(clock, state)
    escalation.plan(clock, state)
    return clock


def _apply(clock: Clock, state: replay.ClockState, now: datetime) -> None:
    """Copy the replayed figures onto the clock row (the caller saves it)."""
    clock.status = ClockStatus(state.status.value)
    if state.calendar_key:
        clock.calendar_version_id = int(state.calendar_key)
    clock.target = state.target or clock.target
    clock.warning_fraction = state.warning_fraction or clock.warning_fraction
    clock.started_at = state.started_at
    clock.paused_since = state.paused_since
    clock.stopped_at = state.stopped_at or state.cancelled_at
    clock.due_at = state.due_at
    clock.warning_at = state.warning_at
    clock.warned_at = state.warned_at
    clock.breached_at = state.breached_at
    clock.breaches_at = state.breaches_at
    clock.met_at = state.met_at
    clock.stopped_late = state.stopped_late
    clock.elapsed = state.elapsed
    clock.paused = state.paused
    clock.computed_at = now
    clock.anomalies = [
        {"code": a.code.value, "event": a.event.kind.value, "at": a.event.at.isoformat()}
        for a in state.anomalies
    ]
    clock.next_check_at = next_check(clock)


def next_check(clock: Clock) -> datetime | None:
    """The next instant the watcher must look: the warning, then the due instant.

    Only a running clock can pass either; a paused or stopped one changes only through
    a new event, which recomputes it anyway.
    """
    if clock.status != ClockStatus.RUNNING:
        return None
    if clock.warned_at is None and clock.warning_at is not None:
        return clock.warning_at
    if clock.breached_at is None:
        return clock.breaches_at
    return None


def _record_outcomes(clock: Clock, state: replay.ClockState) -> None:
    """Write the warning and breach the replay found, once; withdraw or move a breach.

    Inside `history()` new rows are marked historical and not announced. The mark is
    set once, when the row is created: a historical breach that a later recompute moves,
    withdraws or reinstates stays historical, and a live one stays live.
    """
    historical = _replaying_history.get()
    if state.warned_at is not None:
        warning, created = ClockWarning.objects.get_or_create(
            clock=clock, defaults={"warned_at": state.warned_at, "historical": historical}
        )
        if created and not historical:
            _announce(warnings_recorded, warning_ids=[warning.pk])
    breach = Breach.objects.filter(clock=clock).first()
    if state.breached_at is None:
        if breach is not None and breach.withdrawn_at is None:
            breach.withdrawn_at = timezone.now()
            breach.withdrawn_reason = _("The recomputed clock is no longer breached.")
            breach.save(update_fields=["withdrawn_at", "withdrawn_reason"])
            compensation.void(breach, breach.withdrawn_at)
        return
    if breach is None:
        breach = Breach.objects.create(
            clock=clock,
            breached_at=state.breached_at,
            metric=clock.metric,
            target=clock.target,
            historical=historical,
        )
        if not historical:
            _announce(breaches_recorded, breach_ids=[breach.pk])
    elif breach.breached_at != state.breached_at or breach.withdrawn_at is not None:
        withdrawn = breach.withdrawn_at is not None
        breach.breached_at, breach.withdrawn_at, breach.withdrawn_reason = (
            state.breached_at,
            None,
            "",
        )
        breach.save(update_fields=["breached_at", "withdrawn_at", "withdrawn_reason"])
        if withdrawn:
            compensation.reinstate(breach)


def _announce(signal: Signal, **payload: list[int]) -> None:
    transaction.on_commit(lambda: signal.send(sender=Clock, **payload))


def _calendars(events: Iterable[ClockEvent]) -> dict[str, replay.Calendar]:
    ids = {event.calendar_version_id for event in events if event.calendar_version_id}
    versions = CalendarVersion.objects.filter(pk__in=ids).only("pk", "fingerprint", "definition")
    return {str(v.pk): _work_calendar(v) for v in versions}


def _work_calendar(version: CalendarVersion) -> replay.Calendar:
    return work_calendar_for(version.fingerprint, version.definition)


def _check_target(target: timedelta, warning_fraction: float) -> None:
    if target <= timedelta(0):
        raise ValidationError({"target": _("A target must be longer than zero.")})
    if not 0 < warning_fraction <= 1:
        raise ValidationError(
            {"warning_fraction": _("The warning comes between 0 % and 100 % of the target.")}
        )


def write_root_cause(
    *,
    actor: User,
    breach: Breach,
    category: CauseCategory,
    description: str,
    corrective_action: str,
    improvement_reference: str = "",
) -> RootCauseAnalysis:
    """Record (or revise) why a promise was broken; the case may close once each has one."""
    if not can(actor, Action.WORK_CASES, breach.clock):
        raise PermissionDenied(_("You are not allowed to analyse this breach."))
    errors = {}
    if not description.strip():
        errors["description"] = _("Describe what happened.")
    if not corrective_action.strip():
        errors["corrective_action"] = _("Say what will change so it does not happen again.")
    if not category.is_active:
        errors["category"] = _("Choose an active cause category.")
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        rca, _created = RootCauseAnalysis.objects.update_or_create(
            breach=breach,
            defaults={
                "category": category,
                "description": description.strip(),
                "corrective_action": corrective_action.strip(),
                "improvement_reference": improvement_reference.strip()[:100],
                "author": actor,
            },
        )
    return rca


def save_cause_category(
    *, actor: User | None, code: str, name: str, position: int = 100, is_active: bool = True
) -> CauseCategory:
    """Add a root-cause category, or rename, reorder or (de)activate the one with `code`.

    Categories are never deleted: analyses written under one keep pointing at it, and a
    deactivated category is simply no longer offered for new analyses.
    """
    from assura.core.models import code_validator

    if actor is not None and not can(actor, Action.MANAGE_CONFIGURATION):
        raise PermissionDenied(_("You are not allowed to change cause categories."))
    code = code.strip()
    try:
        code_validator(code)
    except ValidationError as error:
        raise ValidationError({"code": error.messages}) from error
    category = CauseCategory.objects.filter(code=code).first() or CauseCategory(code=code)
    category.name, category.position, category.is_active = name.strip(), position, is_active
    category.full_clean()
    with acting_as(actor):
        category.save()
    return category


def move_cause_category(*, actor: User | None, code: str, step: int) -> None:
    """Move a category one place up (step −1) or down (+1) in the list analysts pick from.

    The whole list is renumbered 10, 20, 30… in its new order, so equal or crowded
    positions never make a move silently do nothing.
    """
    if actor is not None and not can(actor, Action.MANAGE_CONFIGURATION):
        raise PermissionDenied(_("You are not allowed to change cause categories."))
    ordered = list(CauseCategory.objects.order_by("position", "name", "pk"))
    index = next((i for i, c in enumerate(ordered) if c.code == code), None)
    if index is None:
        raise ValidationError(_("Unknown cause category."))
    target = index + (1 if step > 0 else -1)
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    with acting_as(actor):
        for number, category in enumerate(ordered, start=1):
            if category.position != number * 10:
                save_cause_category(
                    actor=actor,
                    code=category.code,
                    name=category.name,
                    position=number * 10,
                    is_active=category.is_active,
                )
