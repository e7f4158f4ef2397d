from __future__ import annotations

import pytest

from assura.calendars import services as calendars
from assura.calendars.models import Calendar, CalendarVersion
from assura.core.models import Organisation, Role, User
from tests.desk import conftest as desk

# The desk's fixtures, for every SLA test: cases under the standard guarantee, for a
# customer with a contract.
contract = desk.contract
customer = desk.customer
guarantee = desk.guarantee
make_case = desk.make_case
other_team_agent = desk.other_team_agent
service = desk.service


@pytest.fixture
def quality(make_staff) -> User:  # type: ignore[no-untyped-def]
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def china(quality: User) -> Calendar:
    return calendars.create_calendar(
        actor=quality, code="cn", name="China office hours", follows_official_china=True
    )


@pytest.fixture
def always(quality: User) -> Calendar:
    return calendars.create_calendar(
        actor=quality, code="247", name="24x7", week=calendars.ROUND_THE_CLOCK
    )


@pytest.fixture
def china_v(china: Calendar) -> CalendarVersion:
    return china.current_version


@pytest.fixture
def always_v(always: Calendar) -> CalendarVersion:
    return always.current_version


@pytest.fixture
def subject(contact: User) -> Organisation:
    """Any saved record can carry clocks; the desk's cases are the usual subject."""
    return contact.organisation


@pytest.fixture
def make_overdue_case(make_case):  # type: ignore[no-untyped-def]
    """A case made in the past, then seen by the watcher now, as a running desk would.

    Clocks are computed as of the case's own (past) instants, so what has fallen due
    since is recorded by the watcher, at the instant it happened.
    """
    from django.utils import timezone

    from assura.sla import watcher

    def make(**fields):  # type: ignore[no-untyped-def]
        case = make_case(**fields)
        watcher.record_due(timezone.now())
        return case

    return make
