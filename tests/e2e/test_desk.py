"""The service desk in a real browser: an agent works a case from new to resolved, a
breach shows up live in the queue, and a customer uses the portal.

People here read English (their profile's language), so the assertions do not depend on
the state of the Chinese catalogue; controls are found by role, label or test id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.contrib.contenttypes.management import create_contenttypes
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from assura.core.models import User
from assura.desk.clocks import clocks_of
from assura.desk.models import Case, MessageKind, Status
from assura.sla.models import Breach, ClockStatus

# The desk's fixtures (a standard guarantee, a contract, `make_case`), for these tests too.
from tests.desk.conftest import (  # noqa: F401
    contract,
    customer,
    guarantee,
    make_case,
    service,
)
from tests.e2e.conftest import Login, save_screenshot, screenshot_path
from tests.factories import PASSWORD

MakeCase = Callable[..., Case]
pytestmark = pytest.mark.django_db(transaction=True)
SHIPPED_ROWS = (
    "assura.commitments.migrations.0002_shipped_metrics",
    "assura.sla.migrations.0003_cause_categories",
)


@pytest.fixture(autouse=True)
def shipped_rows() -> None:
    """What the migrations put in the database (content types, the shipped metrics and
    cause categories), present whatever test emptied the database before this one.

    A live-server test empties the database when it ends, and whether a serialized
    rollback brings the rows back depends on which tests ran first; loading them again,
    idempotently as the migrations do, keeps these tests independent of the order (and
    leaves the database for the next test as a plain flush does).
    """
    for config in django_apps.get_app_configs():
        create_contenttypes(config, verbosity=0)
    for module in SHIPPED_ROWS:
        import_module(module).forward(django_apps, None)


def shot(page: Page, request: pytest.FixtureRequest, step: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # a full-page picture starts at the top
    final = screenshot_path(request)
    save_screenshot(page, final.with_name(f"{final.stem}-{step}.png"))


def in_english(*people: User) -> None:
    for person in people:
        person.language = "en"
        person.save(update_fields=["language"])


def test_an_agent_works_a_case_from_new_to_resolved(
    page: Page,
    live_server: LiveServer,
    login: Login,
    agent: User,
    request: pytest.FixtureRequest,
) -> None:
    new_case: MakeCase = request.getfixturevalue("make_case")
    in_english(agent)
    now = timezone.now()
    case = new_case(subject="Cannot log in to the ERP", at=now - timedelta(minutes=2))
    new_case(subject="Printer queue stuck", case_type="fault", priority="high", at=now)
    new_case(subject="Export to Excel?", at=now - timedelta(minutes=40))
    new_case(subject="Rude engineer", case_type="complaint", at=now - timedelta(hours=3))
    new_case(subject="Dark mode, please", case_type="suggestion", priority="low", at=now)

    login(page, agent.username, PASSWORD)
    # The page's clock is the test's: after hours the countdown shows hours and minutes,
    # which a few real seconds need not change.
    page.clock.install()
    page.goto(live_server.url + reverse("desk:cases"))
    queue = page.get_by_test_id("queue")
    row = queue.get_by_test_id(f"case-{case.reference}")
    expect(row).to_be_visible()
    # The countdown runs in the page: its text changes without a reload.
    countdown = row.locator("[data-countdown]").first
    before = countdown.inner_text()
    page.clock.run_for("02:00")
    expect(countdown).not_to_have_text(before, timeout=3000)
    shot(page, request, "workspace")

    row.get_by_role("link", name=case.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.subject)
    page.evaluate("window.stillThisPage = true")

    reply = page.get_by_test_id("reply-form")
    reply.get_by_role("button", name="Send").click()  # nothing written yet
    expect(page.locator("#id_reply-body_error")).to_contain_text("Write a message")
    expect(reply.get_by_label("Message")).to_be_focused()  # the keyboard goes to the error
    reply.get_by_label("Public reply").check()
    reply.get_by_label("Message").fill("We are looking into it and will call you.")
    reply.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("flash")).to_have_text("Reply sent to the customer.")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("We are looking into it and will call you.")
    expect(page.get_by_test_id("clock-first_response")).to_have_attribute("data-clock-state", "met")
    expect(page.get_by_test_id("first-contact-owner")).to_contain_text(str(agent))

    status = page.get_by_test_id("status-form")
    status.get_by_label("Status").select_option("waiting_customer")
    status.get_by_role("button", name="Change status").click()
    expect(page.get_by_test_id("case-status")).to_have_text("Waiting on customer")
    expect(page.get_by_test_id("clock-resolution")).to_have_attribute("data-clock-state", "paused")

    status = page.get_by_test_id("status-form")
    status.get_by_label("Status").select_option("resolved")
    status.get_by_role("button", name="Change status").click()
    expect(page.get_by_test_id("case-status")).to_have_text("Resolved")
    expect(timeline).to_contain_text("Waiting on customer → Resolved")
    # Every change came back as a part of the page, never as a new page.
    assert page.evaluate("window.stillThisPage") is True
    shot(page, request, "case")

    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    assert case.messages.filter(kind=MessageKind.REPLY).count() == 1
    clocks = clocks_of(case)
    assert clocks["first_response"].status == ClockStatus.STOPPED
    assert clocks["resolution"].status == ClockStatus.STOPPED


def test_a_breach_turns_up_in_the_queue_the_moment_it_happens(
    page: Page,
    live_server: LiveServer,
    login: Login,
    agent: User,
    request: pytest.FixtureRequest,
) -> None:
    """The page derives the state from the instants the server sent: nothing polls and no
    watcher runs here (the live server has no worker), so the row turns red on time by
    itself, and the test checks that no breach was recorded meanwhile."""
    new_case: MakeCase = request.getfixturevalue("make_case")
    in_english(agent)
    # An urgent fault is answered within 15 minutes round the clock: this one falls due
    # a few seconds after the page loads.
    start = timezone.now() - timedelta(minutes=15) + timedelta(seconds=8)
    case = new_case(subject="Line down", case_type="fault", priority="urgent", at=start)
    clock = clocks_of(case)["first_response"]
    assert clock.breaches_at is not None
    assert clock.breaches_at > timezone.now()

    login(page, agent.username, PASSWORD)
    page.goto(live_server.url + reverse("desk:cases"))
    row = page.get_by_test_id(f"case-{case.reference}")
    expect(row).to_have_attribute("data-sla-state", "at_risk")  # past 75 % already
    page.evaluate("window.stillThisPage = true")

    expect(row).to_have_attribute("data-sla-state", "breached", timeout=20_000)
    first_response = row.locator("[data-clock-state]").first
    expect(first_response).to_have_attribute("data-clock-state", "breached")
    expect(first_response.locator("[data-countdown]")).to_contain_text("overdue")
    expect(row.locator("[data-row-badge]")).to_be_visible()
    assert page.evaluate("window.stillThisPage") is True
    assert not Breach.objects.filter(clock=clock).exists()
    shot(page, request, "breached")


@pytest.mark.usefixtures("guarantee", "contract")
def test_a_customer_submits_a_complaint_and_sees_when_we_will_reply(
    page: Page,
    live_server: LiveServer,
    login: Login,
    contact: User,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    in_english(contact)
    evidence = tmp_path / "visit-report.pdf"
    evidence.write_bytes(b"%PDF-1.4 nothing happened")
    login(page, contact.username, PASSWORD)
    page.goto(live_server.url + reverse("desk:portal"))
    page.get_by_role("link", name="Submit a request").click()

    form = page.get_by_test_id("submit-form")
    form.get_by_label("Complaint").check()
    form.get_by_label("Subject").fill("The engineer never came")
    form.get_by_label("Details").fill("We waited from 9 to 12 and nobody called.")
    form.get_by_label("Attachments").set_input_files(str(evidence))
    form.get_by_role("button", name="Submit").click()

    expect(page.get_by_test_id("promise")).to_be_visible()
    case = Case.objects.get(subject="The engineer never came")
    expect(page).to_have_url(live_server.url + reverse("desk:portal_case", args=[case.reference]))
    due = timezone.localtime(clocks_of(case)["complaint_reply"].due_at)
    promise = page.get_by_test_id("promise")
    expect(promise).to_contain_text("We will answer by")
    expect(promise).to_contain_text(f"{due:%H:%M}")
    expect(page.get_by_test_id("timeline")).to_contain_text("visit-report.pdf")
    shot(page, request, "promise")
    assert case.channel == "portal"
    assert case.contact == contact


def test_a_customer_cannot_open_another_organisations_case(
    page: Page,
    live_server: LiveServer,
    login: Login,
    contact: User,
    other_contact: User,
    request: pytest.FixtureRequest,
) -> None:
    new_case: MakeCase = request.getfixturevalue("make_case")
    theirs = new_case(subject="Confidential merger system")  # the first contact's case
    login(page, other_contact.username, PASSWORD)
    for url in (
        reverse("desk:portal_case", args=[theirs.reference]),
        reverse("desk:case", args=[theirs.reference]),
    ):
        response = page.goto(live_server.url + url)
        assert response is not None
        assert response.status == 404
        expect(page.locator("body")).not_to_contain_text("Confidential merger system")
    page.goto(live_server.url + reverse("desk:portal"))
    expect(page.get_by_test_id("portal-cases")).not_to_contain_text(theirs.reference)
