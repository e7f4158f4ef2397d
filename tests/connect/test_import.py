"""Importing cases with their history from CSV and XLSX: checked row by row, replayed
through the desk at the history's instants, bad rows reported and never half-written."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from assura.connect import importer
from assura.connect.models import CaseImport, ImportStatus
from assura.core.models import Organisation, Role, User
from assura.desk.clocks import clocks_of
from assura.desk.models import Case
from assura.sla.models import Breach, ClockStatus
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


HEADER = [
    "reference",
    "created",
    "first_response",
    "resolved",
    "closed",
    "type",
    "priority",
    "customer",
    "contact_email",
    "subject",
    "agent",
]


def rows(auditor: User) -> list[list[Any]]:
    """Two good rows, three rows with checkable errors, one that the desk refuses."""
    return [
        # 40 min to the first response against a 15 min promise: breached at 10:15.
        ["R-1", "2026-03-02 10:00", "2026-03-02 10:40", "2026-03-02 15:00", "2026-03-03 10:00",
         "inquiry", "normal", "ECM", "zhang@ecm.example.cn", "登录失败", ""],
        ["R-2", "2026-03-02 11:00", "2026-03-02 11:05", "2026-03-02 12:00", "2026-03-02 13:00",
         "咨询", "", "ecm", "new.person@ecm.example.cn", "发票抬头如何修改", ""],
        ["R-3", "2026-13-45 10:00", "", "", "", "inquiry", "normal", "ECM", "", "坏日期", ""],
        ["R-4", "2026-03-02 10:00", "", "", "", "fault", "urgent", "NOPE", "", "未知客户", ""],
        ["R-5", "2026-03-03 10:00", "", "2026-03-02 10:00", "", "request", "low", "ECM", "",
         "先解决后创建", ""],
        ["R-6", "2026-03-02 09:30", "2026-03-02 09:40", "", "", "inquiry", "normal", "ECM", "",
         "审计员不能处理工单", auditor.username],
    ]  # fmt: skip


def csv_bytes(data: list[list[Any]], header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(data)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(data: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in data:
        # Real dates as spreadsheet date cells; a broken one stays text, as users type it.
        sheet.append([_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return value


@pytest.fixture
def importing(
    guarantee: Any, customer: Organisation, contact: User, quality: User
) -> Callable[..., CaseImport]:
    def run(name: str, content: bytes, again: bool = False) -> CaseImport:
        batch = importer.upload(
            actor=quality,
            name=name,
            content=content,
            options=importer.Options(time_zone="Asia/Shanghai"),
            again=again,
        )
        importer.start(actor=quality, batch=batch)
        importer.run(batch.pk)
        batch.refresh_from_db()
        return batch

    return run


def problems_by_row(batch: CaseImport) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for problem in batch.problems:
        found.setdefault(problem["row"], []).append((problem["column"], problem["code"]))
    return found


def assert_imported_with_history(batch: CaseImport, contact: User) -> None:
    assert batch.status == ImportStatus.DONE
    assert (batch.rows, batch.imported, batch.failed) == (6, 2, 4)
    assert problems_by_row(batch) == {
        4: [("created", "bad_date")],
        5: [("customer", "unknown_customer")],
        6: [("resolved", "before_created")],
        7: [("", "service")],
    }
    late = Case.objects.get(idempotency_key="import:R-1")
    assert late.created_at == at(2026, 3, 2, 10)
    assert late.first_reply_at == at(2026, 3, 2, 10, 40)
    assert late.contact == contact
    clocks = clocks_of(late)
    response = clocks["first_response"]
    assert response.breached_at == at(2026, 3, 2, 10, 15)
    assert Breach.objects.get(clock=response).breached_at == at(2026, 3, 2, 10, 15)
    assert clocks["resolution"].met_at == at(2026, 3, 2, 15)
    assert clocks["classification"].status == ClockStatus.CANCELLED  # no time in the history
    assert not Breach.objects.filter(clock=clocks["classification"]).exists()
    # Its breach is imported history, which needs no root-cause analysis: closed as it was.
    assert Breach.objects.get(clock=response).historical
    assert (late.status, late.resolved_at, late.closed_at) == (
        "closed",
        at(2026, 3, 2, 15),
        at(2026, 3, 3, 10),
    )

    kept = Case.objects.get(idempotency_key="import:R-2")
    assert (kept.status, kept.closed_at) == ("closed", at(2026, 3, 2, 13))
    assert clocks_of(kept)["first_response"].met_at == at(2026, 3, 2, 11, 5)
    assert kept.contact.email == "new.person@ecm.example.cn"
    assert kept.contact.is_customer
    # Nothing of the refused row was written, although its case was opened before the
    # desk refused the auditor's note.
    assert not Case.objects.filter(subject="审计员不能处理工单").exists()
    assert Case.objects.count() == 2


def test_a_csv_import_replays_the_good_rows_and_reports_the_bad_ones(
    importing: Callable[..., CaseImport], contact: User, auditor: User
) -> None:
    batch = importing("cases.csv", csv_bytes(rows(auditor)))
    assert batch.file_format == "csv"
    assert_imported_with_history(batch, contact)
    report = list(csv.reader(io.StringIO(importer.report_csv(batch).lstrip("\ufeff"))))
    assert report[0] == ["Row", "Column", "Message", "Result"]
    assert ["4", "created", importer.message_of(batch.problems[0]), "not imported"] in report
    assert any(line[:2] == ["5", "customer"] and "NOPE" in line[2] for line in report)
    assert any(
        line[:2] == ["6", "resolved"] and "before the case was created" in line[2]
        for line in report
    )
    assert not any(line[0] == "2" for line in report)


def test_an_xlsx_import_does_the_same(
    importing: Callable[..., CaseImport], contact: User, auditor: User
) -> None:
    batch = importing("cases.xlsx", xlsx_bytes(rows(auditor)))
    assert batch.file_format == "xlsx"
    assert_imported_with_history(batch, contact)


def test_a_file_is_imported_once_unless_asked_again(
    importing: Callable[..., CaseImport], quality: User, auditor: User
) -> None:
    content = csv_bytes(rows(auditor)[:2])
    first = importing("cases.csv", content)
    assert first.imported == 2
    with pytest.raises(ValidationError, match="imported on"):
        importer.upload(
            actor=quality, name="again.csv", content=content, options=importer.Options()
        )
    again = importing("again.csv", content, again=True)
    assert (again.imported, again.skipped) == (0, 2)
    assert Case.objects.count() == 2


def test_checking_writes_nothing_and_finds_missing_columns(
    guarantee: Any, customer: Organisation, quality: User
) -> None:
    checked = importer.check(csv_bytes([["x"]], header=["subject"]), "csv", importer.Options())
    assert [p.code for p in checked.problems] == ["missing_column"] * 3
    batch = importer.upload(
        actor=quality, name="bad.csv", content=csv_bytes([["x"]], header=["subject"]),
        options=importer.Options(),
    )  # fmt: skip
    with pytest.raises(ValidationError):
        importer.start(actor=quality, batch=batch)
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02 10:15", at(2026, 3, 2, 10, 15)),
        ("2026/3/2 10:15:30", at(2026, 3, 2, 10, 15, 30)),
        ("2026年3月2日 10:15", at(2026, 3, 2, 10, 15)),
        ("2026-03-02T02:15:00+00:00", at(2026, 3, 2, 10, 15)),
        ("2026-03-02", at(2026, 3, 2)),
        ("02.03.2026", None),
        ("2026-02-30 10:00", None),
    ],
)
def test_times_are_read_in_the_usual_spellings(text: str, expected: datetime | None) -> None:
    assert importer.parse_instant(text, SH) == expected


def test_a_gb18030_csv_with_chinese_headers_is_read() -> None:
    text = "创建时间,类型,客户,标题\n2026-03-02 10:00,咨询,ECM,打印机\n"
    header, data = importer.read_table(text.encode("gb18030"), "csv")
    assert importer.map_columns(header) == {"created": 0, "type": 1, "customer": 2, "subject": 3}
    assert data == [["2026-03-02 10:00", "咨询", "ECM", "打印机"]]


def test_the_import_pages_check_import_and_report_in_the_users_language(
    guarantee: Any,
    customer: Organisation,
    contact: User,
    make_staff: Callable[..., User],
    auditor: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    manager = make_staff(Role.QUALITY_MANAGER, language="zh-hans")
    client = Client()
    client.login(username=manager.username, password=PASSWORD)
    upload = io.BytesIO(csv_bytes(rows(auditor)))
    upload.name = "历史工单.csv"
    response = client.post(
        reverse("connect:imports"),
        {"file": upload, "time_zone": "Asia/Shanghai", "channel": "email", "create_contacts": "on"},
    )
    assert response.status_code == 302
    batch = CaseImport.objects.get()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'data-testid="problems"' in page.content
    assert Case.objects.count() == 0  # checked only
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("connect:import_start", args=[batch.pk]))
    batch.refresh_from_db()
    assert (batch.status, batch.imported) == (ImportStatus.DONE, 2)
    report = client.get(reverse("connect:import_report", args=[batch.pk]))
    assert report.status_code == 200
    assert report["Content-Language"] == "zh-hans"
    assert report["Content-Type"].startswith("text/csv")
    assert report.content.startswith("\ufeff".encode())
    # The second start does nothing: a file is imported once.
    client.post(reverse("connect:import_start", args=[batch.pk]))
    assert Case.objects.count() == 2


def test_only_importers_see_the_import_pages(agent: User) -> None:
    client = Client()
    client.login(username=agent.username, password=PASSWORD)
    assert client.get(reverse("connect:imports")).status_code == 403


# --- imported history is measured, never acted on ------------------------------------------


@pytest.fixture
def ledger(customer: Organisation) -> Any:
    """ECM's contract: 5 % of 20,000.00 CNY per missed first response."""
    from datetime import date
    from decimal import Decimal

    from assura.commitments import services as commitments
    from assura.commitments.models import Metric

    contract = commitments.create_contract(
        actor=None,
        code="K-ECM",
        name="ECM 2026",
        customer=customer,
        monthly_fee=Decimal("20000.00"),
        starts_on=date(2025, 1, 1),
    )
    commitments.set_compensation_rule(
        actor=None,
        contract=contract,
        metric=Metric.objects.get(code="first_response"),
        percent_of_fee=Decimal(5),
    )
    return contract


def about(case: Case) -> Any:
    """The outbox messages about a case (breach notices, staff messages, escalations)."""
    from django.contrib.contenttypes.models import ContentType

    from assura.notify.models import Notification

    return Notification.objects.filter(
        about_type=ContentType.objects.get_for_model(Case), about_id=str(case.pk)
    )


def first_response_breach(case: Case) -> Breach:
    return Breach.objects.get(clock=clocks_of(case)["first_response"])


def test_imported_breaches_count_but_get_no_compensation_notice_or_message(
    importing: Callable[..., CaseImport],
    ledger: Any,
    contact: User,
    agent: User,
    auditor: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.utils import timezone

    from assura.desk import services as desk
    from assura.sla import escalation, handlers, watcher
    from assura.sla import queries as sla_queries
    from assura.sla.models import BreachNotice, Clock, CompensationEntry

    with django_capture_on_commit_callbacks(execute=True):
        # A live case, late in the same way: the usual handling, for comparison.
        live = desk.open_case(
            actor=contact,
            organisation=contact.organisation,
            case_type="inquiry",
            subject="打印机",
            channel="portal",
            assignee=agent,
            at=at(2026, 3, 2, 10),
        )
        watcher.record_due(timezone.now())
        batch = importing("cases.csv", csv_bytes(rows(auditor)[:1]))
    assert batch.imported == 1
    imported = Case.objects.get(idempotency_key="import:R-1")

    live_breach, old = first_response_breach(live), first_response_breach(imported)
    assert not live_breach.historical
    assert BreachNotice.objects.get(breach=live_breach).sent_at is not None
    assert CompensationEntry.objects.get(breach=live_breach).amount == 1000
    assert about(live).filter(dedup_key=f"breach-notice:{live_breach.pk}").exists()

    # Measured exactly like the live one: same instant rule, counted in compliance.
    assert (old.historical, old.breached_at) == (True, at(2026, 3, 2, 10, 15))
    mine = Clock.objects.filter(pk=old.clock_id)
    [figure] = sla_queries.compliance(mine, at(2026, 3, 1), at(2026, 4, 1))
    assert (figure.metric, figure.met, figure.breached) == ("first_response", 0, 1)
    everything = sla_queries.compliance(Clock.objects.all(), at(2026, 3, 1), at(2026, 4, 1))
    assert {f.metric: f.breached for f in everything}["first_response"] == 2

    # …but never acted on, not even by the timers that sweep for unhandled breaches.
    later = timezone.now() + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        handlers.BreachFollowUp().run_due(later)
        watcher.record_due(later)
        escalation.fire_due(later)
    assert not BreachNotice.objects.filter(breach=old).exists()
    assert not CompensationEntry.objects.filter(breach=old).exists()
    assert not about(imported).exists()
    assert handlers.unhandled() == []
    assert handlers.handle_breach(old.pk) is False
    assert not BreachNotice.objects.filter(breach=old).exists()


def test_an_imported_open_case_is_history_until_the_import_then_live(
    importing: Callable[..., CaseImport],
    ledger: Any,
    contact: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.utils import timezone

    from assura.sla import escalation, handlers, watcher
    from assura.sla.models import BreachNotice, CompensationEntry, Escalation

    just_now = timezone.localtime(timezone.now() - timedelta(minutes=1), SH)
    data = [
        # Open in the former help desk since March: overdue long before the import.
        ["O-1", "2026-03-02 10:00", "", "", "", "inquiry", "normal", "ECM",
         "zhang@ecm.example.cn", "一直没人回复", ""],
        # Opened a minute before the import: nothing due yet.
        ["O-2", just_now.strftime("%Y-%m-%d %H:%M"), "", "", "", "inquiry", "normal", "ECM",
         "zhang@ecm.example.cn", "刚刚提交", ""],
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        batch = importing("open.csv", csv_bytes(data))
    assert batch.imported == 2
    overdue = Case.objects.get(idempotency_key="import:O-1")
    fresh = Case.objects.get(idempotency_key="import:O-2")

    # What fell due before the import is recorded by the import itself, as history,
    # and the escalation levels already past are set aside rather than fired.
    old = first_response_breach(overdue)
    assert (old.historical, old.breached_at) == (True, at(2026, 3, 2, 10, 15))
    assert clocks_of(overdue)["first_response"].status == ClockStatus.RUNNING
    levels = Escalation.objects.filter(clock__subject_id=overdue.pk, fired_at__isnull=True)
    assert levels.filter(planned_at__isnull=False).exists()
    assert not levels.filter(due_at__isnull=False, due_at__lte=timezone.now()).exists()
    assert not Breach.objects.filter(clock__subject_id=fresh.pk).exists()

    # From the import on the clocks are live: the fresh case's breach, recorded by the
    # watcher later, is handled like any other.
    later = timezone.now() + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        watcher.record_due(later)
        handlers.BreachFollowUp().run_due(later)
        escalation.fire_due(later)
    new = first_response_breach(fresh)
    assert not new.historical
    assert BreachNotice.objects.get(breach=new).sent_at is not None
    assert CompensationEntry.objects.get(breach=new).amount == 1000
    assert about(fresh).filter(dedup_key=f"breach-notice:{new.pk}").exists()
    assert Escalation.objects.filter(clock__subject_id=fresh.pk, fired_at__isnull=False)

    assert not BreachNotice.objects.filter(breach__clock__subject_id=overdue.pk).exists()
    assert not CompensationEntry.objects.filter(breach__clock__subject_id=overdue.pk).exists()
    assert not Escalation.objects.filter(clock__subject_id=overdue.pk, fired_at__isnull=False)
    assert not about(overdue).exists()
