"""Personal API tokens: listed, created with the secret shown once, revoked."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from assura.core import services
from assura.core.models import ApiToken, User


@pytest.mark.django_db
def test_a_new_tokens_secret_is_shown_once(contact: User, client: Client) -> None:
    client.force_login(contact)
    response = client.post(reverse("web:tokens"), {"name": "reporting script"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    token = ApiToken.objects.get(user=contact)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret in response.content.decode()
    later = client.get(reverse("web:tokens")).content.decode()
    assert secret not in later
    assert "reporting script" in later
    assert token.prefix in later


@pytest.mark.django_db
def test_a_token_needs_a_name(agent: User, client: Client) -> None:
    client.force_login(agent)
    response = client.post(reverse("web:tokens"), {"name": "  "})
    assert response.status_code == 400
    assert 'id="id_name_error"' in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_person_revokes_its_token(agent: User, client: Client) -> None:
    token, _secret = services.issue_api_token(actor=agent, name="ci")
    client.force_login(agent)
    response = client.post(reverse("web:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.django_db
def test_nobody_revokes_someone_elses_token_from_this_page(
    agent: User, contact: User, client: Client
) -> None:
    token, _secret = services.issue_api_token(actor=contact, name="theirs")
    client.force_login(agent)
    response = client.post(reverse("web:token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_the_page_lists_only_the_persons_own_tokens(
    agent: User, contact: User, client: Client
) -> None:
    services.issue_api_token(actor=contact, name="their token")
    services.issue_api_token(actor=agent, name="my token")
    client.force_login(agent)
    page = client.get(reverse("web:tokens")).content.decode()
    assert "my token" in page
    assert "their token" not in page
