"""A customer contact sees its own organisation only; anything else answers 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from assura.core.models import User


@pytest.mark.django_db
def test_a_customer_lists_only_its_own_organisations_people(
    contact: User, other_contact: User, agent: User, client: Client
) -> None:
    colleague = type(contact).objects.create(
        username="colleague", role=contact.role, organisation=contact.organisation
    )
    client.force_login(contact)
    page = client.get(reverse("web:people")).content.decode()
    assert contact.username in page
    assert colleague.username in page
    assert other_contact.username not in page
    assert agent.username not in page


@pytest.mark.django_db
def test_a_customer_filtering_by_another_organisation_sees_nobody_of_it(
    contact: User, other_contact: User, client: Client
) -> None:
    client.force_login(contact)
    url = reverse("web:people") + f"?organisation={other_contact.organisation.code}"
    page = client.get(url).content.decode()
    assert other_contact.username not in page


@pytest.mark.django_db
def test_a_customer_lists_only_its_own_organisation(
    contact: User, other_contact: User, client: Client
) -> None:
    client.force_login(contact)
    page = client.get(reverse("web:organisations")).content.decode()
    assert contact.organisation.name in page
    assert other_contact.organisation.name not in page


@pytest.mark.django_db
def test_another_organisations_person_is_not_found_for_a_customer(
    contact: User, other_contact: User, agent: User, client: Client
) -> None:
    client.force_login(contact)
    assert client.get(reverse("web:person", args=[other_contact.username])).status_code == 404
    assert client.get(reverse("web:person", args=[agent.username])).status_code == 404
    assert client.get(reverse("web:person", args=[contact.username])).status_code == 200


@pytest.mark.django_db
def test_another_organisation_is_not_found_for_a_customer(
    contact: User, other_contact: User, client: Client
) -> None:
    client.force_login(contact)
    other = reverse("web:organisation", args=[other_contact.organisation.code])
    own = reverse("web:organisation", args=[contact.organisation.code])
    assert client.get(other).status_code == 404
    assert client.get(own).status_code == 200


@pytest.mark.django_db
def test_a_missing_record_and_a_hidden_one_look_the_same(
    contact: User, other_contact: User, client: Client
) -> None:
    client.force_login(contact)
    hidden = client.get(reverse("web:organisation", args=[other_contact.organisation.code]))
    missing = client.get(reverse("web:organisation", args=["NOSUCH"]))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.templates[0].name == missing.templates[0].name == "404.html"


@pytest.mark.django_db
def test_staff_see_every_organisations_people(
    agent: User, contact: User, other_contact: User, client: Client
) -> None:
    client.force_login(agent)
    page = client.get(reverse("web:people")).content.decode()
    assert contact.username in page
    assert other_contact.username in page
    assert client.get(reverse("web:person", args=[contact.username])).status_code == 200
