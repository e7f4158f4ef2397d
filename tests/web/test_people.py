"""The people list, its filters, and an administrator adding and deactivating people."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from assura.core.models import Role, User
from tests.factories import ContactFactory, CustomerFactory, ProviderFactory


def names_listed(client: Client, query: str = "") -> str:
    response = client.get(reverse("web:people") + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_list_filters_by_role(
    admin: User, agent: User, contact: User, signed_in: Callable[[User], Client]
) -> None:
    page = names_listed(signed_in(admin), "?role=customer")
    assert contact.username in page
    assert agent.username not in page


@pytest.mark.django_db
def test_the_list_filters_by_organisation(
    admin: User, contact: User, other_contact: User, signed_in: Callable[[User], Client]
) -> None:
    page = names_listed(signed_in(admin), f"?organisation={contact.organisation.code}")
    assert contact.username in page
    assert other_contact.username not in page


@pytest.mark.django_db
def test_the_list_searches_login_name_and_email(
    admin: User, make_staff: Callable[..., User], signed_in: Callable[[User], Client]
) -> None:
    make_staff(Role.AGENT, username="wangfang", display_name="王芳")
    make_staff(Role.AGENT, username="other", email="li.na@example.com")
    make_staff(Role.AGENT, username="unrelated")
    client = signed_in(admin)
    assert "wangfang" in names_listed(client, "?q=王芳")
    assert "unrelated" not in names_listed(client, "?q=王芳")
    assert "other" in names_listed(client, "?q=li.na")


@pytest.mark.django_db
def test_the_list_filters_by_status(
    admin: User, make_staff: Callable[..., User], signed_in: Callable[[User], Client]
) -> None:
    make_staff(Role.AGENT, username="gone", is_active=False)
    client = signed_in(admin)
    assert "gone" in names_listed(client, "?status=inactive")
    assert "gone" not in names_listed(client, "?status=active")


@pytest.mark.django_db
def test_only_an_administrator_is_offered_to_add_people(
    admin: User, agent: User, client: Client
) -> None:
    client.force_login(agent)
    assert reverse("web:person_new") not in names_listed(client)
    client.force_login(admin)
    assert reverse("web:person_new") in names_listed(client)


def person_form(**changes: object) -> dict[str, object]:
    return {
        "username": "newcomer",
        "display_name": "新同事",
        "email": "newcomer@example.com",
        "role": Role.AGENT,
        "organisation": ProviderFactory().pk,
        "team": "",
        "password": "a-long-and-unusual-passphrase",
        "language": "",
        "time_zone": "",
        **changes,
    }


@pytest.mark.django_db
def test_an_administrator_adds_a_person(admin: User, client: Client) -> None:
    client.force_login(admin)
    response = client.post(reverse("web:person_new"), person_form(time_zone="Europe/Berlin"))
    assert response.status_code == 302
    created = User.objects.get(username="newcomer")
    assert response["Location"] == reverse("web:person", args=["newcomer"])
    assert created.role == Role.AGENT
    assert created.time_zone == "Europe/Berlin"
    assert created.check_password("a-long-and-unusual-passphrase")


@pytest.mark.django_db
def test_a_duplicate_login_is_refused_next_to_the_field(
    admin: User, agent: User, client: Client
) -> None:
    client.force_login(admin)
    before = User.objects.count()
    response = client.post(reverse("web:person_new"), person_form(username=agent.username))
    assert response.status_code == 400
    assert User.objects.count() == before
    assert response.context["form"].errors["username"]
    page = response.content.decode()
    assert 'id="id_username_error"' in page
    assert "已存在" in page


@pytest.mark.django_db
def test_a_contact_in_the_provider_organisation_is_refused_next_to_the_field(
    admin: User, client: Client
) -> None:
    client.force_login(admin)
    response = client.post(reverse("web:person_new"), person_form(role=Role.CUSTOMER))
    assert response.status_code == 400
    assert "organisation" in response.context["form"].errors
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.django_db
def test_a_bad_time_zone_is_refused_next_to_the_field(admin: User, client: Client) -> None:
    client.force_login(admin)
    response = client.post(reverse("web:person_new"), person_form(time_zone="Mars/Olympus"))
    assert response.status_code == 400
    assert response.context["form"].errors["time_zone"]
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.django_db
def test_a_weak_password_is_refused_in_the_readers_language(admin: User, client: Client) -> None:
    admin.language = "en"
    admin.save()
    client.force_login(admin)
    response = client.post(reverse("web:person_new"), person_form(password="123"))
    assert response.status_code == 400
    assert "This password is too short" in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.django_db
def test_someone_who_is_not_an_administrator_cannot_add_people(
    make_staff: Callable[..., User], client: Client
) -> None:
    client.force_login(make_staff(Role.QUALITY_MANAGER))
    response = client.post(reverse("web:person_new"), person_form())
    assert response.status_code == 403
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.django_db
def test_an_administrator_deactivates_a_person(admin: User, agent: User, client: Client) -> None:
    client.force_login(admin)
    url = reverse("web:person_deactivate", args=[agent.username])
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert not agent.is_active


@pytest.mark.django_db
def test_deactivation_without_confirmation_changes_nothing(
    admin: User, agent: User, client: Client
) -> None:
    client.force_login(admin)
    response = client.post(reverse("web:person_deactivate", args=[agent.username]), {})
    assert response.status_code == 400
    assert response.context["form"].errors["confirm"]
    agent.refresh_from_db()
    assert agent.is_active


@pytest.mark.django_db
def test_an_administrator_cannot_deactivate_itself(admin: User, client: Client) -> None:
    client.force_login(admin)
    page = client.get(reverse("web:person", args=[admin.username])).content.decode()
    assert reverse("web:person_deactivate", args=[admin.username]) not in page
    response = client.post(
        reverse("web:person_deactivate", args=[admin.username]), {"confirm": "on"}
    )
    assert response.status_code == 400
    admin.refresh_from_db()
    assert admin.is_active


@pytest.mark.django_db
def test_only_an_administrator_may_deactivate(
    agent: User, make_staff: Callable[..., User], client: Client
) -> None:
    client.force_login(make_staff(Role.MANAGER))
    response = client.post(
        reverse("web:person_deactivate", args=[agent.username]), {"confirm": "on"}
    )
    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.is_active


@pytest.mark.django_db
def test_deactivation_is_a_post(admin: User, agent: User, client: Client) -> None:
    client.force_login(admin)
    response = client.get(reverse("web:person_deactivate", args=[agent.username]))
    assert response.status_code == 405


@pytest.mark.django_db
def test_a_person_page_shows_the_deactivate_form_to_an_administrator_only(
    admin: User, auditor: User, agent: User, client: Client
) -> None:
    url = reverse("web:person", args=[agent.username])
    action = reverse("web:person_deactivate", args=[agent.username])
    client.force_login(auditor)
    assert action not in client.get(url).content.decode()
    client.force_login(admin)
    assert action in client.get(url).content.decode()


@pytest.mark.django_db
def test_contacts_of_a_customer_are_listed_on_its_page(admin: User, client: Client) -> None:
    customer = CustomerFactory()
    ContactFactory(organisation=customer, username="buyer")
    ContactFactory(username="stranger")
    client.force_login(admin)
    page = client.get(reverse("web:organisation", args=[customer.code])).content.decode()
    assert "buyer" in page
    assert "stranger" not in page


@pytest.mark.django_db
def test_the_next_page_keeps_the_filters(
    admin: User, make_staff: Callable[..., User], signed_in: Callable[[User], Client]
) -> None:
    for number in range(55):
        make_staff(Role.AGENT, username=f"agent{number:02}")
    page = names_listed(signed_in(admin), "?role=agent")
    assert "role=agent&amp;page=2" in page
    second = names_listed(signed_in(admin), "?role=agent&page=2")
    assert "agent54" in second or "agent00" in second
    assert "第 2 页，共 2 页" in second
