"""The outbox: one row per logical message, leases, retries with backoff, and no double send."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings

from assura.core import timers
from assura.core.models import User
from assura.core.worker import Worker
from assura.notify import outbox, services
from assura.notify.models import AttemptOutcome, Notification, NotificationChannel, Status
from tests.notify.servers import RobotServer

FAIL = (503, {"error": "unavailable"})
MINUTE = timedelta(minutes=1)


def webhook_notice(channel: NotificationChannel, key: str = "breach-notice:1") -> Notification:
    return services.enqueue(key, channel=channel, subject="超时", body="工单已超时")


def soon() -> datetime:
    return timezone.now() + timedelta(seconds=1)


def run_round(at: datetime) -> int:
    return outbox.send_due(at)


def reload(notice: Notification) -> Notification:
    notice.refresh_from_db()
    return notice


@pytest.fixture
def hook(robot: Callable[..., RobotServer]) -> RobotServer:
    return robot("webhook")


@pytest.fixture
def channel(
    hook: RobotServer, channel_for: Callable[..., NotificationChannel]
) -> NotificationChannel:
    return channel_for(hook)


# --- enqueueing --------------------------------------------------------------------------


@pytest.mark.django_db
def test_enqueueing_the_same_key_twice_stores_one_row_and_sends_once(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    first = webhook_notice(channel)
    second = services.enqueue(
        "breach-notice:1", channel=channel, subject="another text", body="ignored"
    )
    assert second.pk == first.pk
    assert second.subject == "超时"
    assert Notification.objects.count() == 1
    run_round(soon())
    webhook_notice(channel)  # after it went out, too
    run_round(soon() + MINUTE)
    assert len(hook.received) == 1


@pytest.mark.django_db
def test_a_notice_enqueued_in_a_rolled_back_transaction_does_not_exist(
    channel: NotificationChannel,
) -> None:

    def business_change() -> None:
        with transaction.atomic():
            webhook_notice(channel)
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        business_change()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_notice_needs_a_key_and_a_destination() -> None:
    with pytest.raises(ValidationError) as no_key:
        services.enqueue(" ", to=["a@b.test"], subject="s", body="b")
    assert "dedup_key" in no_key.value.message_dict
    with pytest.raises(ValidationError) as nowhere:
        services.enqueue("k", subject="s", body="b")
    assert "to" in nowhere.value.message_dict
    with pytest.raises(ValidationError, match="not an e-mail address"):
        services.enqueue("k", to=["not-an-address"], subject="s", body="b")
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_notices_are_listed_by_the_record_they_are_about(
    channel: NotificationChannel, agent: User
) -> None:
    about_agent = services.enqueue(
        "welcome:agent", to=["agent@provider.test"], subject="s", body="b", about=agent
    )
    webhook_notice(channel)
    assert list(Notification.objects.about(agent)) == [about_agent]
    assert about_agent.about == agent


# --- retries -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_server_that_fails_twice_then_answers_gets_three_attempts_one_minute_then_five_apart(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    hook.answer_next(*FAIL, times=2)
    notice = webhook_notice(channel)
    start = soon()

    run_round(start)
    notice = reload(notice)
    assert (notice.status, notice.attempts) == (Status.FAILED, 1)
    assert MINUTE <= notice.next_attempt_at - start < MINUTE + timedelta(seconds=5)
    assert run_round(notice.next_attempt_at - timedelta(seconds=1)) == 0  # not before its time

    run_round(notice.next_attempt_at)
    second_try = notice.next_attempt_at
    notice = reload(notice)
    assert (notice.status, notice.attempts) == (Status.FAILED, 2)
    assert 5 * MINUTE <= notice.next_attempt_at - second_try < 5 * MINUTE + timedelta(seconds=5)

    run_round(notice.next_attempt_at)
    notice = reload(notice)
    assert (notice.status, notice.attempts, notice.last_error) == (Status.SENT, 3, "")
    assert list(notice.tries.values_list("outcome", "status_code")) == [
        ("failed", 503),
        ("failed", 503),
        ("sent", 200),
    ]
    assert len(hook.received) == 3


@pytest.mark.django_db
def test_it_gives_up_after_the_last_retry_and_the_waits_grow_as_documented(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    hook.answer_next(*FAIL, times=10)
    notice = webhook_notice(channel)
    at = soon()
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS):
        run_round(at)
        notice = reload(notice)
        if notice.next_attempt_at is not None:
            waits.append(round((notice.next_attempt_at - at).total_seconds() / 60))
            at = notice.next_attempt_at
    assert waits == [1, 5, 30, 120, 360]
    assert (notice.status, notice.attempts, notice.next_attempt_at) == (Status.DEAD, 6, None)
    assert "HTTP 503" in notice.last_error
    assert run_round(at + timedelta(days=1)) == 0
    assert len(hook.received) == 6


@pytest.mark.django_db
def test_a_failure_while_sending_costs_one_attempt_and_does_not_leave_the_notice_leased(
    settings: Settings,
) -> None:
    settings.MAILERS = {"default": {"BACKEND": "no.such.MailBackend"}}
    notice = services.enqueue("k", to=["a@b.test"], subject="s", body="b")
    run_round(soon())
    notice = reload(notice)
    assert notice.status == Status.FAILED
    assert "InvalidMailer" in notice.last_error
    assert notice.lease_until is None


@pytest.mark.django_db
def test_a_round_sends_at_most_its_limit_and_the_rest_stays_due(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    for number in range(3):
        webhook_notice(channel, key=f"k{number}")
    at = soon()
    assert outbox.send_due(at, limit=2) == 2
    next_instant = outbox.next_instant()
    assert next_instant is not None
    assert next_instant <= at
    assert outbox.send_due(at) == 1
    assert len(hook.received) == 3


# --- leases ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_notice_under_a_live_lease_is_left_alone(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    notice = webhook_notice(channel)
    start = soon()
    claim = outbox.claim_next(start)  # a sender that is still working on it
    assert claim is not None
    assert run_round(start + outbox.LEASE - timedelta(seconds=1)) == 0
    assert outbox.next_instant() == start + outbox.LEASE
    assert reload(notice).status == Status.SENDING
    assert hook.received == []


@pytest.mark.django_db
def test_a_notice_whose_sender_died_is_sent_once_its_lease_has_run_out(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    notice = webhook_notice(channel)
    start = soon()
    assert outbox.claim_next(start) is not None  # … and the sender crashes here
    assert run_round(start + outbox.LEASE + timedelta(seconds=1)) == 1
    notice = reload(notice)
    assert (notice.status, notice.attempts) == (Status.SENT, 2)
    assert list(notice.tries.values_list("number", "outcome")) == [
        (1, AttemptOutcome.ABANDONED),
        (2, AttemptOutcome.SENT),
    ]
    assert len(hook.received) == 1


@pytest.mark.django_db
def test_a_sender_that_reports_after_losing_its_lease_changes_only_its_own_attempt(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    notice = webhook_notice(channel)
    start = soon()
    slow = outbox.claim_next(start)
    assert slow is not None
    hook.answer_next(*FAIL)
    run_round(start + outbox.LEASE + timedelta(seconds=1))  # the next sender takes over, fails
    late = outbox.record(
        slow,
        outbox.senders.Outcome(ok=True, status_code=200),
        finished_at=start + outbox.LEASE + MINUTE,
        duration=timedelta(seconds=400),
    )
    assert late is False
    notice = reload(notice)
    assert notice.status == Status.FAILED  # the lease holder's outcome stands
    assert list(notice.tries.values_list("number", "outcome")) == [(1, "sent"), (2, "failed")]


# --- several senders at once -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_round_started_while_a_send_is_in_flight_finds_nothing_to_send(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    """The second round runs in the server's thread, on its own database connection,
    exactly while the first round waits for the answer."""
    webhook_notice(channel)
    at = soon()
    second_round: list[int] = []

    def other_sender(_request: object) -> None:
        try:
            second_round.append(outbox.send_due(at + timedelta(seconds=5)))
        finally:
            connection.close()

    hook.on_request = other_sender
    assert run_round(at) == 1
    assert second_round == [0]
    assert len(hook.received) == 1
    assert Notification.objects.get().status == Status.SENT


@pytest.mark.django_db
def test_two_claims_at_the_same_instant_take_different_notices(
    channel: NotificationChannel,
) -> None:
    first, second = webhook_notice(channel, key="a"), webhook_notice(channel, key="b")
    at = soon()
    claims = [outbox.claim_next(at), outbox.claim_next(at), outbox.claim_next(at)]
    assert [claim.pk if claim else None for claim in claims] == [
        first.pk,
        second.pk,
        None,
    ]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_deliver_each_notice_exactly_once(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    """Threads with their own connections; SQLite's shared in-memory test database
    refuses concurrent writers outright, so this one runs on PostgreSQL."""
    keys = [f"breach-notice:{number}" for number in range(40)]
    for key in keys:
        webhook_notice(channel, key=key)
    at = soon()
    hook.on_request = lambda _request: time.sleep(0.02)  # sends overlap, as in real life
    barrier = threading.Barrier(2)
    tried: list[int] = []

    def send() -> None:
        barrier.wait()
        try:
            tried.append(outbox.send_due(at))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    delivered = sorted(request.headers["x-assura-delivery"] for request in hook.received)
    assert delivered == sorted(keys)
    assert sum(tried) == 40
    assert all(count > 0 for count in tried), "both senders took a share"
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


# --- the timer and the administrator's retry ---------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes stale connections each round
def test_the_worker_runs_the_sender_as_a_timer(
    channel: NotificationChannel, hook: RobotServer
) -> None:
    assert any(timer.name == "notify-sender" for timer in timers.registered())
    webhook_notice(channel)
    Worker().run_once(soon())
    assert Notification.objects.get().status == Status.SENT


@pytest.mark.django_db
def test_an_administrator_retries_a_dead_notice_once_more(
    channel: NotificationChannel, hook: RobotServer, admin: User
) -> None:
    hook.answer_next(*FAIL, times=outbox.MAX_ATTEMPTS + 1)
    notice = webhook_notice(channel)
    at = soon()
    while reload(notice).status != Status.DEAD:
        run_round(at)
        at = reload(notice).next_attempt_at or at
    services.retry_now(actor=admin, notification=notice)
    assert reload(notice).status == Status.PENDING
    run_round(timezone.now() + timedelta(seconds=1))
    notice = reload(notice)
    assert (notice.status, notice.attempts) == (Status.DEAD, 7)  # one more try, still failing
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Notification), object_pk=str(notice.pk)
    )
    assert entry.actor == admin
    assert entry.changes_dict == {"status": ["dead", "pending"]}


@pytest.mark.django_db
def test_a_retried_failed_notice_goes_out_now_instead_of_at_its_retry_time(
    channel: NotificationChannel, hook: RobotServer, admin: User
) -> None:
    hook.answer_next(*FAIL)
    notice = webhook_notice(channel)
    run_round(soon())
    services.retry_now(actor=admin, notification=notice)
    run_round(soon())
    assert reload(notice).status == Status.SENT


@pytest.mark.django_db
def test_only_an_administrator_retries_and_only_what_failed(
    channel: NotificationChannel, admin: User, auditor: User
) -> None:
    notice = webhook_notice(channel)
    with pytest.raises(PermissionDenied):
        services.retry_now(actor=auditor, notification=notice)
    with pytest.raises(ValidationError, match="Only failed"):
        services.retry_now(actor=admin, notification=notice)
