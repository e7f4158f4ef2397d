"""The escalation matrix at work: plan each level of a clock, fire it once when due.

Planning. Whenever a clock is recomputed (`sla.services.recompute` calls `plan`), each
level of its policy version gets one `Escalation` row (unique per clock and level) with
the instant the clock's elapsed working time passes (1 + offset) × target. The instant
comes from the same pure replay as the breach: the clock's own events plus a retarget
to the scaled target, so pauses, calendars and retargets count exactly as they do for
the breach itself, and the level at offset 0 fires at the breach instant. Levels of a
stopped or cancelled clock that have not fired are dropped; fired ones stay as history.

Firing. `EscalationTimer` runs in `assura worker`. It claims one due level at a time
with a conditional UPDATE (`fired_at IS NULL`, rows locked with SKIP LOCKED where the
database has it) in the same transaction as the level's effects: a notification per
recipient through the outbox (deduplicated per level and person) and, for a level that
expedites or raises the priority, the `escalation_fired` signal, which the owner of the
clock's subject (the desk, for cases) turns into its own service calls. A crash before
the commit leaves the level unfired and it is claimed again; nothing happens twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assura.calendars.models import CalendarVersion, work_calendar_for
from assura.commitments.models import EscalationRecipient, Metric, Priority
from assura.core.models import Role, User
from assura.notify import services as notify
from assura.sla import replay
from assura.sla.models import Clock, ClockEvent, ClockStatus, Escalation

log = logging.getLogger("assura.sla.escalation")

#: Sent inside the firing transaction when a level expedites the subject or raises its
#: priority: `subject` (the clock's subject), `clock`, `escalation`, `expedite` (bool),
#: `raise_priority_to` (a priority higher than the subject's, or ""), `at` and `note`.
#: The app that owns the subject connects it to its own services.
escalation_fired = Signal()

BATCH = 200
#: Seconds of work per round of the timer.
BUDGET = 1.0
RETRY_AFTER = timedelta(minutes=1)
MAX_RETRY_AFTER = timedelta(hours=1)

#: Priorities from the most to the least pressing.
PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)


@dataclass(frozen=True)
class Level:
    """One level of a policy version's matrix, as frozen in its definition."""

    level: int
    offset: Decimal
    recipients: tuple[str, ...]
    people: tuple[int, ...]
    expedite: bool
    raise_priority_to: str

    @classmethod
    def from_definition(cls, data: Mapping[str, Any]) -> Level:
        return cls(
            level=int(data["level"]),
            offset=Decimal(str(data.get("offset", 0))).quantize(Decimal("0.001")),
            recipients=tuple(data.get("recipients") or ()),
            people=tuple(int(pk) for pk in data.get("people") or ()),
            expedite=bool(data.get("expedite")),
            raise_priority_to=str(data.get("raise_priority_to") or ""),
        )

    def fields(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "recipients": list(self.recipients),
            "people": list(self.people),
            "expedite": self.expedite,
            "raise_priority_to": self.raise_priority_to,
        }


def levels_of(definition: Mapping[str, Any] | None) -> list[Level]:
    return [Level.from_definition(item) for item in (definition or {}).get("escalations", [])]


# ---------------------------------------------------------------------------- planning


def planned_instants(
    events: Sequence[replay.ClockEvent],
    calendars: Mapping[str, replay.Calendar],
    levels: Iterable[Level],
    target: timedelta,
    as_of: datetime,
) -> dict[int, datetime | None]:
    """When each level's share of the target is exceeded, replayed exactly.

    A retarget to (1 + offset) × target, placed after every real event, applies from
    the start like any retarget, so the replay's breach instant is the level's instant.
    None while a paused clock has not yet reached a level.
    """
    if not events:
        return {}
    last = max(events, key=lambda event: (event.at, event.seq))
    instants: dict[int, datetime | None] = {}
    for level in levels:
        scaled = target * float(1 + level.offset)
        if scaled <= timedelta(0):
            instants[level.level] = None
            continue
        extra = replay.ClockEvent.retarget(last.at, target=scaled, seq=last.seq + 1)
        instants[level.level] = replay.replay([*events, extra], calendars, as_of).breaches_at
    return instants


def plan(clock: Clock, state: replay.ClockState) -> None:
    """Bring the clock's escalation rows in line with its policy and its new state."""
    if clock.policy_version_id is None:
        return
    pending = Escalation.objects.filter(clock=clock, fired_at__isnull=True)
    if clock.status not in (ClockStatus.RUNNING, ClockStatus.PAUSED):
        pending.delete()
        return
    levels = levels_of(clock.policy_version.definition)  # type: ignore[union-attr]
    if not levels:
        pending.delete()
        return
    events = [event.as_replay_event() for event in clock.events.all()]
    instants = planned_instants(events, _calendars(events), levels, clock.target, state.as_of)
    existing = {row.level: row for row in Escalation.objects.filter(clock=clock)}
    wanted = {level.level for level in levels}
    if any(row.fired_at is None and number not in wanted for number, row in existing.items()):
        pending.exclude(level__in=wanted).delete()
    fresh = []
    for level in levels:
        planned = instants.get(level.level)
        row = existing.get(level.level)
        if row is None:
            fresh.append(
                Escalation(
                    clock=clock,
                    level=level.level,
                    planned_at=planned,
                    due_at=planned,
                    **level.fields(),
                )
            )
        elif row.fired_at is None and (
            row.planned_at != planned or _definition_of(row) != level.fields()
        ):
            Escalation.objects.filter(pk=row.pk, fired_at__isnull=True).update(
                planned_at=planned, due_at=planned, attempts=0, last_error="", **level.fields()
            )
    Escalation.objects.bulk_create(fresh, ignore_conflicts=True)


def plan_new(started: Sequence[tuple[Clock, ClockEvent, replay.ClockState]]) -> None:
    """`plan` for clocks just created with their start event: one INSERT for them all.

    A new clock has no escalation rows yet, so there is nothing to compare or delete;
    its events are already in memory (`(clock, start event, state)` triples), and so is
    its policy version.
    """
    rows = []
    for clock, event, state in started:
        if clock.policy_version is None or clock.status not in (
            ClockStatus.RUNNING,
            ClockStatus.PAUSED,
        ):
            continue
        levels = levels_of(clock.policy_version.definition)
        version = event.calendar_version
        calendars = {str(version.pk): work_calendar_for(version.fingerprint, version.definition)}
        instants = planned_instants(
            [event.as_replay_event()], calendars, levels, clock.target, state.as_of
        )
        for level in levels:
            planned = instants.get(level.level)
            rows.append(
                Escalation(
                    clock=clock,
                    level=level.level,
                    planned_at=planned,
                    due_at=planned,
                    **level.fields(),
                )
            )
    Escalation.objects.bulk_create(rows)


def _definition_of(row: Escalation) -> dict[str, Any]:
    return {
        "offset": Decimal(row.offset).quantize(Decimal("0.001")),
        "recipients": list(row.recipients),
        "people": list(row.people),
        "expedite": row.expedite,
        "raise_priority_to": row.raise_priority_to,
    }


def _calendars(events: Iterable[replay.ClockEvent]) -> dict[str, replay.Calendar]:
    keys = {int(event.calendar_key) for event in events if event.calendar_key}
    versions = CalendarVersion.objects.filter(pk__in=keys).only("pk", "fingerprint", "definition")
    return {str(v.pk): work_calendar_for(v.fingerprint, v.definition) for v in versions}


# ---------------------------------------------------------------------------- firing


class EscalationTimer:
    """The timer registered with the worker (see `assura.core.timers`).

    A round stops after `BUDGET` seconds and asks to run again at once, so a backlog
    (after downtime, say) never holds up the worker's other timers.
    """

    name = "sla-escalations"

    def __init__(self, batch: int = BATCH) -> None:
        self.batch = batch

    def run_due(self, now: datetime) -> datetime | None:
        deadline = time.monotonic() + BUDGET
        while fire_due(now, limit=self.batch, deadline=deadline) >= self.batch:
            if time.monotonic() > deadline:
                return now
        return next_instant()


def next_instant() -> datetime | None:
    return (
        Escalation.objects.filter(fired_at__isnull=True, due_at__isnull=False)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


def fire_due(now: datetime, *, limit: int = BATCH, deadline: float | None = None) -> int:
    """Fire the levels due at `now`, up to `limit` or until the monotonic `deadline`;
    returns how many were looked at (`limit` when more may be waiting)."""
    due = list(
        Escalation.objects.filter(fired_at__isnull=True, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        if deadline is not None and time.monotonic() > deadline:
            return limit
        try:
            with transaction.atomic():
                escalation = _claim(pk, now)
                if escalation is not None:
                    _fire(escalation, now)
        except Exception as error:
            log.exception("escalation %s failed; retried later", pk)
            _postpone(pk, now, error)
    return len(due)


def _claim(pk: int, now: datetime) -> Escalation | None:
    """Lock and mark one due level as fired; None when another worker has it."""
    rows = Escalation.objects.filter(pk=pk, fired_at__isnull=True, due_at__lte=now)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    escalation = rows.select_related("clock").first()
    if escalation is None:
        return None
    if not Escalation.objects.filter(pk=pk, fired_at__isnull=True).update(fired_at=now):
        return None
    escalation.fired_at = now
    return escalation


def _postpone(pk: int, now: datetime, error: Exception) -> None:
    """A failed level waits longer after each attempt, so it cannot block the timer."""
    row = Escalation.objects.filter(pk=pk, fired_at__isnull=True).first()
    if row is None:
        return
    wait = min(RETRY_AFTER * 2**row.attempts, MAX_RETRY_AFTER)
    Escalation.objects.filter(pk=pk, fired_at__isnull=True).update(
        attempts=row.attempts + 1, last_error=str(error)[:500], due_at=now + wait
    )


def _fire(escalation: Escalation, now: datetime) -> None:
    clock = escalation.clock
    subject = clock.subject
    people = recipients(escalation, clock, subject)
    metric = Metric.objects.filter(code=clock.metric).first()
    for person in people:
        _notify(escalation, clock, subject, person, metric)
    escalation.notified = [person.pk for person in people]
    escalation.save(update_fields=["notified"])
    raise_to = priority_raise(subject, escalation.raise_priority_to)
    if subject is not None and (escalation.expedite or raise_to):
        escalation_fired.send(
            sender=Escalation,
            subject=subject,
            clock=clock,
            escalation=escalation,
            expedite=escalation.expedite,
            raise_priority_to=raise_to,
            at=now,
            note=_("escalation level %(level)s (%(metric)s)")
            % {"level": escalation.level, "metric": clock.metric},
        )


def priority_raise(subject: object, target: str) -> str:
    """`target` when it is more pressing than the subject's priority, else ""."""
    current = getattr(subject, "priority", None)
    if not target or target not in PRIORITY_ORDER or current not in PRIORITY_ORDER:
        return ""
    return target if PRIORITY_ORDER.index(target) < PRIORITY_ORDER.index(current) else ""


def recipients(escalation: Escalation, clock: Clock, subject: object) -> list[User]:
    """The people a level names, by role on the subject or by name; active staff only."""
    found: dict[int, User] = {}

    def add(people: Iterable[User | None]) -> None:
        for person in people:
            if person is not None and person.is_active and person.is_staff_member:
                found.setdefault(person.pk, person)

    roles = set(escalation.recipients)
    if EscalationRecipient.ASSIGNEE in roles:
        add([getattr(subject, "assignee", None)])
    if EscalationRecipient.FIRST_CONTACT_OWNER in roles:
        add([getattr(subject, "first_contact_owner", None)])
    if EscalationRecipient.TEAM_LEAD in roles:
        team = clock.team or getattr(subject, "team", None)
        add([team.lead if team is not None else None])
    by_role = {
        EscalationRecipient.MANAGER: Role.MANAGER,
        EscalationRecipient.QUALITY_MANAGER: Role.QUALITY_MANAGER,
        EscalationRecipient.DIRECTOR: Role.ADMIN,
    }
    wanted_roles = [role for key, role in by_role.items() if key in roles]
    condition = Q(role__in=wanted_roles) | Q(pk__in=escalation.people)
    if wanted_roles or escalation.people:
        add(User.objects.filter(condition, is_active=True).order_by("pk"))
    return list(found.values())


def _notify(
    escalation: Escalation, clock: Clock, subject: object, person: User, metric: Metric | None
) -> None:
    reference = reference_of(subject)
    with translation.override(person.language or settings.LANGUAGE_CODE):
        name = str(metric) if metric is not None else clock.metric
        title = _("[%(reference)s] Escalation level %(level)s: %(metric)s") % {
            "reference": reference,
            "level": escalation.level,
            "metric": name,
        }
        if clock.breached_at is not None:
            state = _("The promise was broken at %(at)s.") % {"at": local(clock.breached_at)}
        else:
            state = _("It is due at %(at)s.") % {"at": local(clock.due_at)}
        body = "\n".join(
            line
            for line in (
                str(subject) if subject is not None else reference,
                _("%(metric)s, target %(target)s.")
                % {"metric": name, "target": duration_text(clock.target)},
                state,
                _("This case is now expedited.") if escalation.expedite else "",
                link_of(subject),
            )
            if line
        )
    send_to(
        person,
        f"escalation:{escalation.pk}:{person.pk}",
        subject=title,
        body=body,
        payload={
            "kind": "escalation",
            "reference": reference,
            "metric": clock.metric,
            "level": escalation.level,
            "expedite": escalation.expedite,
        },
        about=subject if isinstance(subject, models.Model) else None,
    )


# ---------------------------------------------------------------------------- helpers


def send_to(person: User, key: str, **message: Any) -> bool:
    """Queue an e-mail to one person through the outbox (once per key); False without
    an address."""
    if not person.email:
        return False
    about = message.pop("about", None)
    notify.enqueue(
        key,
        to=[person.email],
        about=about if isinstance(about, models.Model) and about.pk is not None else None,
        **message,
    )
    return True


def reference_of(subject: object) -> str:
    """The short identifier people know the subject by (a case's C-2026-000123)."""
    if subject is None:
        return "—"
    return str(getattr(subject, "reference", "") or subject)


def link_of(subject: object) -> str:
    url = getattr(subject, "get_absolute_url", None)
    return f"{settings.SITE_URL}{url()}" if callable(url) else ""


def local(instant: datetime | None) -> str:
    if instant is None:
        return "—"
    return timezone.localtime(instant).strftime("%Y-%m-%d %H:%M")


def duration_text(value: timedelta) -> str:
    """A target as people say it: 15 min, 2 h, 1 d 4 h."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)s d") % {"n": days})
    if hours:
        parts.append(_("%(n)s h") % {"n": hours})
    if minutes or not parts:
        parts.append(_("%(n)s min") % {"n": minutes})
    return " ".join(parts)


# ---------------------------------------------------------------------------- reads


def expedite_queue(user: User) -> list[Any]:
    """Open expedited subjects of every kind that carries clocks, oldest first.

    The subjects' models are reached through the clocks' content types, never imported
    (they live above this app): any model with an `expedited_at` column and the usual
    `visible_to` / `active` query methods takes part.
    """
    from django.contrib.contenttypes.models import ContentType

    types = ContentType.objects.filter(pk__in=Clock.objects.values("subject_type").distinct())
    found: list[Any] = []
    for content_type in types:
        model = content_type.model_class()
        if model is None or not _has_field(model, "expedited_at"):
            continue
        rows = model._default_manager.filter(expedited_at__isnull=False)
        if hasattr(rows, "visible_to"):
            rows = rows.visible_to(user)
        if hasattr(rows, "active"):
            rows = rows.active()
        found.extend(rows.order_by("expedited_at"))
    found.sort(key=lambda item: item.expedited_at)
    return found


def _has_field(model: type[models.Model], name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())
