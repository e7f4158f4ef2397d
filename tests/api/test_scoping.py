"""No request can see another organisation's data, however the identifiers are guessed."""

from __future__ import annotations

import pytest
from django.test import Client

from assura.core import services
from assura.core.models import User

pytestmark = pytest.mark.django_db


def bearer(person: User) -> dict[str, str]:
    _token, secret = services.issue_api_token(actor=person, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_customer_lists_only_its_own_organisation(contact: User, other_contact: User) -> None:
    response = Client().get("/api/v1/organisations/", **bearer(contact))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [contact.organisation_id]


def test_a_customer_cannot_read_another_organisation_by_guessing_its_id(
    contact: User, other_contact: User
) -> None:
    response = Client().get(
        f"/api/v1/organisations/{other_contact.organisation_id}/", **bearer(contact)
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_customer_cannot_read_another_organisations_people(
    contact: User, other_contact: User
) -> None:
    client = Client()
    headers = bearer(contact)
    assert client.get(f"/api/v1/people/{other_contact.pk}/", **headers).status_code == 404
    listed = client.get("/api/v1/people/", **headers).json()["results"]
    assert {row["id"] for row in listed} == {contact.pk}


def test_a_customer_may_not_read_the_audit_log(contact: User) -> None:
    response = Client().get("/api/v1/audit-log/", **bearer(contact))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_auditor_reads_the_audit_log(auditor: User, contact: User) -> None:
    response = Client().get("/api/v1/audit-log/", **bearer(auditor))
    assert response.status_code == 200
    assert response.json()["count"] >= 1


def test_a_revoked_token_is_refused(agent: User) -> None:
    token, secret = services.issue_api_token(actor=agent, name="old")
    services.revoke_api_token(actor=agent, token=token)
    response = Client().get("/api/v1/people/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_customer_sees_no_internal_teams(contact: User, team: object) -> None:
    response = Client().get("/api/v1/teams/", **bearer(contact))
    assert response.status_code == 403
