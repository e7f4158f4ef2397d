"""A person's own API tokens over the API: list, create (secret once), revoke."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from assura.core import services
from assura.core.models import ApiToken, User
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens/"


def test_a_new_tokens_secret_is_returned_once_and_works(api: Callable[..., Api], agent: User):
    client = api(agent)
    response = client.post(TOKENS, {"name": "monitoring"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("asr_")
    assert created["prefix"] == secret[:12]
    listed = client.get(TOKENS).json()["results"]
    assert {row["name"] for row in listed} == {"tests", "monitoring"}
    assert all("secret" not in row for row in listed)
    ping = Client().get("/api/v1/ping/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert ping.status_code == 200
    assert ping.json()["user"] == agent.username


def test_a_token_needs_a_name(api: Callable[..., Api], agent: User) -> None:
    response = api(agent).post(TOKENS, {"name": "   "})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name"}


def test_a_revoked_token_stops_working(api: Callable[..., Api], contact: User) -> None:
    client = api(contact)
    created = client.post(TOKENS, {"name": "script"}).json()
    revoked = client.post(f"{TOKENS}{created['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.post(f"{TOKENS}{created['id']}/revoke/").status_code == 200  # idempotent
    refused = Client().get("/api/v1/ping/", HTTP_AUTHORIZATION=f"Bearer {created['secret']}")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"


def test_a_token_revokes_itself_and_is_refused_after(api: Callable[..., Api], agent: User):
    client = api(agent)
    own = ApiToken.objects.get(user=agent, name="tests")
    assert client.post(f"{TOKENS}{own.pk}/revoke/").status_code == 200
    assert client.get(TOKENS).status_code == 401


def test_nobody_sees_or_revokes_anothers_tokens(
    api: Callable[..., Api], agent: User, admin: User
) -> None:
    theirs, _secret = services.issue_api_token(actor=admin, name="admin's")
    client = api(agent)
    assert theirs.pk not in {row["id"] for row in client.get(TOKENS).json()["results"]}
    assert client.get(f"{TOKENS}{theirs.pk}/").status_code == 404
    assert client.post(f"{TOKENS}{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_an_auditor_may_hold_tokens(api: Callable[..., Api], auditor: User) -> None:
    assert api(auditor).post(TOKENS, {"name": "reports"}).status_code == 201


def test_without_a_token_the_api_answers_401(db: None) -> None:
    response = Client().get(TOKENS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"
