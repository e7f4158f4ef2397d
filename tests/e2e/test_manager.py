"""The manager view in a real browser: the figures and the compliance chart drawn by
ECharts, the at-risk look-ahead changed from the keyboard, and a compensation entry
approved from the view, then found approved in the ledger.

Who approves is the permission matrix's answer (docs/permissions.md,
`approve_compensation`): a manager, a quality manager or an administrator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.contrib.contenttypes.management import create_contenttypes
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from assura.core.models import Role, User
from assura.desk.models import Case
from assura.sla.models import Breach, CompensationEntry, CompensationStatus

# The desk's fixtures (a standard guarantee, a contract that compensates a missed first
# response) and the SLA tests' overdue case, for these tests too.
from tests.desk.conftest import (  # noqa: F401
    contract,
    customer,
    guarantee,
    make_case,
    service,
)
from tests.e2e.conftest import Login, save_screenshot, screenshot_path
from tests.factories import PASSWORD
from tests.sla.conftest import make_overdue_case  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def content_types() -> None:
    """Content types as migrated, whatever live-server test emptied the database before."""
    for config in django_apps.get_app_configs():
        create_contenttypes(config, verbosity=0)


def shot(page: Page, request: pytest.FixtureRequest, step: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # a full-page picture starts at the top
    final = screenshot_path(request)
    save_screenshot(page, final.with_name(f"{final.stem}-{step}.png"))


def in_english(person: User) -> User:
    person.language = "en"
    person.time_zone = "Asia/Shanghai"
    person.save(update_fields=["language", "time_zone"])
    return person


def week_start(person: User) -> datetime:
    """Monday 00:00 of this week in the person's time zone."""
    zone = ZoneInfo(person.time_zone)
    today = timezone.now().astimezone(zone).date()
    return datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=zone)


@pytest.fixture
def overdue(
    make_overdue_case: Callable[..., Case],  # noqa: F811
    agent: User,
) -> Case:
    """An urgent fault opened half an hour ago (24×7 calendar) that nobody answered: its
    first response (15 min) is broken and the breach handler booked the compensation
    (pending); its resolution (2 h) is due within the next hours, so the case is at risk."""
    case = make_overdue_case(
        assignee=agent,
        subject="Scanner offline",
        case_type="fault",
        priority="urgent",
        at=timezone.now() - timedelta(minutes=30),
    )
    assert CompensationEntry.objects.filter(
        breach__clock__subject_id=case.pk, status=CompensationStatus.PENDING
    ).exists()
    return case


def test_a_manager_reads_the_figures_and_the_compliance_chart(
    page: Page,
    live_server: LiveServer,
    login: Login,
    make_staff: Callable[..., User],
    overdue: Case,
    request: pytest.FixtureRequest,
) -> None:
    manager = in_english(make_staff(Role.MANAGER))
    login(page, manager.username, PASSWORD)
    page.get_by_test_id("navigation").get_by_role("link", name="Manager view").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manager view")

    # ECharts drew the chart (as SVG) from the page's figures, and the table has them too.
    compliance = page.get_by_test_id("compliance")
    expect(compliance.locator("#compliance-chart svg")).to_have_count(1)
    expect(compliance.locator("#compliance-chart svg path").first).to_be_attached()
    table = page.get_by_test_id("compliance-table")
    expect(table.get_by_role("rowheader", name="First response")).to_be_visible()
    expect(table).to_contain_text("0.0 %")  # its one decided first response was missed

    # The case is at risk (its resolution falls due within 4 h), and its broken first
    # response is among this week's breaches (unless the week began since).
    expect(page.get_by_test_id("at-risk-list")).to_contain_text(overdue.reference)
    breach = Breach.objects.get(clock__subject_id=overdue.pk, metric="first_response")
    if breach.breached_at >= week_start(manager):
        breaches = page.get_by_test_id("breaches")
        expect(breaches.get_by_role("link", name=overdue.reference)).to_be_visible()
    # Awaiting approval: listed, with the manager's decision controls.
    money = page.get_by_test_id("compensation")
    expect(money.get_by_role("link", name=overdue.reference)).to_be_visible()
    expect(money.get_by_role("button", name="Record")).to_have_count(1)
    shot(page, request, "dashboard")

    # The look-ahead, changed from the keyboard: the page comes back with it.
    hours = page.get_by_label("At risk within")
    hours.focus()
    hours.select_option("24")
    hours.press("Tab")  # on to "Show"
    expect(page.get_by_role("button", name="Show")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/?hours=24*")
    expect(page.get_by_label("At risk within")).to_have_value("24")
    expect(page.get_by_test_id("headline")).to_contain_text("At risk, next 24 hours")

    # A hand-edited link is not an error page.
    page.goto(live_server.url + reverse("web:dashboard") + "?hours=abc")
    expect(page.get_by_test_id("hours-note")).to_contain_text("is not one of the choices")


def test_a_manager_approves_a_compensation_entry_from_the_view(
    page: Page,
    live_server: LiveServer,
    login: Login,
    make_staff: Callable[..., User],
    overdue: Case,
    request: pytest.FixtureRequest,
) -> None:
    manager = in_english(make_staff(Role.MANAGER))
    entry = CompensationEntry.objects.get(
        breach__clock__subject_id=overdue.pk, status=CompensationStatus.PENDING
    )
    login(page, manager.username, PASSWORD)
    page.goto(live_server.url + reverse("web:dashboard"))
    row = page.get_by_test_id(f"entry-{entry.pk}")
    expect(row).to_contain_text(overdue.reference)
    expect(page.get_by_test_id("pending-count")).to_have_text("1")

    row.get_by_label("Decision", exact=True).select_option("approve")
    row.get_by_label("Reason", exact=True).fill("Confirmed with the customer.")
    row.get_by_role("button", name="Record").press("Enter")  # the keyboard, not the mouse

    expect(page.get_by_role("status")).to_have_text("Decision recorded.")
    assert page.url.endswith("/dashboard/#compensation")
    expect(page.get_by_test_id("pending-count")).to_have_text("0")
    expect(page.get_by_test_id("compensation")).to_contain_text(
        "No compensation awaits a decision."
    )
    shot(page, request, "approved")
    entry.refresh_from_db()
    assert (entry.status, entry.decided_by, entry.reason) == (
        CompensationStatus.APPROVED,
        manager,
        "Confirmed with the customer.",
    )

    page.goto(live_server.url + reverse("sla:ledger"))
    ledger = page.get_by_test_id("ledger")
    expect(ledger.get_by_role("row").filter(has_text=overdue.reference)).to_contain_text("Approved")

    # The entry links to its breach, addressed by the case's reference and the metric.
    ledger.get_by_role("link", name=overdue.reference).click()
    page.wait_for_url(f"**/sla/breaches/{overdue.reference}/first_response/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{overdue.reference} · First response"
    )
