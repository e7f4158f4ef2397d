from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.contenttypes.models import ContentType
from django.utils import translation

from assura.core.models import Role, Team, User
from tests.factories import ContactFactory, CustomerFactory, StaffFactory, TeamFactory

#: Rows the data migrations ship; a flush after a transactional test removes them.
SHIPPED_ROWS = (
    "assura.commitments.migrations.0002_shipped_metrics",
    "assura.sla.migrations.0003_cause_categories",
    "assura.sla.migrations.0005_notice_templates",
    "assura.voice.migrations.0002_shipped_surveys",
)


@pytest.fixture(autouse=True)
def shipped_rows(request: pytest.FixtureRequest, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    """Start every database test from the database as migrated.

    A transactional test ends with a flush that empties every table, including the rows
    the data migrations ship (metrics, cause categories, notice and survey templates),
    and recreates content types under new ids. Whichever test comes next finds them
    back here: one cheap query when nothing is missing.
    """
    ContentType.objects.clear_cache()
    if not _uses_database(request):
        return
    from assura.commitments.models import Metric

    with django_db_blocker.unblock():
        if Metric.objects.filter(is_builtin=True).exists():
            return
        for module in SHIPPED_ROWS:
            import_module(module).forward(django_apps, None)


def _uses_database(request: pytest.FixtureRequest) -> bool:
    names = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}
    return bool(request.node.get_closest_marker("django_db") or names & set(request.fixturenames))


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
