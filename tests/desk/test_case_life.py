"""The full life of each case type under the standard guarantee, clocks included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import ActivityKind, Case, Status
from assura.sla.models import ClockStatus
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def test_an_inquiry_from_the_portal_runs_its_clocks_to_a_closed_case(
    make_case: Callable[..., Case],
    agent,
    contact,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case()
    assert case.reference == "C-2026-000001"
    assert case.policy_version.policy.code == "standard"
    assert case.first_contact_owner is None
    assert case.status == Status.NEW
    clocks = clocks_of(case)
    assert set(clocks) == {"first_response", "classification", "resolution"}
    assert clocks["first_response"].due_at == at(2026, 3, 2, 10, 15)

    desk.reply(actor=agent, case=case, body="We are on it.", at=at(2026, 3, 2, 10, 9))
    case.refresh_from_db()
    assert case.first_contact_owner == agent
    assert case.status == Status.OPEN
    first_response = clocks_of(case)["first_response"]
    assert first_response.status == ClockStatus.STOPPED
    assert first_response.met_at == at(2026, 3, 2, 10, 9)

    desk.classify(
        actor=agent, case=case, case_type="inquiry", priority="normal", at=at(2026, 3, 2, 10, 30)
    )
    desk.resolve(actor=agent, case=case, at=at(2026, 3, 2, 15))
    assert clocks_of(case)["resolution"].met_at == at(2026, 3, 2, 15)
    desk.close(actor=contact, case=case, at=at(2026, 3, 3, 9))
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_an_urgent_fault_is_measured_round_the_clock_and_a_complex_one_owes_a_plan(
    make_case: Callable[..., Case],
    agent,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case(
        actor=agent, case_type="fault", priority="urgent", channel="phone", at=at(2026, 3, 7, 22)
    )  # a Saturday night
    assert case.policy_version.policy.code == "urgent-fault"
    assert case.first_contact_owner == agent  # the agent who logged the call
    assert clocks_of(case)["resolution"].due_at == at(2026, 3, 8, 0)
    desk.mark_complex(actor=agent, case=case, at=at(2026, 3, 7, 23))
    plan = clocks_of(case)["interim_plan"]
    assert plan.started_at == at(2026, 3, 7, 22)  # counted from when the case came in
    assert plan.due_at == at(2026, 3, 10, 22)
    desk.send_interim_plan(
        actor=agent, case=case, body="Stage 1: failover; stage 2: fix.", at=at(2026, 3, 8, 9)
    )
    assert clocks_of(case)["interim_plan"].met_at == at(2026, 3, 8, 9)


def test_a_complaint_owes_a_reply_within_24_working_hours(
    make_case: Callable[..., Case],
    agent,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case(case_type="complaint", subject="Rude engineer")
    assert case.policy_version.policy.code == "complaint"
    reply_clock = clocks_of(case)["complaint_reply"]
    assert reply_clock.due_at == at(2026, 3, 4, 16)  # 8 h Mon, 9 h Tue, 7 h Wed
    desk.reply(actor=agent, case=case, body="We apologise.", at=at(2026, 3, 3, 11))
    clocks = clocks_of(case)
    assert clocks["complaint_reply"].met_at == at(2026, 3, 3, 11)
    assert "first_response" not in clocks  # the complaint promise is the 24 h reply


def test_a_suggestion_is_acknowledged_classified_and_handled(
    make_case: Callable[..., Case],
    agent,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case(case_type="suggestion", subject="Add an export button")
    assert case.policy_version.policy.code == "feedback"
    desk.classify(
        actor=agent, case=case, case_type="suggestion", priority="low", at=at(2026, 3, 2, 11)
    )
    case.refresh_from_db()
    assert case.classified_at == at(2026, 3, 2, 11)
    assert clocks_of(case)["classification"].met_at == at(2026, 3, 2, 11)
    assert case.activities.filter(kind=ActivityKind.CLASSIFIED).exists()


def test_a_request_uses_the_default_policy(make_case: Callable[..., Case]) -> None:
    case = make_case(case_type="request", subject="New user account")
    assert case.policy_version.policy.code == "standard"


def test_a_priority_change_retargets_from_the_start_and_can_breach_at_once(
    make_case: Callable[..., Case],
    agent,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case(actor=agent, case_type="request", at=at(2026, 3, 2, 9))
    assert clocks_of(case)["resolution"].target == 24 * HOUR
    desk.change_priority(actor=agent, case=case, priority="urgent", at=at(2026, 3, 2, 12))
    resolution = clocks_of(case)["resolution"]
    assert resolution.target == 2 * HOUR
    assert resolution.breached_at == at(2026, 3, 2, 11)
    assert resolution.breach.breached_at == at(2026, 3, 2, 11)


def test_waiting_on_the_customer_pauses_resolution_until_the_customer_answers(
    make_case: Callable[..., Case],
    agent,
    contact,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case(actor=agent, case_type="request", at=at(2026, 3, 2, 9))
    desk.change_status(actor=agent, case=case, status="waiting_customer", at=at(2026, 3, 2, 10))
    assert clocks_of(case)["resolution"].status == ClockStatus.PAUSED
    desk.reply(actor=contact, case=case, body="Here is the log file.", at=at(2026, 3, 3, 10))
    case.refresh_from_db()
    assert case.status == Status.OPEN
    resolution = clocks_of(case)["resolution"]
    assert resolution.status == ClockStatus.RUNNING
    # 1 h before the pause, then 23 h more from Tuesday 10:00 = Thursday 15:00.
    assert resolution.due_at == at(2026, 3, 5, 15)


def test_the_first_contact_owner_stays_accountable_after_a_hand_over(
    make_case: Callable[..., Case],
    agent,
    make_staff,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case()
    desk.reply(actor=agent, case=case, body="Looking.", at=at(2026, 3, 2, 10, 5))
    colleague = make_staff()
    desk.assign(actor=agent, case=case, team=case.team, assignee=colleague, at=at(2026, 3, 2, 11))
    case.refresh_from_db()
    assert case.assignee == colleague
    assert case.first_contact_owner == agent
    assert set(case.accountable_staff()) == {agent, colleague}
    assert case.activities.filter(kind=ActivityKind.HANDED_OVER).exists()


def test_reopening_within_the_window_counts_a_second_attempt_and_resumes_resolution(
    make_case: Callable[..., Case],
    agent,
    contact,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case(actor=agent, case_type="request", at=at(2026, 3, 2, 9))
    desk.resolve(actor=agent, case=case, at=at(2026, 3, 2, 12))
    desk.reopen(actor=contact, case=case, reason="Still broken", at=at(2026, 3, 3, 9))
    case.refresh_from_db()
    assert (case.status, case.reopen_count) == (Status.OPEN, 1)
    resolution = clocks_of(case)["resolution"]
    assert resolution.status == ClockStatus.RUNNING
    assert resolution.due_at == at(2026, 3, 5, 12)  # 3 h used, 21 h left from Tue 09:00


def test_merging_moves_the_messages_and_ends_the_duplicates_clocks(
    make_case: Callable[..., Case],
    agent,  # type: ignore[no-untyped-def]
) -> None:
    original = make_case(actor=agent)
    duplicate = make_case(actor=agent, subject="Cannot log in (again)")
    desk.add_note(actor=agent, case=duplicate, body="same as the other one")
    desk.merge(actor=agent, duplicate=duplicate, into=original, at=at(2026, 3, 2, 11))
    duplicate.refresh_from_db()
    assert duplicate.status == Status.CLOSED
    assert duplicate.merged_into == original
    assert original.messages.count() == 1
    assert all(c.status == ClockStatus.CANCELLED for c in clocks_of(duplicate).values())


def test_a_repeated_idempotency_key_returns_the_same_case(
    make_case: Callable[..., Case],
) -> None:
    first = make_case(idempotency_key="mail-123")
    again = make_case(idempotency_key="mail-123", subject="other")
    assert again.pk == first.pk
    assert Case.objects.count() == 1


def test_a_case_is_expedited_once_even_by_two_callers_holding_stale_copies(
    make_case: Callable[..., Case],
) -> None:
    case = make_case()
    stale = Case.objects.get(pk=case.pk)
    desk.expedite(actor=None, case=case, at=at(2026, 3, 2, 11), note="level 2")
    desk.expedite(actor=None, case=stale, at=at(2026, 3, 2, 12), note="manager")
    assert stale.expedited_at == at(2026, 3, 2, 11)
    logged = case.activities.filter(kind=ActivityKind.EXPEDITED)
    assert list(logged.values_list("note", flat=True)) == ["level 2"]
