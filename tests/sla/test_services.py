"""Clocks as rows: events appended, figures replayed, breaches recorded once."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from assura.calendars.models import CalendarVersion
from assura.core.models import Organisation
from assura.sla import services
from assura.sla.models import Breach, Clock, ClockEvent, ClockStatus, ClockWarning

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_a_clock_on_the_china_calendar_is_due_on_the_make_up_sunday(
    subject: Organisation, china_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="resolution",
        target=4 * HOUR,
        calendar_version=china_v,
        at=at(2025, 9, 26, 17),
        now=at(2025, 9, 26, 17),
    )
    assert clock.status == ClockStatus.RUNNING
    assert clock.due_at == at(2025, 9, 28, 12)
    assert clock.warning_at == at(2025, 9, 28, 11)
    assert clock.next_check_at == clock.warning_at


def test_paused_time_never_counts_even_after_a_priority_change(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="resolution",
        target=8 * HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
        now=at(2026, 1, 5, 9),
    )
    services.pause(clock, at(2026, 1, 5, 10))
    services.retarget(clock, at(2026, 1, 5, 11), target=4 * HOUR, now=at(2026, 1, 5, 11))
    services.resume(clock, at(2026, 1, 5, 13))
    clock.refresh_from_db()
    # 1 h before the pause counts; the 3 h paused never do: 4 h target ⇒ due 3 h after 13:00.
    assert clock.due_at == at(2026, 1, 5, 16)
    assert clock.paused >= 3 * HOUR


def test_a_retarget_can_breach_at_once_and_records_the_real_instant(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="resolution",
        target=24 * HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
        now=at(2026, 1, 5, 9),
    )
    clock = services.retarget(clock, at(2026, 1, 5, 15), target=2 * HOUR, now=at(2026, 1, 5, 15))
    breach = Breach.objects.get(clock=clock)
    assert breach.breached_at == at(2026, 1, 5, 11)
    assert clock.breached_at == at(2026, 1, 5, 11)
    assert ClockWarning.objects.get(clock=clock).warned_at == at(2026, 1, 5, 10, 30)


def test_stopping_after_the_due_instant_is_met_late_and_breached(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="first_response",
        target=HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
        now=at(2026, 1, 5, 9),
    )
    clock = services.stop(clock, at(2026, 1, 5, 10, 30))
    assert clock.status == ClockStatus.STOPPED
    assert clock.stopped_late is True
    assert clock.met_at is None
    assert Breach.objects.get(clock=clock).breached_at == at(2026, 1, 5, 10)


def test_stopping_in_time_is_met_and_leaves_nothing_to_watch(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="first_response",
        target=HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
        now=at(2026, 1, 5, 9),
    )
    clock = services.stop(clock, at(2026, 1, 5, 9, 20))
    assert clock.met_at == at(2026, 1, 5, 9, 20)
    assert clock.next_check_at is None
    assert not Breach.objects.filter(clock=clock).exists()


def test_events_that_arrive_late_are_replayed_in_event_time_order(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="resolution",
        target=4 * HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
        now=at(2026, 1, 5, 9),
    )
    services.resume(clock, at(2026, 1, 5, 12))
    clock = services.pause(clock, at(2026, 1, 5, 10))  # learnt of after the resume
    assert clock.due_at == at(2026, 1, 5, 15)
    arrival = ClockEvent.objects.filter(clock=clock).order_by("seq").values_list("kind", flat=True)
    assert list(arrival) == ["start", "resume", "pause"]


def test_the_clock_keeps_the_calendar_version_it_was_measured_against(
    subject: Organisation, always_v: CalendarVersion, china_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="resolution",
        target=4 * HOUR,
        calendar_version=always_v,
        at=at(2025, 9, 26, 17),
        now=at(2025, 9, 26, 17),
    )
    clock = services.retarget(
        clock, at(2025, 9, 26, 18), calendar_version=china_v, now=at(2025, 9, 26, 18)
    )
    assert clock.calendar_version == china_v
    assert clock.due_at == at(2025, 9, 28, 12)


def test_a_recompute_that_clears_a_breach_withdraws_it(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="resolution",
        target=HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
        now=at(2026, 1, 5, 11),
    )
    assert Breach.objects.get(clock=clock).withdrawn_at is None
    clock = services.retarget(clock, at(2026, 1, 5, 11), target=8 * HOUR, now=at(2026, 1, 5, 11))
    breach = Breach.objects.get(clock=clock)
    assert breach.withdrawn_at is not None
    assert clock.breached_at is None


@pytest.mark.parametrize(
    ("target", "fraction"), [(timedelta(0), 0.75), (-HOUR, 0.75), (HOUR, 0.0), (HOUR, 1.5)]
)
def test_impossible_targets_are_refused_and_nothing_is_written(
    subject: Organisation, always_v: CalendarVersion, target: timedelta, fraction: float
) -> None:
    with pytest.raises(ValidationError):
        services.start_clock(
            subject=subject,
            metric="m",
            target=target,
            calendar_version=always_v,
            at=at(2026, 1, 5, 9),
            warning_fraction=fraction,
        )
    assert not ClockEvent.objects.exists()


def test_a_naive_event_time_is_refused(subject: Organisation, always_v: CalendarVersion) -> None:
    clock = services.start_clock(
        subject=subject,
        metric="m",
        target=HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
    )
    with pytest.raises(ValidationError):
        services.pause(clock, datetime(2026, 1, 5, 10))
    assert clock.events.count() == 1


# --- clocks started in one batch ---------------------------------------------------------


def test_clocks_started_late_record_the_warning_and_breach_they_already_passed(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    start = services.ClockStart(
        subject=subject,
        metric="resolution",
        target=2 * HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
    )
    early, late = services.start_clocks(
        [start, dataclasses.replace(start, metric="first_response", target=8 * HOUR)],
        now=at(2026, 1, 5, 12),
    )
    assert Breach.objects.get(clock=early).breached_at == at(2026, 1, 5, 11)
    assert ClockWarning.objects.get(clock=early).warned_at == at(2026, 1, 5, 10, 30)
    assert not Breach.objects.filter(clock=late).exists()
    assert late.due_at == at(2026, 1, 5, 17)
    assert ClockEvent.objects.filter(clock__in=[early, late], seq=1, kind="start").count() == 2


def test_a_batch_with_one_bad_target_starts_nothing(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    good = services.ClockStart(
        subject=subject,
        metric="resolution",
        target=2 * HOUR,
        calendar_version=always_v,
        at=at(2026, 1, 5, 9),
    )
    with pytest.raises(ValidationError):
        services.start_clocks([good, dataclasses.replace(good, target=timedelta(0))])
    assert not Clock.objects.filter(subject_id=subject.pk).exists()
