"""The watcher records each warning and breach once, when its instant passes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from assura.calendars.models import CalendarVersion
from assura.core import timers
from assura.core.models import Organisation
from assura.core.worker import Worker
from assura.sla import services, watcher
from assura.sla.models import Breach, Clock, ClockWarning
from tests.factories import CustomerFactory

SH = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
T0 = datetime(2026, 1, 5, 9, tzinfo=SH)


def running_clock(subject: Organisation, version: CalendarVersion, target: timedelta) -> Clock:
    return services.start_clock(
        subject=subject,
        metric="resolution",
        target=target,
        calendar_version=version,
        at=T0,
        now=T0,
    )


@pytest.mark.django_db
def test_nothing_is_recorded_before_the_warning_instant(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    running_clock(subject, always_v, 4 * HOUR)
    assert watcher.record_due(T0 + 2 * HOUR) == watcher.Round(warnings=0, breaches=0)
    assert watcher.next_instant() == T0 + 3 * HOUR


@pytest.mark.django_db
def test_the_warning_then_the_breach_are_recorded_at_their_instants(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = running_clock(subject, always_v, 4 * HOUR)
    assert watcher.record_due(T0 + 3 * HOUR) == watcher.Round(warnings=1, breaches=0)
    clock.refresh_from_db()
    assert clock.warned_at == T0 + 3 * HOUR
    assert clock.next_check_at == T0 + 4 * HOUR
    assert watcher.record_due(T0 + 5 * HOUR) == watcher.Round(warnings=0, breaches=1)
    breach = Breach.objects.get(clock=clock)
    assert breach.breached_at == T0 + 4 * HOUR  # when it happened, not when it was seen
    clock.refresh_from_db()
    assert clock.next_check_at is None


@pytest.mark.django_db
def test_a_watcher_that_wakes_late_records_warning_and_breach_together_once(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    running_clock(subject, always_v, HOUR)
    assert watcher.record_due(T0 + 9 * HOUR) == watcher.Round(warnings=1, breaches=1)
    assert watcher.record_due(T0 + 10 * HOUR) == watcher.Round(warnings=0, breaches=0)
    assert (Breach.objects.count(), ClockWarning.objects.count()) == (1, 1)


@pytest.mark.django_db
def test_a_paused_clock_is_not_watched(subject: Organisation, always_v: CalendarVersion) -> None:
    clock = running_clock(subject, always_v, HOUR)
    services.pause(clock, T0 + 10 * timedelta(minutes=1), now=T0 + timedelta(minutes=10))
    assert watcher.record_due(T0 + 5 * HOUR).breaches == 0
    assert watcher.next_instant() is None


@pytest.mark.django_db(transaction=True)  # the worker closes connections between rounds
def test_the_worker_runs_the_watcher_as_a_timer(
    subject: Organisation, always_v: CalendarVersion
) -> None:
    clock = running_clock(subject, always_v, HOUR)
    assert any(t.name == "sla-watcher" for t in timers.registered())
    Worker().run_once(T0 + 2 * HOUR)
    assert Breach.objects.filter(clock=clock).exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_watchers_at_once_record_each_breach_exactly_once(
    always_v: CalendarVersion,
) -> None:
    assert connection.vendor == "postgresql"
    subjects = CustomerFactory.create_batch(60)
    for subject in subjects:
        running_clock(subject, always_v, HOUR)
    barrier = threading.Barrier(2)
    results: list[watcher.Round] = []

    def watch() -> None:
        barrier.wait()
        try:
            results.append(watcher.record_due(T0 + 2 * HOUR, limit=40))
            results.append(watcher.record_due(T0 + 2 * HOUR, limit=40))
        finally:
            connection.close()

    threads = [threading.Thread(target=watch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.breaches for r in results) == 60
    assert Breach.objects.count() == 60
    assert ClockWarning.objects.count() == 60
