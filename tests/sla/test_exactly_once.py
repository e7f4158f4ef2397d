"""Exactly once: a breach yields one notice, one ledger entry and one escalation per level,
whatever the number of workers, restarts or retries.

The breaches are recorded with their announcement lost, as when a process dies right
after its commit, so every effect has to come from the worker timers (the escalation
timer and the breach follow-up). Then two threads compete for the work on PostgreSQL,
and real `assura worker` processes are killed with SIGKILL mid-way and restarted (two at
once) on either database, with the shared-database helpers of the watcher's crash test.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from assura.core.models import Role, Team, User
from assura.desk.models import Activity, ActivityKind, Case
from assura.notify.models import Notification
from assura.sla import escalation, handlers, watcher
from assura.sla.models import Breach, BreachNotice, CompensationEntry, Escalation
from assura.sla.services import breaches_recorded
from tests.concurrency import side_by_side
from tests.sla import test_watcher_crash as crash

# Serialised rollback: the rows the data migrations ship (metrics, notice texts) survive
# the flush between transactional tests.
pytestmark = pytest.mark.django_db(transaction=True)

# Workers on the test database, from the watcher's crash test.
shared = crash.shared
start_worker = crash.start_worker

HOUR = timedelta(hours=1)
BACKLOG = "SELECT count(*) FROM sla_escalation WHERE fired_at IS NULL AND due_at <= %s"
NOTICES = "SELECT count(*) FROM sla_breachnotice"


@contextmanager
def announcements_lost() -> Iterator[None]:
    """No handler hears of the breaches recorded inside (a crash right after the commit)."""
    breaches_recorded.disconnect(dispatch_uid="sla-breaches")
    try:
        yield
    finally:
        breaches_recorded.connect(handlers.on_breaches_recorded, dispatch_uid="sla-breaches")


@pytest.fixture
def staff(make_staff: Callable[..., User], team: Team, contact: User) -> SimpleNamespace:
    contact.email = "li@customer.cn"
    contact.save()
    people = SimpleNamespace(
        contact=contact,
        agent=make_staff(Role.AGENT, email="agent@provider.cn"),
        lead=make_staff(Role.TEAM_LEAD, email="lead@provider.cn"),
        manager=make_staff(Role.MANAGER, email="manager@provider.cn"),
        director=make_staff(Role.ADMIN, email="director@provider.cn"),
    )
    team.lead = people.lead
    team.save()
    return people


def urgent_faults(make_case: Callable[..., Case], staff: SimpleNamespace, count: int) -> datetime:
    """`count` urgent faults logged three hours ago and never answered (24×7 targets):
    two breaches each, seven escalation levels due. Returns the instant they are due by."""
    opened = timezone.now() - 3 * HOUR
    with announcements_lost():
        for _ in range(count):
            make_case(
                actor=staff.agent,
                contact=staff.contact,
                assignee=staff.agent,
                case_type="fault",
                priority="urgent",
                channel="phone",
                at=opened,
            )
        # Clocks are computed as of the cases' own instants; the watcher records what
        # has fallen due since, and the announcements of those breaches are lost too.
        watcher.record_due(timezone.now())
    return timezone.now()


def assert_everything_happened_once(cases: int, due_by: datetime) -> None:
    breaches = Breach.objects.count()
    assert breaches == 2 * cases  # first response and resolution
    assert BreachNotice.objects.count() == breaches
    assert CompensationEntry.objects.count() == cases  # the contract pays for responses only
    notices = Notification.objects.filter(dedup_key__regex=r"^breach-notice:\d+$")
    assert notices.count() == breaches
    due = Escalation.objects.filter(planned_at__lte=due_by)
    assert due.count() == 7 * cases
    assert not due.filter(fired_at__isnull=True).exists()
    assert not Escalation.objects.filter(attempts__gt=0).exists()
    told = sum(len(row.notified) for row in due)
    assert Notification.objects.filter(dedup_key__startswith="escalation:").count() == told
    expedited = Activity.objects.filter(kind=ActivityKind.EXPEDITED).values("case")
    assert expedited.count() == cases
    assert not expedited.annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert Case.objects.filter(expedited_at__isnull=True).count() == 0


@pytest.mark.postgres_only
def test_two_threads_hand_over_each_breach_and_fire_each_level_once(
    make_case: Callable[..., Case], staff: SimpleNamespace
) -> None:
    assert connection.vendor == "postgresql"
    cases = 12
    due_by = urgent_faults(make_case, staff, cases)

    def work() -> None:
        # Rounds as a worker runs them (each within its time budget) until nothing is due.
        follow_up, timer = handlers.BreachFollowUp(), escalation.EscalationTimer()
        for _ in range(50):
            if not (
                Escalation.objects.filter(fired_at__isnull=True, due_at__lte=due_by).exists()
                or handlers.unhandled()
            ):
                break
            timer.run_due(due_by)
            follow_up.run_due(due_by)
            follow_up.full_sweep_at = None  # as after a restart: look at every breach

    side_by_side(work, copies=2)
    assert_everything_happened_once(cases, due_by)


def count(shared: crash.SharedDatabase, sql: str, *params: object) -> int:
    """A count read while the workers run (SQLite: from the file they share)."""
    if not shared.sqlite:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])
    values = [connection.ops.adapt_datetimefield_value(p) for p in params]
    with closing(sqlite3.connect(shared.file, timeout=20)) as db:
        return int(db.execute(sql.replace("%s", "?"), values).fetchone()[0])


def test_a_worker_killed_mid_way_and_two_restarted_ones_leave_nothing_lost_or_doubled(
    make_case: Callable[..., Case],
    staff: SimpleNamespace,
    shared: crash.SharedDatabase,
    start_worker: Callable[[str], crash.WorkerProcess],
) -> None:
    cases = 20
    due_by = urgent_faults(make_case, staff, cases)
    levels = Escalation.objects.filter(planned_at__lte=due_by).count()
    shared.publish()

    first = start_worker("first")
    crash.wait_until(
        lambda: count(shared, BACKLOG, due_by) < levels, "the first escalations", [first]
    )
    first.kill()
    left = count(shared, BACKLOG, due_by)
    # Usually the kill lands mid-way; on a fast machine the first worker may have finished,
    # and then the restarted ones must still add nothing twice.
    assert left < levels, "the first worker was killed after it started working"

    again = [start_worker("second"), start_worker("third")]
    crash.wait_until(
        lambda: count(shared, BACKLOG, due_by) == 0 and count(shared, NOTICES) == 2 * cases,
        "every level and every notice",
        again,
        timeout=60,
    )
    crash.kill_all(again)

    shared.collect()
    assert_everything_happened_once(cases, due_by)
