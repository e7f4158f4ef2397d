"""Language and time zone: saved on the profile, applied on the next request, switched
from the header before and after login."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from assura.core.models import User


@pytest.mark.django_db
def test_the_default_language_is_chinese(client: Client) -> None:
    page = client.get(reverse("web:login")).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page


@pytest.mark.django_db
def test_the_switch_before_login_changes_the_page_language(client: Client) -> None:
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("web:login")}, follow=True
    )
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Log in to assura" in page
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


@pytest.mark.django_db
def test_the_switch_after_login_changes_the_page_and_saves_the_profile(
    agent: User, client: Client
) -> None:
    client.force_login(agent)
    assert "人员" in client.get(reverse("web:home")).content.decode()
    response = client.post(
        reverse("web:language"), {"language": "en", "next": reverse("web:people")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:people")
    agent.refresh_from_db()
    assert agent.language == "en"
    page = client.get(reverse("web:people")).content.decode()
    assert '<html lang="en">' in page
    assert ">People<" in page
    assert "人员" not in page


@pytest.mark.django_db
def test_the_saved_language_wins_over_the_browsers(agent: User, client: Client) -> None:
    agent.language = "en"
    agent.save()
    client.force_login(agent)
    page = client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in page


@pytest.mark.django_db
def test_the_switch_ignores_a_language_that_is_not_offered(agent: User, client: Client) -> None:
    client.force_login(agent)
    client.post(reverse("web:language"), {"language": "xx", "next": "/"})
    agent.refresh_from_db()
    assert agent.language == ""


@pytest.mark.django_db
def test_the_switch_does_not_redirect_elsewhere(agent: User, client: Client) -> None:
    client.force_login(agent)
    response = client.post(
        reverse("web:language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.mark.django_db
def test_preferences_save_language_and_time_zone(agent: User, client: Client) -> None:
    client.force_login(agent)
    response = client.post(
        reverse("web:preferences"), {"language": "en", "time_zone": "Europe/London"}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.language, agent.time_zone) == ("en", "Europe/London")
    page = client.get(reverse("web:preferences")).content.decode()
    assert "Your preferences were saved." in page
    assert 'value="Europe/London"' in page


@pytest.mark.django_db
def test_a_bad_time_zone_is_refused_and_changes_nothing(agent: User, client: Client) -> None:
    client.force_login(agent)
    response = client.post(
        reverse("web:preferences"), {"language": "en", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["time_zone"]
    page = response.content.decode()
    assert 'id="id_time_zone_error"' in page
    assert "不是已知的时区" in page
    agent.refresh_from_db()
    assert (agent.language, agent.time_zone) == ("", "")


@pytest.mark.django_db
def test_times_are_shown_in_the_persons_zone(agent: User, admin: User, client: Client) -> None:
    from datetime import UTC, datetime

    agent.last_login = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    agent.save()
    admin.time_zone = "America/New_York"
    admin.save()
    client.force_login(admin)
    page = client.get(reverse("web:person", args=[agent.username])).content.decode()
    assert "2026-03-01 07:00" in page


@pytest.mark.django_db
def test_a_person_changes_its_password(agent: User, client: Client) -> None:
    from tests.factories import PASSWORD

    client.force_login(agent)
    new = "another-long-passphrase-42"
    response = client.post(
        reverse("web:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:password_change_done")
    agent.refresh_from_db()
    assert agent.check_password(new)


@pytest.mark.django_db
def test_a_wrong_old_password_is_refused_next_to_the_field(agent: User, client: Client) -> None:
    client.force_login(agent)
    response = client.post(
        reverse("web:password_change"),
        {"old_password": "wrong", "new_password1": "x-y-z-12345", "new_password2": "x-y-z-12345"},
    )
    assert response.status_code == 200
    assert 'id="id_old_password_error"' in response.content.decode()


@pytest.mark.django_db
def test_logging_out_is_a_post_and_ends_the_session(agent: User, client: Client) -> None:
    client.force_login(agent)
    response = client.post(reverse("web:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
