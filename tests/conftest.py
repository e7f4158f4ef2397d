from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.utils import translation

from assura.core.models import Role, Team, User
from tests.factories import ContactFactory, CustomerFactory, StaffFactory, TeamFactory


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Service messages are asserted in English; pages pick their language per request."""
    with translation.override("en"):
        yield


@pytest.fixture
def team() -> Team:
    return TeamFactory()


@pytest.fixture
def make_staff(team: Team) -> Callable[..., User]:
    """A member of staff in `role`; agents and team leads join `team` unless told."""

    def make(role: Role = Role.AGENT, **fields: object) -> User:
        if role in (Role.AGENT, Role.TEAM_LEAD):
            fields.setdefault("team", team)
        return StaffFactory(role=role, **fields)

    return make


@pytest.fixture
def agent(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.AGENT)


@pytest.fixture
def admin(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.ADMIN)


@pytest.fixture
def auditor(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.AUDITOR)


@pytest.fixture
def contact() -> User:
    return ContactFactory()


@pytest.fixture
def other_contact() -> User:
    return ContactFactory(organisation=CustomerFactory())
