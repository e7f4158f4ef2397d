"""Changing a calendar re-measures every open clock on it, in the background."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assura.calendars import services as calendars
from assura.calendars.models import Calendar, RecomputeJob
from assura.core.models import Organisation, User
from assura.core.worker import Worker
from assura.sla import services
from assura.sla.models import ClockEvent, EventKind

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db(transaction=True)  # the worker closes connections between rounds
def test_a_new_holiday_moves_the_due_instant_of_open_clocks(
    quality: User,
    subject: Organisation,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    office = calendars.create_calendar(actor=quality, code="office", name="Office")
    start = datetime(2026, 3, 2, 9, tzinfo=SH)  # a Monday in the past
    clock = services.start_clock(
        subject=subject,
        metric="resolution",
        target=timedelta(hours=18),
        calendar_version=office.current_version,
        at=start,
        now=start,
    )
    stopped = services.start_clock(
        subject=subject,
        metric="first_response",
        target=timedelta(hours=1),
        calendar_version=office.current_version,
        at=start,
        now=start,
    )
    services.stop(stopped, start + timedelta(minutes=5))
    assert clock.due_at == datetime(2026, 3, 3, 18, tzinfo=SH)

    with django_capture_on_commit_callbacks(execute=True):
        calendars.set_special_day(
            actor=quality, calendar=office, day=date(2026, 3, 3), kind="holiday", name="Closed"
        )
    office.refresh_from_db()
    job = RecomputeJob.objects.get(calendar_version=office.current_version)
    assert (job.status, job.total) == (RecomputeJob.Status.QUEUED, 1)

    Worker().run_once(start)

    job.refresh_from_db()
    assert (job.status, job.done) == (RecomputeJob.Status.DONE, 1)
    clock.refresh_from_db()
    office.refresh_from_db()
    assert clock.calendar_version == office.current_version
    assert clock.due_at == datetime(2026, 3, 4, 18, tzinfo=SH)
    retarget = ClockEvent.objects.get(clock=clock, kind=EventKind.RETARGET)
    assert retarget.actor == quality
    stopped.refresh_from_db()
    assert stopped.calendar_version != office.current_version  # closed clocks keep theirs


def test_an_edit_that_changes_nothing_queues_no_job(
    quality: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    office: Calendar = calendars.create_calendar(actor=quality, code="office", name="Office")
    RecomputeJob.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        calendars.update_calendar(actor=quality, calendar=office, week=calendars.OFFICE_HOURS)
    assert not RecomputeJob.objects.exists()
