from __future__ import annotations

import pytest

from assura.calendars import services as calendars
from assura.calendars.models import Calendar, CalendarVersion
from assura.core.models import Organisation, Role, User


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
