"""The breach pages: who may see and do what, forms with their errors, statements, notices."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assura.commitments.models import Contract
from assura.core import permissions
from assura.core.models import Role, User
from assura.core.permissions import Action
from assura.desk import services as desk
from assura.desk.models import Case
from assura.sla import subjects
from assura.sla.models import (
    Breach,
    BreachNotice,
    CauseCategory,
    Clock,
    CompensationEntry,
    CompensationStatus,
    RootCauseAnalysis,
)
from assura.sla.subjects import breach_url
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db


def client_for(person: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(person)
    return client


@pytest.fixture
def people(make_staff: Callable[..., User], agent: User, contact: User) -> SimpleNamespace:
    return SimpleNamespace(
        agent=agent,
        contact=contact,
        lead=make_staff(Role.TEAM_LEAD),
        manager=make_staff(Role.MANAGER),
        quality=make_staff(Role.QUALITY_MANAGER),
        auditor=make_staff(Role.AUDITOR),
    )


@pytest.fixture
def breached(
    make_overdue_case: Callable[..., Case],
    agent: User,
    contact: User,
    django_capture_on_commit_callbacks: object,
) -> Case:
    """A case whose first response, classification and resolution were all missed."""
    contact.email = "li@customer.cn"
    contact.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        return make_overdue_case(assignee=agent, at=at(2026, 3, 2, 10))


def first_response(case: Case) -> Breach:
    return Breach.objects.get(clock__subject_id=case.pk, metric="first_response")


#: role → status of (breach pages, expedite channel, ledger and statements)
REACH = {
    "agent": (200, 403, 403),
    "lead": (200, 200, 403),
    "manager": (200, 200, 200),
    "quality": (200, 200, 200),
    "auditor": (200, 200, 200),
    "contact": (403, 403, 403),
}


def test_each_role_reaches_the_pages_its_permissions_allow(
    people: SimpleNamespace, breached: Case
) -> None:
    breach = first_response(breached)
    for role, (breaches, expedite, ledger) in REACH.items():
        client = client_for(getattr(people, role))
        reached = {
            "/sla/breaches/": breaches,
            f"/sla/breaches/{breached.reference}/{breach.metric}/": breaches,
            "/sla/expedite/": expedite,
            "/sla/compensation/": ledger,
            "/sla/compensation/K-1/2026-03/": ledger,
            "/sla/compensation/K-1/2026-03.csv": ledger,
            "/sla/notices/": 200,
        }
        assert {url: client.get(url).status_code for url in reached} == reached, role


def test_the_breach_list_filters_by_metric_and_root_cause(
    people: SimpleNamespace, breached: Case, django_assert_max_num_queries: Callable[..., object]
) -> None:
    client = client_for(people.agent)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        page = client.get("/sla/breaches/")
    assert len(page.context["rows"]) == 3
    only = client.get("/sla/breaches/", {"metric": "first_response"})
    assert [row["breach"].metric for row in only.context["rows"]] == ["first_response"]
    assert "C-2026-000001" in only.content.decode()

    RootCauseAnalysis.objects.create(
        breach=first_response(breached),
        category=CauseCategory.objects.get(code="staffing"),
        description="Only one agent on duty.",
        corrective_action="A second agent on the late shift.",
        author=people.agent,
    )
    without = client.get("/sla/breaches/", {"rca": "without"})
    assert {row["breach"].metric for row in without.context["rows"]} == {
        "classification",
        "resolution",
    }
    assert len(client.get("/sla/breaches/", {"rca": "with"}).context["rows"]) == 1


def test_the_root_cause_form_shows_errors_beside_its_fields_then_saves(
    people: SimpleNamespace, breached: Case
) -> None:
    client = client_for(people.agent)
    breach = first_response(breached)
    url = f"/sla/breaches/{breached.reference}/first_response/root-cause/"
    staffing = CauseCategory.objects.get(code="staffing").pk
    refused = client.post(url, {"category": staffing, "description": "Short-staffed."})
    assert refused.status_code == 422
    assert refused.context["rca_form"].errors == {"corrective_action": ["This field is required."]}
    assert not RootCauseAnalysis.objects.exists()

    saved = client.post(
        url,
        {
            "category": staffing,
            "description": "Short-staffed.",
            "corrective_action": "A second agent on Mondays.",
        },
    )
    assert saved.status_code == 302
    assert saved["Location"] == f"/sla/breaches/{breached.reference}/first_response/"
    assert breach.rca.corrective_action == "A second agent on Mondays."
    assert client_for(people.auditor).post(url, {}).status_code == 403


def test_an_agent_edits_the_notice_reason_and_the_page_shows_the_history(
    people: SimpleNamespace, breached: Case
) -> None:
    client = client_for(people.agent)
    breach = first_response(breached)
    url = f"/sla/breaches/{breached.reference}/first_response/notice/"
    assert client.post(url, {"reason": ""}).status_code == 422
    assert client.post(url, {"reason": "A network outage at our site."}).status_code == 302
    notice = BreachNotice.objects.get(breach=breach)
    assert (notice.reason, notice.corrections) == ("A network outage at our site.", 1)
    page = client.get(f"/sla/breaches/{breached.reference}/first_response/").content.decode()
    assert "A network outage at our site." in page
    assert "Earlier reasons" in page


# ---------------------------------------------------------------------------- addresses


def test_a_breach_is_addressed_by_its_subjects_reference_and_metric(
    people: SimpleNamespace, breached: Case
) -> None:
    """One clock per metric of a subject, one breach per clock: the pair names it."""
    client = client_for(people.agent)
    for breach in Breach.objects.filter(clock__subject_id=breached.pk):
        url = f"/sla/breaches/C-2026-000001/{breach.metric}/"
        assert breach_url(breach) == url
        assert breach_url(breach, "rca") == f"{url}root-cause/"
        assert breach_url(breach, "notice") == f"{url}notice/"
        page = client.get(url)
        assert page.status_code == 200
        assert page.context["breach"] == breach
        assert f'action="{url}root-cause/"' in page.content.decode()
        assert f'action="{url}notice/"' in page.content.decode()


def test_the_old_database_id_addresses_answer_404(people: SimpleNamespace, breached: Case) -> None:
    client = client_for(people.agent)
    pk = first_response(breached).pk
    assert client.get(f"/sla/breaches/{pk}/").status_code == 404
    assert client.get(f"/sla/breaches/{pk}/root-cause/").status_code == 404
    assert client.post(f"/sla/breaches/{pk}/root-cause/", {}).status_code == 404
    assert client.post(f"/sla/breaches/{pk}/notice/", {"reason": "x"}).status_code == 404


def test_a_reference_or_metric_without_a_breach_answers_404(
    people: SimpleNamespace, breached: Case, make_case: Callable[..., Case]
) -> None:
    on_time = make_case(at=at(2026, 3, 2, 10))  # the watcher has not seen it: no breach yet
    assert Clock.objects.filter(subject_id=on_time.pk, metric="first_response").exists()
    assert not Breach.objects.filter(clock__subject_id=on_time.pk).exists()
    client = client_for(people.agent)
    for url in (
        "/sla/breaches/C-2026-999999/first_response/",  # no such case
        "/sla/breaches/F-2026-000001/first_response/",  # no such follow-up
        "/sla/breaches/X-1/first_response/",  # nobody's reference
        f"/sla/breaches/{breached.reference}/no_such_metric/",
        f"/sla/breaches/{breached.reference}/FIRST_RESPONSE/",
        f"/sla/breaches/{on_time.reference}/first_response/",  # a clock, but no breach
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(f"{url}root-cause/", {}).status_code == 404, url
        assert client.post(f"{url}notice/", {"reason": "x"}).status_code == 404, url
    assert subjects.resolve("C-2026-999999") is None
    assert subjects.resolve(breached.reference) == (
        ContentType.objects.get_for_model(Case),
        breached.pk,
    )


def test_only_models_with_a_unique_reference_are_registered_as_subjects() -> None:
    assert {model.__name__ for model in subjects.registered()} >= {"Case", "FollowUp"}
    with pytest.raises(ImproperlyConfigured):
        subjects.register(CauseCategory)  # no reference field
    assert CauseCategory not in subjects.registered()


def test_a_breach_outside_the_readers_organisation_answers_404(
    people: SimpleNamespace,
    breached: Case,
    other_contact: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pages are internal: a customer contact is refused before any lookup (403,
    whatever the address, so it learns nothing). Were contacts let in, a breach of another
    organisation would still not be found: the lookup goes through `visible_to`."""
    url = f"/sla/breaches/{breached.reference}/first_response/"
    assert client_for(people.contact).get(url).status_code == 403
    assert client_for(other_contact).get(url).status_code == 403
    assert client_for(other_contact).get("/sla/breaches/C-2026-999999/x/").status_code == 403

    widened = permissions.MATRIX[Action.VIEW_BREACHES] | {Role.CUSTOMER}
    monkeypatch.setitem(permissions.MATRIX, Action.VIEW_BREACHES, widened)
    assert client_for(people.contact).get(url).status_code == 200
    assert client_for(other_contact).get(url).status_code == 404
    assert client_for(other_contact).post(f"{url}notice/", {"reason": "x"}).status_code == 404


def test_pages_listing_breaches_build_their_links_without_a_query_per_row(
    people: SimpleNamespace,
    make_overdue_case: Callable[..., Case],
    agent: User,
    django_capture_on_commit_callbacks: object,
) -> None:
    """The links come from the prefetched subjects, so the count does not grow with rows."""
    client = client_for(people.manager)
    pages = (
        "/sla/breaches/",
        "/sla/compensation/",
        "/sla/notices/",
        "/sla/compensation/K-1/2026-03/",
    )

    def counts() -> dict[str, int]:
        found = {}
        for url in pages:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found[url] = len(queries)
        return found

    people.contact.email = "li@customer.cn"  # so the notices go out and are listed
    people.contact.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        make_overdue_case(assignee=agent, at=at(2026, 3, 2, 10))
    one = counts()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        for hour in (11, 12, 13):
            make_overdue_case(assignee=agent, at=at(2026, 3, 2, hour))
    many = counts()
    assert many == one
    page = client.get("/sla/breaches/").content.decode()
    assert page.count('href="/sla/breaches/C-2026-') == 12  # 4 cases × 3 metrics
    assert 'href="/sla/breaches/C-2026-000004/resolution/"' in page


def test_a_waiver_without_a_reason_is_refused_beside_the_field(
    people: SimpleNamespace, breached: Case
) -> None:
    entry = CompensationEntry.objects.get()
    url = f"/sla/compensation/{entry.pk}/decide/"
    prefix = f"e{entry.pk}"
    assert client_for(people.lead).post(url, {f"{prefix}-decision": "approve"}).status_code == 403

    client = client_for(people.quality)
    refused = client.post(url, {f"{prefix}-decision": "waive", f"{prefix}-reason": ""})
    assert refused.status_code == 422
    assert refused.context["form"].errors == {"reason": ["Say why the compensation is waived."]}
    entry.refresh_from_db()
    assert entry.status == CompensationStatus.PENDING

    done = client.post(
        url, {f"{prefix}-decision": "waive", f"{prefix}-reason": "Customer asked to wait."}
    )
    assert done.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.decided_by) == (CompensationStatus.WAIVED, people.quality)


def test_the_ledger_lists_pending_entries_first(
    people: SimpleNamespace,
    make_overdue_case: Callable[..., Case],
    agent: User,
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        for day in (2, 3):
            make_overdue_case(assignee=agent, at=at(2026, 3, day, 10))
    first = CompensationEntry.objects.order_by("pk").first()
    assert first is not None
    first.status = CompensationStatus.APPROVED
    first.decided_by = people.quality
    first.save()
    rows = client_for(people.quality).get("/sla/compensation/").context["rows"]
    assert [row["entry"].status for row in rows] == ["pending", "approved"]


def test_the_statement_page_and_csv_show_amounts_with_the_currency_and_the_cap(
    people: SimpleNamespace, breached: Case, contract: Contract
) -> None:
    client = client_for(people.manager)
    page = client.get("/sla/compensation/K-1/2026-03/")
    html = page.content.decode()
    assert page.context["report"].booked == 1000
    assert "1000.00 CNY" in html
    assert "3000.00 CNY" in html  # the contract's cap
    download = client.get("/sla/compensation/K-1/2026-03.csv")
    assert download["Content-Type"].startswith("text/csv")
    assert "compensation-K-1-2026-03.csv" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[1][2:4] == ["C-2026-000001", "first_response"]
    assert client.get("/sla/compensation/K-1/March/").status_code == 404


def test_the_expedite_channel_lists_expedited_open_cases_oldest_first(
    people: SimpleNamespace, make_overdue_case: Callable[..., Case], agent: User
) -> None:
    older = make_overdue_case(assignee=agent, at=at(2026, 3, 2, 10))
    newer = make_overdue_case(assignee=agent, at=at(2026, 3, 2, 11))
    quiet = make_overdue_case(assignee=agent, at=at(2026, 3, 2, 12))
    desk.expedite(actor=None, case=newer, at=at(2026, 3, 3, 9))
    desk.expedite(actor=None, case=older, at=at(2026, 3, 3, 10) + timedelta(minutes=1))
    desk.expedite(actor=None, case=quiet, at=at(2026, 3, 3, 8))
    desk.resolve(actor=agent, case=quiet, at=at(2026, 3, 3, 12))
    page = client_for(people.lead).get("/sla/expedite/")
    assert [row["reference"] for row in page.context["rows"]] == [
        newer.reference,
        older.reference,
    ]
    assert "First response" in page.content.decode()


def test_a_customer_reads_only_its_own_organisations_notices(
    people: SimpleNamespace, breached: Case, other_contact: User
) -> None:
    mine = client_for(people.contact).get("/sla/notices/")
    assert len(mine.context["rows"]) == 3
    assert "C-2026-000001" in mine.content.decode()
    assert "Breach details" not in mine.content.decode()
    assert client_for(other_contact).get("/sla/notices/").context["rows"] == []
