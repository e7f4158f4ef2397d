"""The escalation matrix: each level is planned in calendar time and fires once, at its instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest

from assura.core import timers
from assura.core.models import Role, Team
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import ActivityKind, Case
from assura.notify.models import Notification
from assura.sla import escalation, watcher
from assura.sla.models import Clock, ClockStatus, Escalation
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)


@pytest.fixture
def staff(make_staff: Callable[..., object], team: Team) -> SimpleNamespace:
    """An assignee, the team's lead, a manager and a director, each with an address."""
    people = SimpleNamespace(
        agent=make_staff(Role.AGENT, email="agent@provider.cn"),
        lead=make_staff(Role.TEAM_LEAD, email="lead@provider.cn"),
        manager=make_staff(Role.MANAGER, email="manager@provider.cn"),
        director=make_staff(Role.ADMIN, email="director@provider.cn"),
    )
    team.lead = people.lead
    team.save()
    return people


def levels(clock: Clock) -> dict[int, Escalation]:
    return {row.level: row for row in Escalation.objects.filter(clock=clock)}


def mailed(row: Escalation) -> set[str]:
    keys = Notification.objects.filter(dedup_key__startswith=f"escalation:{row.pk}:")
    return {address for n in keys for address in n.recipients}


def fire(instant: object) -> set[int]:
    """Run the timer at `instant`; the levels it fired then."""
    before = set(Escalation.objects.filter(fired_at__isnull=False).values_list("pk", flat=True))
    escalation.fire_due(instant)  # type: ignore[arg-type]
    after = set(Escalation.objects.filter(fired_at__isnull=False).values_list("pk", flat=True))
    return after - before


def test_each_level_fires_once_at_its_instant_in_business_hours_across_the_night(
    make_overdue_case: Callable[..., Case], staff: SimpleNamespace
) -> None:
    # Monday 17:45, 15 min to a first response on office hours (9-18).
    case = make_overdue_case(assignee=staff.agent, at=at(2026, 3, 2, 17, 45))
    clock = clocks_of(case)["first_response"]
    planned = {level: row.planned_at for level, row in levels(clock).items()}
    assert planned == {
        1: at(2026, 3, 2, 17, 56, 15),  # −25 %: 11 min 15 s, still on Monday
        2: at(2026, 3, 3, 9),  # due: the promise is broken when work resumes
        3: at(2026, 3, 3, 9, 7, 30),  # +50 %: across the night
        4: at(2026, 3, 3, 9, 15),  # +100 %
    }
    rows = levels(clock)

    assert rows[1].pk not in fire(planned[1] - SECOND)
    assert fire(planned[1]) == {rows[1].pk}
    assert mailed(rows[1]) == {"agent@provider.cn"}  # assignee and first-contact owner

    assert rows[2].pk not in fire(at(2026, 3, 3, 8, 59))
    watcher.record_due(planned[2])
    assert rows[2].pk in fire(planned[2])
    assert mailed(rows[2]) == {"agent@provider.cn", "lead@provider.cn"}
    case.refresh_from_db()
    assert case.expedited_at == planned[2]
    assert case.activities.filter(kind=ActivityKind.EXPEDITED).count() == 1

    assert rows[3].pk in fire(planned[3])
    assert mailed(rows[3]) == {"lead@provider.cn", "manager@provider.cn"}

    assert rows[4].pk in fire(planned[4])
    assert mailed(rows[4]) == {"manager@provider.cn", "director@provider.cn"}
    case.refresh_from_db()
    assert case.priority == "urgent"  # raised through the desk, which retargets
    assert clocks_of(case)["resolution"].target == timedelta(hours=2)

    fired = {level: row.fired_at for level, row in levels(clock).items()}
    assert fired == planned
    assert fire(at(2026, 3, 4, 12)) & {row.pk for row in rows.values()} == set()
    sent = [
        Notification.objects.filter(dedup_key__startswith=f"escalation:{r.pk}:")
        for r in rows.values()
    ]
    assert sum(q.count() for q in sent) == 7  # one per level and person, never twice


def test_a_pause_moves_the_levels_not_yet_reached_and_a_stop_drops_them(
    make_overdue_case: Callable[..., Case], staff: SimpleNamespace
) -> None:
    case = make_overdue_case(assignee=staff.agent, case_type="request", at=at(2026, 3, 2, 9))
    desk.classify(
        actor=staff.agent, case=case, case_type="request", priority="normal", at=at(2026, 3, 2, 9)
    )
    desk.reply(actor=staff.agent, case=case, body="On it.", at=at(2026, 3, 2, 9, 5))
    resolution = clocks_of(case)["resolution"]  # 24 working hours
    assert levels(resolution)[1].planned_at == at(2026, 3, 4, 9)  # 18 h: Mon 9, Tue 9

    assert fire(at(2026, 3, 4, 9)) == {levels(resolution)[1].pk}
    desk.change_status(
        actor=staff.agent, case=case, status="waiting_customer", at=at(2026, 3, 4, 10)
    )
    paused = levels(clocks_of(case)["resolution"])
    assert paused[1].fired_at == at(2026, 3, 4, 9)
    assert paused[2].planned_at is None  # not reached while nothing counts

    desk.change_status(actor=staff.agent, case=case, status="open", at=at(2026, 3, 5, 10))
    resumed = levels(clocks_of(case)["resolution"])
    assert resumed[2].planned_at == at(2026, 3, 5, 15)  # 19 h used, 5 h more from Thu 10:00

    desk.resolve(actor=staff.agent, case=case, at=at(2026, 3, 5, 11))
    assert clocks_of(case)["resolution"].status == ClockStatus.STOPPED
    assert set(levels(clocks_of(case)["resolution"])) == {1}  # the fired one stays as history


def test_a_level_already_passed_when_planned_fires_at_once(
    make_overdue_case: Callable[..., Case], staff: SimpleNamespace
) -> None:
    # A case logged late (its clock started an hour ago) is escalated at the next round.
    case = make_overdue_case(assignee=staff.agent, at=at(2026, 3, 2, 10))
    clock = clocks_of(case)["first_response"]
    due = set(
        Escalation.objects.filter(clock=clock, due_at__lte=at(2026, 3, 2, 11)).values_list(
            "level", flat=True
        )
    )
    assert due == {1, 2, 3, 4}
    fire(at(2026, 3, 2, 11))
    assert all(row.fired_at == at(2026, 3, 2, 11) for row in levels(clock).values())


def test_a_priority_is_only_ever_raised(make_overdue_case: Callable[..., Case]) -> None:
    case = make_overdue_case(priority="urgent")
    assert escalation.priority_raise(case, "high") == ""
    assert escalation.priority_raise(case, "urgent") == ""
    case.priority = "low"
    assert escalation.priority_raise(case, "high") == "high"


def test_the_worker_runs_the_escalation_timer() -> None:
    assert {"sla-escalations", "sla-breach-follow-up"} <= {t.name for t in timers.registered()}
