"""The compensation ledger: one entry per breach, the monthly cap, decisions, statements."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from assura.commitments import services as commitments
from assura.commitments.models import Contract, Metric
from assura.core.models import Role, User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.sla import compensation
from assura.sla.models import Breach, CompensationEntry, CompensationStatus
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def capped(contract: Contract) -> Contract:
    """20,000 a month, 5 % per missed first response, at most 2,500 a month."""
    contract.compensation_cap = Decimal("2500.00")
    contract.save()
    return contract


@pytest.fixture
def missed_response(
    make_overdue_case: Callable[..., Case], agent: User, django_capture_on_commit_callbacks: object
) -> Callable[[datetime], CompensationEntry]:
    """A case opened at `opened` whose first response was never given in time."""

    def make(opened: datetime) -> CompensationEntry:
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            case = make_overdue_case(assignee=agent, at=opened)
        return CompensationEntry.objects.get(
            breach__clock__subject_id=case.pk, metric="first_response"
        )

    return make


def test_three_breaches_in_a_month_are_capped_at_the_contracts_limit(
    capped: Contract, missed_response: Callable[[datetime], CompensationEntry]
) -> None:
    first = missed_response(at(2026, 3, 2, 10))
    second = missed_response(at(2026, 3, 9, 10))
    third = missed_response(at(2026, 3, 16, 10))
    fourth = missed_response(at(2026, 3, 23, 10))
    april = missed_response(at(2026, 4, 1, 10))

    assert [(e.amount, e.capped) for e in (first, second, third)] == [
        (Decimal("1000.00"), False),
        (Decimal("1000.00"), False),
        (Decimal("500.00"), True),
    ]
    assert third.uncapped_amount == Decimal("1000.00")
    assert (fourth.amount, fourth.capped) == (Decimal("0.00"), True)
    assert (april.month, april.amount, april.capped) == (
        date(2026, 4, 1),
        Decimal("1000.00"),
        False,
    )
    assert {e.month for e in (first, second, third, fourth)} == {date(2026, 3, 1)}
    assert {e.currency for e in (first, april)} == {"CNY"}
    # Only the first-response promise is compensated under this contract.
    assert CompensationEntry.objects.count() == 5
    assert Breach.objects.count() > 5


def test_booking_again_returns_the_same_entry(
    capped: Contract, missed_response: Callable[[datetime], CompensationEntry]
) -> None:
    entry = missed_response(at(2026, 3, 2, 10))
    assert compensation.book(entry.breach) == entry
    assert CompensationEntry.objects.filter(breach=entry.breach).count() == 1


def test_a_quality_manager_approves_or_waives_with_a_reason(
    capped: Contract,
    missed_response: Callable[[datetime], CompensationEntry],
    quality: User,
    agent: User,
) -> None:
    owed = missed_response(at(2026, 3, 2, 10))
    excused = missed_response(at(2026, 3, 3, 10))

    with pytest.raises(ValidationError) as refused:
        compensation.waive(actor=quality, entry=excused, reason="  ")
    assert "reason" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        compensation.approve(actor=agent, entry=owed)

    compensation.approve(actor=quality, entry=owed)
    compensation.waive(actor=quality, entry=excused, reason="The customer's VPN was down.")
    owed.refresh_from_db()
    excused.refresh_from_db()
    assert (owed.status, owed.decided_by) == (CompensationStatus.APPROVED, quality)
    assert (excused.status, excused.reason) == (
        CompensationStatus.WAIVED,
        "The customer's VPN was down.",
    )
    with pytest.raises(ValidationError):
        compensation.waive(actor=quality, entry=owed, reason="Changed my mind.")


def test_the_monthly_statement_totals_and_csv(
    capped: Contract,
    missed_response: Callable[[datetime], CompensationEntry],
    quality: User,
) -> None:
    first = missed_response(at(2026, 3, 2, 10))
    second = missed_response(at(2026, 3, 9, 10))
    missed_response(at(2026, 3, 16, 10))
    compensation.approve(actor=quality, entry=first)
    compensation.waive(actor=quality, entry=second, reason="Planned maintenance, agreed.")

    report = compensation.statement(capped, date(2026, 3, 1))
    assert [e.amount for e in report.entries] == [Decimal(1000), Decimal(1000), Decimal(500)]
    assert (report.approved, report.waived, report.pending) == (
        Decimal("1000.00"),
        Decimal("1000.00"),
        Decimal("500.00"),
    )
    assert report.uncapped == Decimal("2000.00")  # approved 1000 + pending 1000 before the cap
    assert (report.booked, report.cap, report.cap_left) == (
        Decimal("1500.00"),
        Decimal("2500.00"),
        Decimal("1000.00"),
    )

    rows = list(csv.reader(io.StringIO(compensation.statement_csv(report).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Contract", "Month", "Case"]
    entries = rows[1:4]
    assert [row[2] for row in entries] == ["C-2026-000001", "C-2026-000002", "C-2026-000003"]
    assert [(row[5], row[6], row[7], row[8]) for row in entries] == [
        ("approved", "1000.00", "1000.00", ""),
        ("waived", "1000.00", "1000.00", ""),
        ("pending", "1000.00", "500.00", "yes"),
    ]
    assert entries[1][12] == "Planned maintenance, agreed."
    totals = {row[3]: row[7] for row in rows[5:]}
    assert totals == {
        "Approved": "1000.00",
        "Pending": "500.00",
        "Waived": "1000.00",
        "Booked (pending and approved)": "1500.00",
        "Cap per month": "2500.00",
    }


def test_a_withdrawn_breach_voids_its_entry_and_one_that_stands_again_is_pending_again(
    contract: Contract,
    make_overdue_case: Callable[..., Case],
    agent: User,
    contact: User,
    django_capture_on_commit_callbacks: object,
) -> None:
    commitments.set_compensation_rule(
        actor=None,
        contract=contract,
        metric=Metric.objects.get(code="resolution"),
        fixed_amount=Decimal("300.00"),
    )
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        case = make_overdue_case(
            assignee=agent, case_type="request", priority="urgent", at=at(2026, 3, 2, 9)
        )
    entry = CompensationEntry.objects.get(metric="resolution")
    assert (entry.amount, entry.status) == (Decimal("300.00"), CompensationStatus.PENDING)

    # The resolution, logged late, came within the 2 h: no promise was broken.
    desk.resolve(actor=agent, case=case, at=at(2026, 3, 2, 10, 30))
    entry = CompensationEntry.objects.select_related("breach").get(pk=entry.pk)
    assert entry.breach.withdrawn_at is not None
    assert entry.status == CompensationStatus.VOID

    # Reopened at 11:00, the clock runs on and passes its 2 h at 11:30.
    desk.reopen(actor=contact, case=case, reason="Still broken", at=at(2026, 3, 2, 11))
    desk.change_status(actor=agent, case=case, status="waiting_customer", at=at(2026, 3, 2, 12))
    entry = CompensationEntry.objects.select_related("breach").get(pk=entry.pk)
    assert entry.breach.withdrawn_at is None
    assert entry.breach.breached_at == at(2026, 3, 2, 11, 30)
    assert (entry.status, entry.amount) == (CompensationStatus.PENDING, Decimal("300.00"))
    assert CompensationEntry.objects.filter(metric="resolution").count() == 1
