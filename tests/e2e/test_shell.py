"""The web shell in a real browser: logging in, switching language, what each role sees,
and the phone layout. Each test leaves screenshots in test-results/screenshots/."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from assura.core.models import User
from tests.e2e.conftest import Login, save_screenshot, screenshot_path
from tests.factories import PASSWORD, ContactFactory

PHONE = {"width": 390, "height": 844}


def shot(page: Page, request: pytest.FixtureRequest, step: str) -> None:
    """Keep a picture of an intermediate step beside the test's final screenshot."""
    final = screenshot_path(request)
    save_screenshot(page, final.with_name(f"{final.stem}-{step}.png"))


def navigation(page: Page) -> Locator:
    return page.get_by_test_id("navigation")


def test_an_agent_switches_the_language_and_the_navigation_follows(
    page: Page, live_server: LiveServer, login: Login, agent: User, request: pytest.FixtureRequest
) -> None:
    login(page, agent.username, PASSWORD)
    nav = navigation(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(nav.get_by_role("link", name="人员")).to_be_visible()
    expect(nav.get_by_role("link", name="组织")).to_be_visible()
    expect(nav.get_by_role("link", name="审计日志")).to_have_count(0)
    expect(page.get_by_role("heading", name="我的工单")).to_be_visible()
    shot(page, request, "zh")

    page.get_by_test_id("language-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(nav.get_by_role("link", name="People")).to_be_visible()
    expect(nav.get_by_role("link", name="Organisations")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()
    shot(page, request, "en")

    # The choice is saved on the profile: a new page keeps it.
    page.goto(live_server.url + reverse("web:people"))
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    agent.refresh_from_db()
    assert agent.language == "en"

    page.get_by_test_id("language-zh-hans").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="人员", exact=True)).to_be_visible()


def test_the_language_switch_works_before_login(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + reverse("web:login"))
    expect(page.get_by_role("heading", name="登录 assura")).to_be_visible()
    page.get_by_test_id("language-en").click()
    expect(page.get_by_role("heading", name="Log in to assura")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()


def test_a_customer_sees_only_what_it_may(
    page: Page,
    live_server: LiveServer,
    login: Login,
    contact: User,
    other_contact: User,
    agent: User,
    request: pytest.FixtureRequest,
) -> None:
    colleague = ContactFactory(organisation=contact.organisation, display_name="同事 王五")
    login(page, contact.username, PASSWORD)
    nav = navigation(page)
    expect(nav.get_by_role("link", name="人员")).to_be_visible()
    expect(nav.get_by_role("link", name="审计日志")).to_have_count(0)
    expect(page.get_by_role("heading", name="提交请求")).to_be_visible()
    shot(page, request, "home")

    nav.get_by_role("link", name="人员").click()
    people = page.get_by_test_id("people")
    expect(people.get_by_text(colleague.display_name)).to_be_visible()
    expect(people.get_by_text(str(other_contact))).to_have_count(0)
    expect(people.get_by_text(str(agent))).to_have_count(0)
    shot(page, request, "people")

    response = page.goto(live_server.url + reverse("web:audit_log"))
    assert response is not None
    assert response.status == 403
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_role("heading", name="您无权查看此页面")).to_be_visible()
    expect(navigation(page)).to_be_visible()
    shot(page, request, "forbidden")

    other_organisation = reverse("web:organisation", args=[other_contact.organisation.code])
    response = page.goto(live_server.url + other_organisation)
    assert response is not None
    assert response.status == 404
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_text(other_contact.organisation.name)).to_have_count(0)

    response = page.goto(live_server.url + reverse("web:person", args=[other_contact.username]))
    assert response is not None
    assert response.status == 404


def test_an_agent_sees_every_organisation_but_not_the_audit_log(
    page: Page, live_server: LiveServer, login: Login, agent: User, contact: User
) -> None:
    login(page, agent.username, PASSWORD)
    navigation(page).get_by_role("link", name="组织").click()
    expect(
        page.get_by_test_id("organisations").get_by_text(contact.organisation.name)
    ).to_be_visible()
    response = page.goto(live_server.url + reverse("web:audit_log"))
    assert response is not None
    assert response.status == 403


def test_the_skip_link_is_the_first_stop_for_the_keyboard(
    page: Page, login: Login, agent: User
) -> None:
    login(page, agent.username, PASSWORD)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到主要内容")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))


def test_on_a_phone_the_navigation_opens_from_the_menu_button(
    page: Page, login: Login, agent: User, request: pytest.FixtureRequest
) -> None:
    page.set_viewport_size(PHONE)
    login(page, agent.username, PASSWORD)
    nav = navigation(page)
    menu = page.get_by_role("button", name="菜单")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    shot(page, request, "closed")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"

    menu.click()
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    shot(page, request, "open")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()


def test_an_administrator_adds_a_person_and_sees_errors_next_to_the_fields(
    page: Page, login: Login, admin: User, agent: User, request: pytest.FixtureRequest
) -> None:
    login(page, admin.username, PASSWORD)
    navigation(page).get_by_role("link", name="人员").click()
    page.get_by_role("link", name="添加人员").click()
    page.get_by_label("登录名").fill(agent.username)
    page.get_by_label("角色").select_option("agent")
    page.get_by_label("组织").select_option(label=str(admin.organisation))
    page.get_by_role("button", name="添加人员").click()
    error = page.locator("#id_username_error")
    expect(error).to_be_visible()
    expect(page.get_by_label("登录名")).to_have_attribute("aria-invalid", "true")
    shot(page, request, "error")

    page.get_by_label("登录名").fill("new-colleague")
    page.get_by_label("显示名称").fill("新同事 赵六")
    page.get_by_role("button", name="添加人员").click()
    expect(page.get_by_role("heading", name="新同事 赵六")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("已添加")
