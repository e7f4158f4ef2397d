"""SLA compliance = met ÷ (met + breached), each clock in the period of its outcome."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assura.calendars.models import CalendarVersion
from assura.core.models import Organisation
from assura.sla import services, watcher
from assura.sla.models import Clock
from assura.sla.queries import compliance
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def clock(
    version: CalendarVersion,
    metric: str,
    start: datetime,
    stop_after: timedelta | None,
    subject: Organisation | None = None,
) -> Clock:
    made = services.start_clock(
        subject=subject or CustomerFactory(),
        metric=metric,
        target=HOUR,
        calendar_version=version,
        at=start,
        now=start,
    )
    if stop_after is not None:
        made = services.stop(made, start + stop_after)
    return made


def test_compliance_counts_each_clock_once_in_the_period_of_its_outcome(
    always_v: CalendarVersion,
) -> None:
    day = datetime(2026, 3, 2, 9, tzinfo=SH)
    clock(always_v, "first_response", day, timedelta(minutes=10))  # met
    clock(always_v, "first_response", day, timedelta(minutes=50))  # met
    clock(always_v, "first_response", day, 2 * HOUR)  # met late: breached
    clock(always_v, "first_response", day, None)  # running, breached at 10:00
    clock(always_v, "first_response", day - timedelta(days=3), timedelta(minutes=5))  # before
    running = clock(always_v, "resolution", day + 20 * HOUR, None)  # no outcome yet
    assert running.breached_at is None
    cancelled = clock(always_v, "resolution", day, None)
    services.cancel(cancelled, day + timedelta(minutes=1))

    watcher.record_due(day + 2 * HOUR)  # the running one is seen breached at 10:00
    figures = compliance(Clock.objects.all(), day, day + timedelta(days=1))

    assert len(figures) == 1
    (first_response,) = figures
    assert (first_response.metric, first_response.met, first_response.breached) == (
        "first_response",
        2,
        2,
    )
    assert first_response.share == 0.5


def test_no_decided_clock_gives_no_figure(always_v: CalendarVersion) -> None:
    day = datetime(2026, 3, 2, 9, tzinfo=SH)
    assert compliance(Clock.objects.all(), day, day + HOUR) == []
