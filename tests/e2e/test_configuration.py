"""A quality manager configures a policy in a real browser and reads the checker's warning.

The pages are used in English here (the language switch is part of the shell); the page
shows the same thing in Chinese once the catalogue translates its strings. Each test leaves
screenshots in test-results/screenshots/, at 1280×800 and on a 390 px phone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from assura.calendars import services as calendar_services
from assura.calendars.models import Calendar
from assura.commitments.models import Policy
from assura.core.models import Role, User
from tests.e2e.conftest import Login, save_screenshot, screenshot_path
from tests.factories import PASSWORD

# The shipped metrics are rows written by a migration; keep them across the flush.
pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def office() -> Calendar:
    return calendar_services.create_calendar(
        actor=None, code="office", name="Office hours", week=calendar_services.OFFICE_HOURS
    )


def shot(page: Page, request: pytest.FixtureRequest, step: str) -> None:
    final = screenshot_path(request)
    save_screenshot(page, final.with_name(f"{final.stem}-{step}.png"))


def in_english(page: Page) -> None:
    page.get_by_test_id("language-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_quality_manager_creates_a_policy_and_sees_the_checkers_warning(
    page: Page,
    live_server: LiveServer,
    login: Login,
    quality: User,
    office: Calendar,
    request: pytest.FixtureRequest,
) -> None:
    login(page, quality.username, PASSWORD)
    in_english(page)
    page.goto(live_server.url + reverse("commitments:index"))
    page.get_by_role("link", name="SLA policies").first.click()
    page.get_by_role("link", name="New policy").click()
    expect(page.get_by_role("heading", name="New SLA policy")).to_be_visible()

    page.get_by_label(re.compile(r"^Name")).fill("Night desk")
    page.get_by_label(re.compile(r"^Code")).fill("night")
    page.get_by_label(re.compile(r"^Order")).fill("50")
    page.get_by_role("group", name="Channels").get_by_label("Phone").check()

    targets = page.get_by_test_id("targets")
    first, second = targets.locator("tbody tr").nth(0), targets.locator("tbody tr").nth(1)
    first.get_by_label("Metric", exact=True).select_option("first_response")
    first.get_by_label("Target", exact=True).fill("1d")  # a day to answer…
    first.get_by_label("Calendar", exact=True).select_option(label="Office hours")
    second.get_by_label("Metric", exact=True).select_option("resolution")
    second.get_by_label("Target", exact=True).fill("4h")  # …but four hours to resolve
    second.get_by_label("Calendar", exact=True).select_option(label="Office hours")

    # A third target through the "Add a target" button (the page works without it too).
    page.get_by_role("button", name="Add a target").click()
    third = targets.locator("tbody tr").nth(2)
    expect(third.get_by_label("Metric", exact=True)).to_be_focused()
    third.get_by_label("Metric", exact=True).select_option("classification")
    third.get_by_label("Target", exact=True).fill("2h")
    third.get_by_label("Calendar", exact=True).select_option(label="Office hours")

    level = page.get_by_test_id("escalations").locator("fieldset").first
    level.get_by_label(re.compile(r"^Level")).fill("1")
    level.get_by_label("When (% of the target from the due time)").fill("-25")
    level.get_by_role("group", name="Notify").get_by_label("Assignee").check()
    shot(page, request, "filled")

    page.get_by_test_id("save-policy").click()

    expect(page.get_by_role("heading", name="Night desk")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("Saved as version 1.")
    warning = page.locator('[data-testid="finding"][data-code="response-after-resolution"]')
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("First response [any priority]")
    expect(warning).to_contain_text("is longer than Resolution [any priority]")
    expect(warning).to_contain_text("A resolved case has been answered")
    shot(page, request, "saved")

    policy = Policy.objects.get(code="night")
    assert policy.current_version.number == 1
    assert policy.channels == ["phone"]
    assert sorted(t.metric.code for t in policy.targets.all()) == [
        "classification",
        "first_response",
        "resolution",
    ]
    assert list(policy.escalations.values_list("level", "recipients")) == [(1, ["assignee"])]

    page.set_viewport_size(PHONE)
    page.reload()
    expect(warning).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the editor scrolls sideways on a phone"
    shot(page, request, "phone")


def test_a_bad_duration_is_shown_beside_its_row_and_nothing_is_saved(
    page: Page,
    live_server: LiveServer,
    login: Login,
    quality: User,
    office: Calendar,
    request: pytest.FixtureRequest,
) -> None:
    login(page, quality.username, PASSWORD)
    in_english(page)
    page.goto(live_server.url + reverse("commitments:policy_create"))
    page.get_by_label(re.compile(r"^Name")).fill("Sloppy")
    page.get_by_label(re.compile(r"^Code")).fill("sloppy")
    row = page.get_by_test_id("targets").locator("tbody tr").first
    row.get_by_label("Metric", exact=True).select_option("first_response")
    row.get_by_label("Target", exact=True).fill("2 hours-ish")
    row.get_by_label("Calendar", exact=True).select_option(label="Office hours")
    page.get_by_test_id("save-policy").click()

    expect(page.get_by_role("alert").first).to_contain_text("Nothing was saved")
    expect(row.get_by_label("Target", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(row).to_contain_text("“2 hours-ish” is not a duration.")
    expect(row.get_by_label("Target", exact=True)).to_have_value("2 hours-ish")
    shot(page, request, "error")
    assert not Policy.objects.filter(code="sloppy").exists()
