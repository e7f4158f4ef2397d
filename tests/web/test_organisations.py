"""Organisations: everyone lists what it may see; configurers add customers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from assura.core.models import Organisation, OrganisationKind, Role, User
from tests.factories import CustomerFactory


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.ADMIN, Role.QUALITY_MANAGER])
def test_a_configurer_adds_a_customer_organisation(
    role: Role, make_staff: Callable[..., User], client: Client
) -> None:
    client.force_login(make_staff(role))
    response = client.post(reverse("web:organisation_new"), {"code": "ACME", "name": "Acme 公司"})
    assert response.status_code == 302
    created = Organisation.objects.get(code="ACME")
    assert created.kind == OrganisationKind.CUSTOMER
    assert response["Location"] == reverse("web:organisation", args=["ACME"])


@pytest.mark.django_db
def test_a_duplicate_code_is_refused_next_to_the_field(admin: User, client: Client) -> None:
    existing = CustomerFactory(code="ACME")
    client.force_login(admin)
    response = client.post(reverse("web:organisation_new"), {"code": "ACME", "name": "Another"})
    assert response.status_code == 400
    assert response.context["form"].errors["code"]
    assert 'id="id_code_error"' in response.content.decode()
    assert list(Organisation.objects.filter(code="ACME")) == [existing]


@pytest.mark.django_db
def test_a_malformed_code_is_refused_next_to_the_field(admin: User, client: Client) -> None:
    client.force_login(admin)
    response = client.post(reverse("web:organisation_new"), {"code": "a b/c", "name": "Bad"})
    assert response.status_code == 400
    assert response.context["form"].errors["code"]
    assert not Organisation.objects.filter(name="Bad").exists()


@pytest.mark.django_db
def test_a_manager_cannot_add_organisations(
    make_staff: Callable[..., User], client: Client
) -> None:
    client.force_login(make_staff(Role.MANAGER))
    response = client.post(reverse("web:organisation_new"), {"code": "ACME", "name": "Acme"})
    assert response.status_code == 403
    assert not Organisation.objects.filter(code="ACME").exists()


@pytest.mark.django_db
def test_the_add_button_is_offered_to_configurers_only(
    agent: User, make_staff: Callable[..., User], client: Client
) -> None:
    client.force_login(agent)
    page = client.get(reverse("web:organisations")).content.decode()
    assert reverse("web:organisation_new") not in page
    client.force_login(make_staff(Role.QUALITY_MANAGER))
    page = client.get(reverse("web:organisations")).content.decode()
    assert reverse("web:organisation_new") in page
