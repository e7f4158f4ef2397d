"""Each page answers each role as docs/permissions.md says: 200 where allowed, 403 where not,
404 for another organisation's records, and the login page for nobody signed in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from assura.core.models import Role, User

EVERYONE = frozenset(Role)
ALLOWED = {
    "web:home": EVERYONE,
    "web:preferences": EVERYONE,
    "web:password_change": EVERYONE,
    "web:tokens": EVERYONE,
    "web:people": EVERYONE,
    "web:organisations": EVERYONE,
    "web:person_new": {Role.ADMIN},
    "web:organisation_new": {Role.ADMIN, Role.QUALITY_MANAGER},
    "web:audit_log": {Role.ADMIN, Role.AUDITOR},
}


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(ALLOWED))
@pytest.mark.parametrize("role", list(Role))
def test_each_page_answers_each_role_as_the_matrix_says(
    url_name: str, role: Role, person_in_role: Callable[[Role], User], client: Client
) -> None:
    client.force_login(person_in_role(role))
    response = client.get(reverse(url_name))
    assert response.status_code == (200 if role in ALLOWED[url_name] else 403)


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(ALLOWED))
def test_it_sends_anonymous_visitors_to_the_login_page(url_name: str, client: Client) -> None:
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


@pytest.mark.django_db
def test_the_refusal_page_is_translated_and_styled(contact: User, client: Client) -> None:
    client.force_login(contact)
    response = client.get(reverse("web:audit_log"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "您无权查看此页面" in page
    assert "web/assura.css" in page
    assert 'data-testid="navigation"' in page


@pytest.mark.django_db
def test_the_refusal_page_speaks_english_to_an_english_reader(
    contact: User, client: Client
) -> None:
    contact.language = "en"
    contact.save()
    client.force_login(contact)
    response = client.get(reverse("web:audit_log"))
    assert response.status_code == 403
    assert "You are not allowed to see this page" in response.content.decode()


@pytest.mark.django_db
def test_the_not_found_page_is_translated_and_styled(agent: User, client: Client) -> None:
    client.force_login(agent)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "找不到页面" in page
    assert "web/assura.css" in page


@pytest.mark.django_db
def test_a_customer_never_sees_the_internal_navigation(contact: User, client: Client) -> None:
    client.force_login(contact)
    page = client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("web:audit_log") not in page
    assert reverse("web:people") in page


@pytest.mark.django_db
def test_the_navigation_offers_the_audit_log_to_an_auditor(auditor: User, client: Client) -> None:
    client.force_login(auditor)
    page = client.get(reverse("web:home")).content.decode()
    assert f'href="{reverse("web:audit_log")}"' in page
    assert "只读" in page


@pytest.mark.django_db
def test_a_deactivated_person_cannot_log_in(agent: User, client: Client) -> None:
    agent.is_active = False
    agent.save()
    from tests.factories import PASSWORD

    response = client.post(reverse("web:login"), {"username": agent.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_expired_form_gets_a_translated_page(agent: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    response = strict.post(reverse("web:language"), {"language": "en", "next": "/"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "表单已过期" in page
    assert "web/assura.css" in page


def test_the_server_error_page_needs_no_request() -> None:
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("zh-hans"):
        page = render_to_string("500.html")
    assert "出错了" in page
    assert "web/assura.css" in page
