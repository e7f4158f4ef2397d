"""`assura worker`: one round runs every due timer, then the queued tasks.

The worker closes stale connections each round, which a test wrapped in a transaction
would not survive, hence real transactions here.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from assura.core import timers
from assura.core.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class RecordingTimer:
    """A timer that notes each instant it was asked about and names its next one."""

    name: str
    next_in: timedelta | None = timedelta(minutes=5)
    calls: list[datetime] = field(default_factory=list)

    def run_due(self, now: datetime) -> datetime | None:
        self.calls.append(now)
        return None if self.next_in is None else now + self.next_in


@dataclass
class BrokenTimer:
    name: str = "broken"

    def run_due(self, now: datetime) -> datetime | None:
        raise RuntimeError("the probe host is on fire")


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def fail() -> None:
    raise ValueError("this task always fails")


@pytest.fixture(autouse=True)
def only_test_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the timers it registers, and leaves the real ones in place."""
    monkeypatch.setattr(timers, "_TIMERS", {})


@pytest.fixture
def now() -> datetime:
    return timezone.now()


def test_it_runs_registered_timers_and_wakes_at_the_earliest_next_instant(now: datetime) -> None:
    soon = RecordingTimer("soon", next_in=timedelta(seconds=30))
    later = RecordingTimer("later", next_in=timedelta(minutes=10))
    idle = RecordingTimer("idle", next_in=None)
    for timer in (later, soon, idle):
        timers.register(timer)

    wake_at = Worker().run_once(now)

    assert soon.calls == later.calls == idle.calls == [now]
    assert wake_at == now + timedelta(seconds=30)


def test_it_has_no_wake_up_instant_when_no_timer_names_one(now: datetime) -> None:
    timers.register(RecordingTimer("idle", next_in=None))
    assert Worker().run_once(now) is None


def test_one_failing_timer_does_not_stop_the_others(
    now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = RecordingTimer("healthy")
    timers.register(BrokenTimer())
    timers.register(healthy)

    with caplog.at_level(logging.ERROR, logger="assura.worker"):
        wake_at = Worker().run_once(now)

    assert healthy.calls == [now]
    assert wake_at == now + timedelta(minutes=5)
    assert "timer broken failed" in caplog.text


def test_it_runs_an_enqueued_task_and_asks_to_run_again_at_once(now: datetime) -> None:
    result = add.enqueue(2, 3)

    wake_at = Worker().run_once(now)

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    # More tasks may be waiting behind the ones it ran, so it must not sleep.
    assert wake_at == now


def test_a_failing_task_is_recorded_and_the_round_goes_on(now: datetime) -> None:
    failing = fail.enqueue()
    succeeding = add.enqueue(1, 1)

    Worker().run_once(now)

    failing.refresh()
    succeeding.refresh()
    assert failing.status == TaskResultStatus.FAILED
    assert succeeding.status == TaskResultStatus.SUCCESSFUL


def test_a_task_deferred_to_later_waits_for_its_time(now: datetime) -> None:
    result = add.using(run_after=now + timedelta(hours=1)).enqueue(1, 2)

    Worker().run_once(now)

    result.refresh()
    assert result.status == TaskResultStatus.READY


def test_it_claims_work_on_the_database_engine_the_environment_names() -> None:
    # Claims differ per engine (SKIP LOCKED on PostgreSQL, exclusive transactions on
    # SQLite); this pins that a PostgreSQL run of the suite really ran on PostgreSQL.
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
