"""How a case drives its SLA clocks through its policy version.

The desk reports what happened on a case (an event, a status change, a new priority)
and this module turns it into clock events by reading the policy: which metrics apply,
what starts, stops or pauses each one, and which target holds for the priority. Every
rule lives in the policy's data, so a quality manager changes it without code.

Clocks are recomputed as of the event's own time (`now=at`), so a case replayed from
history (an import, the demo, a delayed e-mail) never shows a passing breach that its
next event would withdraw; whatever is still running past its due instant is picked up
by the watcher at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from assura.calendars.models import Calendar
from assura.commitments import matching
from assura.commitments import services as commitments
from assura.commitments.models import CaseEvent, Metric, PolicyVersion
from assura.core.models import User
from assura.desk.models import Case
from assura.sla import services as sla
from assura.sla.models import Clock, ClockStatus


def facts_of(case: Case) -> matching.CaseFacts:
    return matching.CaseFacts(
        customer_id=case.organisation_id,
        contract_id=case.contract_id,
        service_id=case.service_id,
        channel=case.channel,
        case_type=case.case_type,
        priority=case.priority,
    )


def select_policy(case: Case) -> PolicyVersion | None:
    return commitments.select_policy_version(facts_of(case))


def clocks_of(case: Case) -> dict[str, Clock]:
    return {
        clock.metric: clock
        for clock in Clock.objects.filter(
            subject_type__app_label="desk", subject_type__model="case", subject_id=case.pk
        )
    }


def _metrics() -> dict[str, Metric]:
    return {metric.code: metric for metric in Metric.objects.all()}


def _applies(metric: Metric, case: Case) -> bool:
    return not metric.case_types or case.case_type in metric.case_types


def _target(case: Case, metric: str) -> Mapping[str, Any] | None:
    if case.policy_version is None:
        return None
    return matching.target_for(case.policy_version.definition, metric, case.priority)


def on_event(
    case: Case, event: str, at: datetime, actor: User | None = None, *, new: bool = False
) -> None:
    """A case event: stop the metrics it ends, start the metrics it begins.

    `new` says the case was created in this transaction, so it has no clocks to look up.
    """
    clocks = {} if new else clocks_of(case)
    starting = []
    for code, metric in _metrics().items():
        clock = clocks.get(code)
        if (
            metric.stop_event == event
            and clock is not None
            and clock.status in (ClockStatus.RUNNING, ClockStatus.PAUSED)
        ):
            sla.stop(clock, at, actor=actor, now=at)
        elif metric.start_event == event and clock is None and _applies(metric, case):
            starting.append(metric)
    _start(case, starting, at, actor)


def _start(case: Case, metrics: list[Metric], at: datetime, actor: User | None) -> None:
    """Start the metrics that have a target for the case, all in one batch."""
    wanted = [
        (metric, target) for metric in metrics if (target := _target(case, metric.code)) is not None
    ]
    if not wanted:
        return
    calendars = Calendar.objects.select_related("current_version").in_bulk(
        {target["calendar_id"] for _metric, target in wanted}
    )
    starts = [
        sla.ClockStart(
            subject=case,
            metric=metric.code,
            target=timedelta(seconds=target["target_seconds"]),
            calendar_version=calendars[target["calendar_id"]].current_version,
            at=at,
            actor=actor,
            warning_fraction=target["warning_fraction"],
            organisation=case.organisation,
            team=case.team,
            policy_version=case.policy_version,
        )
        for metric, target in wanted
    ]
    started = sla.start_clocks(starts, now=at)
    for (metric, _), clock in zip(wanted, started, strict=True):
        if case.status in metric.pause_statuses:
            sla.pause(clock, at, actor=actor, now=at)


def on_status(case: Case, before: str, at: datetime, actor: User | None = None) -> None:
    """Pause the metrics that wait in the new status; resume those that waited before."""
    metrics = _metrics()
    for code, clock in clocks_of(case).items():
        pauses = metrics[code].pause_statuses if code in metrics else []
        waiting_now, waited = case.status in pauses, before in pauses
        if waiting_now and clock.status == ClockStatus.RUNNING:
            sla.pause(clock, at, actor=actor, now=at)
        elif waited and not waiting_now and clock.status == ClockStatus.PAUSED:
            sla.resume(clock, at, actor=actor, now=at)


def retarget(case: Case, at: datetime, actor: User | None = None, reason: str = "") -> None:
    """After a priority, type or policy change: new targets, measured from each start."""
    clocks = clocks_of(case)
    for code, metric in _metrics().items():
        clock = clocks.get(code)
        target = _target(case, code) if _applies(metric, case) else None
        if clock is None:
            if target is not None and metric.start_event == CaseEvent.CREATED:
                _start(case, [metric], case.created_at, actor)
            continue
        if clock.status not in (ClockStatus.RUNNING, ClockStatus.PAUSED):
            continue
        if target is None:
            sla.cancel(clock, at, actor=actor, reason=reason, now=at)
            continue
        _retarget_clock(clock, case, target, at, actor, reason)


def _retarget_clock(
    clock: Clock,
    case: Case,
    target: Mapping[str, Any],
    at: datetime,
    actor: User | None,
    reason: str,
) -> None:
    duration = timedelta(seconds=target["target_seconds"])
    calendar = Calendar.objects.select_related("current_version").get(pk=target["calendar_id"])
    version = calendar.current_version
    changed_calendar = version is not None and version.pk != clock.calendar_version_id
    if (
        duration == clock.target
        and not changed_calendar
        and (clock.policy_version_id == case.policy_version_id)
    ):
        return
    sla.retarget(
        clock,
        at,
        target=duration,
        calendar_version=version if changed_calendar else None,
        warning_fraction=target["warning_fraction"],
        actor=actor,
        reason=reason,
        policy_version=case.policy_version,
    )


def on_reopen(case: Case, at: datetime, actor: User | None = None) -> None:
    """Clocks that a resolution or closure stopped run again from where they stopped."""
    metrics = _metrics()
    for code, clock in clocks_of(case).items():
        metric = metrics.get(code)
        if (
            metric
            and metric.stop_event in (CaseEvent.RESOLVED, CaseEvent.CLOSED)
            and (clock.status == ClockStatus.STOPPED)
        ):
            sla.reopen(clock, at, actor=actor, now=at)


def cancel_all(case: Case, at: datetime, actor: User | None = None, reason: str = "") -> None:
    for clock in clocks_of(case).values():
        if clock.status in (ClockStatus.RUNNING, ClockStatus.PAUSED, ClockStatus.NOT_STARTED):
            sla.cancel(clock, at, actor=actor, reason=reason, now=at)


def sync_team(case: Case) -> None:
    """Clocks carry the case's team so the team-ownership rule applies to them too."""
    Clock.objects.filter(
        subject_type__app_label="desk", subject_type__model="case", subject_id=case.pk
    ).exclude(team_id=case.team_id).update(team_id=case.team_id)
