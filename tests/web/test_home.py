"""The home page per role: honest placeholders now, the features fill them later."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from assura.core.models import Role, User
from assura.web.templatetags.assura_web import optional_url
from tests.factories import ContactFactory, CustomerFactory

SHORTCUTS = ("commitments:services", "commitments:policies", "calendars:list")
EXPECTED = {
    Role.AGENT: ["My cases", "My team", "No cases yet."],
    Role.TEAM_LEAD: ["Expedite channel", "Breaches", "Team load"],
    Role.MANAGER: ["Expedite channel", "Breaches", "Team load"],
    Role.QUALITY_MANAGER: ["Configuration", "Add a customer organisation", "Organisations"],
    Role.AUDITOR: ["read-only access", "Open the audit log"],
    Role.CUSTOMER: ["Cases of", "Submit a request", "/portal/new/"],
    Role.ADMIN: ["Active staff", "Add a person", "Audit log"],
}


def english_home(client: Client, user: User) -> str:
    client.force_login(user)
    response = client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_its_own_home_page(
    role: Role, person_in_role: Callable[[Role], User], client: Client
) -> None:
    page = english_home(client, person_in_role(role))
    for text in EXPECTED[role]:
        assert text in page


@pytest.mark.django_db
def test_the_placeholders_show_no_invented_figures(agent: User, client: Client) -> None:
    page = english_home(client, agent)
    assert "No cases yet." in page
    assert 'class="stat-value"' not in page


@pytest.mark.django_db
def test_the_administrator_sees_real_counts(
    admin: User, make_staff: Callable[..., User], client: Client
) -> None:
    make_staff(Role.AGENT)
    ContactFactory(organisation=CustomerFactory())
    page = english_home(client, admin)
    assert '<span class="stat-value">2</span><span class="stat-label">Active staff' in page
    assert (
        '<span class="stat-value">1</span><span class="stat-label">Active customer contacts' in page
    )


@pytest.mark.django_db
def test_a_team_lead_sees_its_team(make_staff: Callable[..., User], client: Client) -> None:
    lead = make_staff(Role.TEAM_LEAD)
    page = english_home(client, lead)
    assert lead.team.name in page


def test_optional_url_gives_the_url_of_a_page_that_exists() -> None:
    assert optional_url("web:people") == reverse("web:people")


def test_optional_url_gives_nothing_for_a_page_that_does_not_exist_yet() -> None:
    assert optional_url("no-such-app:no-such-page") == ""


@pytest.mark.django_db
def test_the_quality_manager_gets_no_link_to_a_missing_page(
    make_staff: Callable[..., User], client: Client
) -> None:
    page = english_home(client, make_staff(Role.QUALITY_MANAGER))
    assert optional_url("commitments:policies") or "<strong>SLA policies</strong>" not in page
    shortcuts = [optional_url(name) for name in SHORTCUTS]
    for url in filter(None, shortcuts):
        assert f'href="{url}"' in page
    if not any(shortcuts):
        assert "No configuration pages yet." in page
    assert reverse("web:organisation_new") in page
