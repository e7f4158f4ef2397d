"""List pages cost a fixed number of queries, however many rows they show."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from assura.core import services
from assura.core.models import Role, User
from tests.factories import ContactFactory, CustomerFactory, TeamFactory

# session, signed-in person, its organisation (page header), count, rows, filter choices
PEOPLE_QUERIES = 6
# session, person, its organisation, count, rows, "who" choices, one per kind of related
# record named in the changes (organisations, people)
AUDIT_QUERIES = 8
ORGANISATIONS_QUERIES = 4


@pytest.fixture
def crowd(admin: User, make_staff: Callable[..., User]) -> None:
    teams = TeamFactory.create_batch(3)
    for number in range(30):
        make_staff(Role.AGENT, team=teams[number % 3])
    for customer in CustomerFactory.create_batch(5):
        ContactFactory.create_batch(4, organisation=customer)
    for number in range(30):
        services.create_organisation(
            actor=admin, kind="customer", code=f"LOG{number}", name=f"Logged {number}"
        )
        services.set_team_lead(actor=admin, team=teams[number % 3], lead=admin)


@pytest.mark.django_db
@pytest.mark.usefixtures("crowd")
def test_the_people_list_query_count_is_pinned(
    admin: User, client: Client, django_assert_max_num_queries: Callable[..., object]
) -> None:
    client.force_login(admin)
    with django_assert_max_num_queries(PEOPLE_QUERIES):  # type: ignore[attr-defined]
        response = client.get(reverse("web:people"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 50


@pytest.mark.django_db
@pytest.mark.usefixtures("crowd")
def test_the_filtered_people_list_query_count_is_pinned(
    admin: User, client: Client, django_assert_max_num_queries: Callable[..., object]
) -> None:
    client.force_login(admin)
    with django_assert_max_num_queries(PEOPLE_QUERIES):  # type: ignore[attr-defined]
        response = client.get(reverse("web:people") + "?role=agent&q=staff&status=active")
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("crowd")
def test_the_audit_log_query_count_is_pinned(
    auditor: User, client: Client, django_assert_max_num_queries: Callable[..., object]
) -> None:
    client.force_login(auditor)
    with django_assert_max_num_queries(AUDIT_QUERIES):  # type: ignore[attr-defined]
        response = client.get(reverse("web:audit_log"))
    assert response.status_code == 200
    assert len(response.context["entries"]) == 50


@pytest.mark.django_db
@pytest.mark.usefixtures("crowd")
def test_the_organisations_list_query_count_is_pinned(
    agent: User, client: Client, django_assert_max_num_queries: Callable[..., object]
) -> None:
    client.force_login(agent)
    with django_assert_max_num_queries(ORGANISATIONS_QUERIES):  # type: ignore[attr-defined]
        response = client.get(reverse("web:organisations"))
    assert response.status_code == 200
    assert len(response.context["organisations"]) > 30
