"""Proves the browser wiring: Chromium starts, reaches the live server and sees the form."""

from __future__ import annotations

import re

from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from assura.core.models import User
from tests.e2e.conftest import Login
from tests.factories import PASSWORD


def test_the_login_page_shows_its_form_and_lets_a_person_in(
    page: Page, live_server: LiveServer, login: Login, agent: User
) -> None:
    page.goto(live_server.url + reverse("web:login"))
    form = page.locator("form:has(input[name='password'])")
    expect(form.locator("input[name='username']")).to_be_visible()
    expect(form.locator("input[name='password']")).to_have_attribute("type", "password")
    expect(form.locator("button[type='submit']")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^zh"))

    login(page, agent.username, PASSWORD)
    expect(page).not_to_have_url(re.compile(r"/login/"))
