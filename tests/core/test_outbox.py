"""The shared outbox mechanism, run against notify's notices as a real outbox table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from assura.core import outbox
from assura.core.outbox import Claim, RoundClock
from assura.notify import services
from assura.notify.models import Notification, Status
from tests.concurrency import side_by_side

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
SENT = {"status": Status.SENT, "next_attempt_at": None, "sent_at": T0}


def notice(key: str, due: datetime = T0) -> Notification:
    row = services.enqueue(key, to=["ops@example.cn"], subject="超时", body="工单已超时")
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=due)
    row.refresh_from_db()
    return row


def claim(
    now: datetime,
    *,
    on_abandoned: Callable[[Claim], None] | None = None,
    lease_end_field: str | None = None,
    give_up: outbox.GiveUp | None = None,
) -> Claim | None:
    return outbox.claim_next(
        Notification,
        now,
        sending=Status.SENDING,
        lease=LEASE,
        lease_end_field=lease_end_field,
        on_abandoned=on_abandoned,
        give_up=give_up,
    )


def finish(held: Claim) -> bool:
    return outbox.finish(Notification, held, SENT, sending=Status.SENDING)


def reload(row: Notification) -> Notification:
    row.refresh_from_db()
    return row


# --- claiming ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_of_two_claims_of_one_due_row_exactly_one_wins() -> None:
    row = notice("a")
    first, second = claim(T0), claim(T0)
    assert first is not None
    assert second is None
    assert (first.pk, first.number, first.started_at) == (row.pk, 1, T0)
    assert (first.previous_status, first.previous_due) == (Status.PENDING, T0)
    row = reload(row)
    assert (row.status, row.attempts, row.lease_token) == (Status.SENDING, 1, first.token)
    assert row.next_attempt_at == T0 + LEASE


@pytest.mark.django_db
def test_a_row_not_yet_due_is_not_claimed() -> None:
    row = notice("a", due=T0 + timedelta(minutes=1))
    assert claim(T0) is None
    row = reload(row)
    assert (row.status, row.attempts, row.lease_token) == (Status.PENDING, 0, "")
    assert claim(T0 + timedelta(minutes=1)) is not None


@pytest.mark.django_db
def test_the_most_overdue_row_goes_first_and_equal_ones_by_their_order() -> None:
    later, overdue, tied = notice("a"), notice("b", due=T0 - timedelta(hours=1)), notice("c")
    claims = [claim(T0), claim(T0), claim(T0), claim(T0)]
    assert [held.pk if held else None for held in claims] == [overdue.pk, later.pk, tied.pk, None]


@pytest.mark.django_db
def test_a_column_for_the_lease_end_gets_it_too() -> None:
    row = notice("a")
    assert claim(T0, lease_end_field="lease_until") is not None
    assert reload(row).lease_until == T0 + LEASE


@pytest.mark.django_db
def test_a_lease_that_ran_out_is_taken_over_and_the_lost_attempt_handed_to_the_app() -> None:
    row = notice("a")
    first = claim(T0)
    assert first is not None
    abandoned: list[Claim] = []
    assert claim(T0 + LEASE - timedelta(seconds=1), on_abandoned=abandoned.append) is None
    assert abandoned == []

    taken = claim(T0 + LEASE, on_abandoned=abandoned.append)
    assert taken is not None
    assert abandoned == [taken]
    assert (taken.number, taken.previous_status, taken.previous_due) == (
        2,
        Status.SENDING,
        T0 + LEASE,
    )
    assert taken.token != first.token
    assert reload(row).lease_token == taken.token


@pytest.mark.django_db
def test_a_failure_recording_the_lost_attempt_undoes_the_new_claim() -> None:
    row = notice("a")
    first = claim(T0)
    assert first is not None

    def broken(_claim: Claim) -> None:
        raise RuntimeError("the attempt log is unavailable")

    with pytest.raises(RuntimeError):
        claim(T0 + LEASE, on_abandoned=broken)
    row = reload(row)
    assert (row.attempts, row.lease_token, row.next_attempt_at) == (1, first.token, T0 + LEASE)


@pytest.mark.django_db
def test_a_row_whose_sender_died_on_its_last_attempt_is_given_up_and_the_next_taken() -> None:
    """A sender killed by its row counts no failure: without a limit, for ever."""
    give_up = outbox.GiveUp(2, {"status": Status.DEAD, "next_attempt_at": None})
    poison, later = notice("poison"), notice("later", due=T0 + 2 * LEASE)
    assert claim(T0, give_up=give_up) is not None  # attempt 1: the sender dies
    assert claim(T0 + LEASE, give_up=give_up) is not None  # attempt 2: dies again
    abandoned: list[Claim] = []

    taken = claim(T0 + 2 * LEASE, give_up=give_up, on_abandoned=abandoned.append)
    assert taken is not None
    assert taken.pk == later.pk
    poison = reload(poison)
    assert (poison.status, poison.next_attempt_at, poison.attempts) == (Status.DEAD, None, 2)
    assert [(lost.pk, lost.number - 1) for lost in abandoned] == [(poison.pk, 2)]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_senders_claiming_at_once_each_win_different_rows() -> None:
    """Threads on their own connections; SQLite's in-memory test database refuses
    concurrent writers, so this one runs on PostgreSQL."""
    rows = {notice(f"k{number}").pk for number in range(30)}
    claims: list[Claim] = []

    def sender() -> None:
        while (held := claim(T0)) is not None:
            claims.append(held)

    side_by_side(sender, copies=3)
    assert sorted(held.pk for held in claims) == sorted(rows)
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.SENDING, 1)}


# --- finishing ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_finishing_with_a_stale_token_changes_nothing() -> None:
    row = notice("a")
    slow = claim(T0)
    taken = claim(T0 + LEASE)
    assert slow is not None
    assert taken is not None

    assert finish(slow) is False
    row = reload(row)
    assert (row.status, row.attempts, row.lease_token) == (Status.SENDING, 2, taken.token)
    assert row.next_attempt_at == T0 + 2 * LEASE

    assert finish(taken) is True
    row = reload(row)
    assert (row.status, row.next_attempt_at, row.lease_token) == (Status.SENT, None, "")
    assert finish(taken) is False  # once finished, the same outcome is not applied again


# --- the next instant, the round and the waits -------------------------------------------


@pytest.mark.django_db
def test_next_instant_is_the_earliest_due_instant() -> None:
    assert outbox.next_instant(Notification) is None
    notice("later", due=T0 + timedelta(hours=1))
    notice("earliest", due=T0 - timedelta(hours=1))
    done = notice("done", due=T0 - timedelta(days=1))
    Notification.objects.filter(pk=done.pk).update(status=Status.SENT, next_attempt_at=None)
    assert outbox.next_instant(Notification) == T0 - timedelta(hours=1)


def send_round(now: datetime, *, limit: int, budget_seconds: float = 60.0) -> list[Claim]:
    """A round whose delivery just marks the row sent, keeping what it delivered."""
    delivered: list[Claim] = []

    def deliver(held: Claim, clock: RoundClock) -> None:
        assert clock.now() >= held.started_at >= now
        assert finish(held)
        delivered.append(held)

    tried = outbox.send_round(now, claim, deliver, limit=limit, budget_seconds=budget_seconds)
    assert tried == len(delivered)
    return delivered


@pytest.mark.django_db
def test_a_round_tries_at_most_its_limit_and_the_rest_stays_due() -> None:
    rows = [notice(f"k{number}") for number in range(3)]
    first_round = send_round(T0, limit=2)
    assert [held.pk for held in first_round] == [rows[0].pk, rows[1].pk]
    assert reload(rows[2]).status == Status.PENDING
    assert [held.pk for held in send_round(T0, limit=2)] == [rows[2].pk]
    assert send_round(T0, limit=2) == []
    assert {reload(row).status for row in rows} == {Status.SENT}


@pytest.mark.django_db
def test_a_round_past_its_time_budget_claims_nothing() -> None:
    row = notice("a")
    assert send_round(T0, limit=10, budget_seconds=0) == []
    assert reload(row).status == Status.PENDING


@pytest.mark.django_db
def test_a_rounds_clock_moves_on_from_the_rounds_instant() -> None:
    notice("a")
    notice("b")
    first, second = send_round(T0, limit=2)
    assert T0 < first.started_at < second.started_at < T0 + timedelta(seconds=60)


def test_the_waits_follow_the_table_and_its_last_wait_repeats() -> None:
    waits = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
    assert [outbox.backoff(waits, failed) for failed in (1, 2, 3, 4, 9)] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(minutes=30),
        timedelta(minutes=30),
    ]
