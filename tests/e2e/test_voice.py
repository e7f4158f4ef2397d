"""Surveys and follow-ups in a real browser: a customer answers from its one-time link
(no login, on a phone-sized screen, switching language), and a low score becomes a
follow-up that the case's first-contact owner completes in the web app.

The resolution is made through the desk's service in the live database, so the
invitation comes from the real after-commit wiring, not from a test shortcut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from assura.calendars.models import Calendar
from assura.core.models import User
from assura.desk import services as desk
from assura.desk.models import Case, Status
from assura.notify.models import Notification
from assura.voice import services as voice
from assura.voice import shipped
from assura.voice.models import FollowUp, FollowUpStatus, Invitation, Response

# The desk's fixtures (a standard guarantee, a contract, `make_case`), for these tests too.
from tests.desk.conftest import (  # noqa: F401
    contract,
    customer,
    guarantee,
    make_case,
    service,
)
from tests.e2e.conftest import Login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = re.compile(r"/voice/s/([A-Za-z0-9_-]{20,})/")


@pytest.fixture(autouse=True)
def shipped_rows() -> None:
    """Rows the migrations ship, present whatever emptied the database before."""
    for module in (
        "assura.commitments.migrations.0002_shipped_metrics",
        "assura.sla.migrations.0003_cause_categories",
    ):
        import_module(module).forward(django_apps, None)
    shipped.install_now()


@pytest.fixture
def invited(
    request: pytest.FixtureRequest, agent: User, contact: User
) -> Callable[[], tuple[Case, str]]:
    """A case resolved by `agent` a moment ago; its contact's survey link, as e-mailed."""

    def make() -> tuple[Case, str]:
        make_case_: Callable[..., Case] = request.getfixturevalue("make_case")
        request.getfixturevalue("guarantee")
        voice.create_trigger(
            actor=None,
            survey=shipped_survey("csat"),
            name="After resolution",
            kind="after_resolution",
            delay=timedelta(0),
            sample=Decimal(1),
        )
        voice.create_programme(
            actor=None,
            code="unhappy",
            name="Dissatisfied",
            kind="dissatisfied",
            target=timedelta(hours=18),
            calendar=Calendar.objects.get(code="cn-standard"),
            assign_to="first_contact_owner",
            script_en="Is the problem solved now?",
            script_zh="问题现在解决了吗？",
        )
        contact.email = "contact@example.test"
        contact.save(update_fields=["email"])
        agent.email = "agent@example.test"
        agent.save(update_fields=["email"])
        now = timezone.now()
        case = make_case_(subject="VPN drops every hour", at=now - timedelta(hours=2))
        desk.reply(actor=agent, case=case, body="Looking.", at=now - timedelta(hours=1))
        desk.resolve(actor=agent, case=case, at=now - timedelta(minutes=5))
        invitation = Invitation.objects.get(case=case)  # made by the after-commit wiring
        assert voice.send_due(timezone.now()) == 1
        mail = Notification.objects.get(dedup_key=f"voice-invitation:{invitation.pk}")
        match = TOKEN.search(mail.body)
        assert match is not None
        return case, match.group(1)

    return make


def shipped_survey(code: str):  # type: ignore[no-untyped-def]
    from assura.voice.models import Survey

    return Survey.objects.get(code=code)


def test_a_customer_answers_a_survey_from_its_link_on_a_phone(
    page: Page, live_server: LiveServer, invited: Callable[[], tuple[Case, str]]
) -> None:
    case, token = invited()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("voice:answer", args=[token]))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_text("您对本次问题处理的总体满意度如何？")).to_be_visible()
    expect(page.get_by_text(case.reference)).to_be_visible()

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    question = page.locator("[data-question='csat']")
    expect(question).to_contain_text("how satisfied are you")
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Sending with a question unanswered keeps the page and says which one.
    page.get_by_test_id("submit-survey").click()
    expect(page.get_by_test_id("survey-errors")).to_be_visible()
    expect(question.locator(".error")).to_contain_text(
        "此问题必须回答"
    )  # the invitation is in Chinese

    question.locator("label:has(input[value='5'])").click()
    page.locator("[data-question='csat'] textarea").fill("Quick and friendly")
    page.locator("[data-question='resolved'] label:has(input[value='yes'])").click()
    page.get_by_test_id("submit-survey").click()
    expect(page.get_by_test_id("survey-thanks")).to_be_visible()

    response = Response.objects.get()
    assert response.case == case
    assert response.language == "en"
    assert response.answers.get(question__code="csat").value == 5

    # The link is single-use.
    page.goto(live_server.url + reverse("voice:answer", args=[token]) + "?lang=en")
    expect(page.get_by_test_id("link-problem")).to_have_attribute("data-code", "used")
    expect(page.get_by_test_id("link-problem")).to_contain_text("already been answered")


def test_a_low_score_creates_a_follow_up_that_the_agent_completes(
    page: Page,
    live_server: LiveServer,
    login: Login,
    agent: User,
    invited: Callable[[], tuple[Case, str]],
) -> None:
    case, token = invited()
    agent.language = "en"
    agent.save(update_fields=["language"])

    page.goto(live_server.url + reverse("voice:answer", args=[token]) + "?lang=en")
    page.locator("[data-question='csat'] label:has(input[value='2'])").click()
    page.locator("[data-question='resolved'] label:has(input[value='no'])").click()
    page.get_by_test_id("submit-survey").click()
    expect(page.get_by_test_id("survey-thanks")).to_be_visible()

    follow_up = FollowUp.objects.get()
    assert follow_up.assignee == agent
    assert follow_up.case == case
    owner_mail = Notification.objects.filter(dedup_key__startswith="voice-low-score:")
    assert owner_mail.count() == 1

    login(page, agent.username, PASSWORD)
    page.goto(live_server.url + reverse("voice:follow_ups"))
    page.get_by_test_id("follow-ups").get_by_role("link", name=follow_up.reference).click()
    expect(page.get_by_text("Is the problem solved now?")).to_be_visible()
    form = page.get_by_test_id("complete-form")
    form.locator("input[name='outcome'][value='unsatisfied']").check()
    form.locator("textarea[name='notes']").fill("VPN still drops; reopening.")
    form.locator("input[name='next_steps'][value='reopen_case']").check()
    page.get_by_test_id("complete").click()
    expect(page).to_have_url(re.compile(r"/voice/follow-ups/$"))
    expect(page.locator(".message.success")).to_contain_text(follow_up.reference)

    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE
    assert follow_up.outcome == "unsatisfied"
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.reopen_count == 1
