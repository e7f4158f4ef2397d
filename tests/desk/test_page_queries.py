"""The desk's main pages cost a fixed number of SQL queries, however much they show.

Each page is requested with a little data, then with five times as much, and must cost
exactly the same pinned number of queries both times: a query per row, message or clock
(an N+1) would make the second count grow. bench/bench_pages.py times the same pages
with the demo data ×100.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, Subquery
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assura.core.models import User
from assura.desk import queries
from assura.desk import services as desk
from assura.desk.models import Case
from assura.sla.models import Breach, Clock, ClockStatus
from assura.sla.watcher import record_due
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]
AssertQueries = Callable[..., object]

# session, person, saved views, the count (with the cases that have a running clock);
# the page's cases with a running clock, the others; their clocks, calendar versions,
# metric names; the layout's organisation; the filters' services and customers; bulk
# assignees
QUEUE_QUERIES = 13
# session, person, the case, metric names, its clocks, merged cases; timeline: messages,
# attachments, activities, clock events, warnings, breaches, analyses, escalations,
# notices, compensation; the layout's organisation; forms: breaches without analysis,
# cause categories, teams, assignees
CASE_QUERIES = 21
# session, person, count, the page's cases, their promise clocks; the layout's organisation
PORTAL_LIST_QUERIES = 6
# session, person, the case, its clocks, metric names; timeline: messages, attachments,
# activities; notices; the layout's organisation
PORTAL_CASE_QUERIES = 10

QUEUE_URLS = (
    ("", QUEUE_QUERIES),
    ("?scope=all", QUEUE_QUERIES),
    ("?scope=all&status=any", QUEUE_QUERIES),
    # only cases with a running clock are at risk: no query for the others
    ("?scope=all&sla=at_risk&q=case", QUEUE_QUERIES - 1),
)


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(agent)
    return client


@pytest.fixture
def contact_client(contact: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(contact)
    return client


def open_cases(make_case: MakeCase, agent: User, first: int, count: int) -> None:
    """Cases of every kind of row: with running clocks (breached by now, some replied to),
    and waiting on the customer with no clock running (listed after the others)."""
    for number in range(first, first + count):
        opened = at(2026, 3, 2, 9) + timedelta(minutes=7 * number)
        case = make_case(subject=f"Case {number}", at=opened)
        if number % 3 != 0:
            desk.reply(actor=agent, case=case, body="Looking.", at=opened + timedelta(minutes=1))
        if number % 3 == 1:
            desk.classify(
                actor=agent,
                case=case,
                case_type="inquiry",
                priority="normal",
                at=opened + timedelta(minutes=2),
            )
            desk.change_status(
                actor=agent, case=case, status="waiting_customer", at=opened + timedelta(minutes=3)
            )
    record_due(timezone.now())


def work(case: Case, agent: User, contact: User, rounds: int) -> None:
    """Rounds of a customer message with a file, a reply, a note and a status change."""
    start = case.created_at + timedelta(minutes=10)
    for number in range(rounds):
        instant = start + timedelta(minutes=30 * number)
        files = [SimpleUploadedFile(f"log-{number}.txt", b"trace")]
        desk.reply(
            actor=contact, case=case, body=f"Still broken {number}", attachments=files, at=instant
        )
        desk.reply(
            actor=agent, case=case, body=f"Try this {number}", at=instant + timedelta(minutes=1)
        )
        desk.add_note(
            actor=agent, case=case, body=f"Note {number}", at=instant + timedelta(minutes=2)
        )
        desk.change_status(
            actor=agent,
            case=case,
            status="waiting_customer" if number % 2 == 0 else "open",
            at=instant + timedelta(minutes=3),
        )
    record_due(timezone.now())


@pytest.mark.parametrize(("query", "queries"), QUEUE_URLS)
def test_the_queue_costs_the_same_queries_for_2_or_10_cases(
    agent_client: Client,
    make_case: MakeCase,
    agent: User,
    query: str,
    queries: int,
    django_assert_num_queries: AssertQueries,
) -> None:
    url = reverse("desk:cases") + query
    open_cases(make_case, agent, 0, 2)
    with django_assert_num_queries(queries):  # type: ignore[attr-defined]
        few = agent_client.get(url)
    open_cases(make_case, agent, 2, 8)
    with django_assert_num_queries(queries):  # type: ignore[attr-defined]
        many = agent_client.get(url)
    assert few.status_code == many.status_code == 200
    assert len(few.context["rows"]) < len(many.context["rows"])
    assert Breach.objects.exists()


def test_the_case_page_costs_the_same_queries_for_2_or_10_rounds(
    agent_client: Client,
    make_case: MakeCase,
    agent: User,
    contact: User,
    django_assert_num_queries: AssertQueries,
) -> None:
    short = make_case(at=at(2026, 3, 2, 10))
    work(short, agent, contact, 2)
    long = make_case(at=at(2026, 3, 2, 10))
    work(long, agent, contact, 10)
    with django_assert_num_queries(CASE_QUERIES):  # type: ignore[attr-defined]
        few = agent_client.get(reverse("desk:case", args=[short.reference]))
    with django_assert_num_queries(CASE_QUERIES):  # type: ignore[attr-defined]
        many = agent_client.get(reverse("desk:case", args=[long.reference]))
    assert few.status_code == many.status_code == 200
    assert len(many.context["timeline"]) > 2 * len(few.context["timeline"])
    assert many.context["rca_forms"]


def test_the_portal_list_costs_the_same_queries_for_2_or_10_cases(
    contact_client: Client,
    make_case: MakeCase,
    agent: User,
    django_assert_num_queries: AssertQueries,
) -> None:
    url = reverse("desk:portal")
    open_cases(make_case, agent, 0, 2)
    with django_assert_num_queries(PORTAL_LIST_QUERIES):  # type: ignore[attr-defined]
        few = contact_client.get(url)
    open_cases(make_case, agent, 2, 8)
    with django_assert_num_queries(PORTAL_LIST_QUERIES):  # type: ignore[attr-defined]
        many = contact_client.get(url)
    assert few.status_code == many.status_code == 200
    assert (len(few.context["rows"]), len(many.context["rows"])) == (2, 10)


def test_the_portal_case_costs_the_same_queries_for_2_or_10_rounds(
    contact_client: Client,
    make_case: MakeCase,
    agent: User,
    contact: User,
    django_assert_num_queries: AssertQueries,
) -> None:
    short = make_case(at=at(2026, 3, 2, 10))
    work(short, agent, contact, 2)
    long = make_case(at=at(2026, 3, 2, 10))
    work(long, agent, contact, 10)
    with django_assert_num_queries(PORTAL_CASE_QUERIES):  # type: ignore[attr-defined]
        few = contact_client.get(reverse("desk:portal_case", args=[short.reference]))
    with django_assert_num_queries(PORTAL_CASE_QUERIES):  # type: ignore[attr-defined]
        many = contact_client.get(reverse("desk:portal_case", args=[long.reference]))
    assert few.status_code == many.status_code == 200
    assert len(many.context["timeline"]) > 2 * len(few.context["timeline"])


def test_the_queue_pages_list_every_case_once_soonest_due_first(
    make_case: MakeCase, agent: User, contact: User
) -> None:
    """Read in two groups (with a running clock, then without), the pages still follow the
    one order: soonest due first, cases without a running clock last, oldest first."""
    open_cases(make_case, agent, 0, 11)
    done = make_case(subject="Done", at=at(2026, 3, 1, 9))
    desk.resolve(actor=agent, case=done, at=at(2026, 3, 1, 10))
    desk.close(actor=contact, case=done, at=at(2026, 3, 1, 11))
    soonest = (
        Clock.objects.filter(
            subject_type__model="case", subject_id=OuterRef("pk"), status=ClockStatus.RUNNING
        )
        .order_by("due_at")
        .values("due_at")[:1]
    )
    expected = list(
        Case.objects.annotate(next_due=Subquery(soonest))
        .order_by(F("next_due").asc(nulls_last=True), "created_at", "pk")
        .values_list("reference", "next_due")
    )
    listed = queries.queue(agent, {"scope": "all", "status": "any"})
    assert 0 < listed.sizes()[1] < len(expected) == listed.count() == 12
    for size in (1, 4, 5, 12, 50):
        pages = Paginator(listed, size)
        read = [
            (case.reference, case.next_due)
            for number in pages.page_range
            for case in pages.page(number).object_list
        ]
        assert read == expected, size
    assert [(case.reference, case.next_due) for case in listed] == expected
    assert (listed[0].reference, listed[11].reference) == (expected[0][0], expected[11][0])
