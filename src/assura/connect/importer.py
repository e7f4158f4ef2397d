"""Cases from other help desks, with their history, from CSV or XLSX files.

A file is first *checked*: every row is read and validated (dates, their order,
customer, type, priority, contact, agent) without writing anything, and the problems
are kept as codes with their values, so the error report is written in the language of
whoever downloads it. The rows without errors are then *imported* by the worker, each
in one transaction through the desk's own services with `at=` the history's instants:

    open_case(at=created) → reply(at=first response) → classify(at=classified)
    → resolve(at=resolved) → close(at=closed)

so every clock is started, stopped and judged exactly as if the case had been worked
here, and past compliance is measured (a first response 40 minutes after creation
under a 15-minute target is a breach at creation + 15 minutes). A row that fails
anywhere rolls back completely. A clock the history has no instant for (no
classification time on a resolved case, say) is cancelled as of the case's creation:
it is not measured rather than measured wrong. Imported history sends no webhooks.

Imported history is measured, never acted on: each row is replayed inside
`sla.history()`, so the breaches and warnings it records are marked historical (counted
in compliance, shown with an "imported history" label, but no compensation, customer
notice, staff message or follow-up). At the end of the row `sla.end_history` brings
the clocks still open up to the present, still as history: what fell due in the former
help desk is recorded then, not by the watcher just after as if it were live, and the
escalation levels already past are set aside. From then on those clocks are live.

A file (by its SHA-256) is imported once unless the person asks for it again; rows
whose reference was imported before are skipped either way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assura.commitments.models import CaseType, Channel, Priority
from assura.connect import events
from assura.connect.models import CaseImport, ImportStatus
from assura.core import services as core
from assura.core.audit import acting_as
from assura.core.models import Organisation, Role, User
from assura.core.permissions import Action, can
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Case
from assura.sla import services as sla
from assura.sla.models import ClockStatus

log = logging.getLogger("assura.connect.importer")

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
PROGRESS_EVERY = 25

# Canonical column → the header names accepted for it (compared case-insensitively, with
# spaces, hyphens and underscores ignored). Chinese headers of common exports included.
COLUMNS: dict[str, tuple[str, ...]] = {
    "reference": ("reference", "external id", "ticket", "ticket id", "id", "工单号", "编号"),
    "created": ("created", "created at", "opened", "创建时间", "提交时间"),
    "first_response": ("first response", "first response at", "first reply", "首次响应时间"),
    "classified": ("classified", "classified at", "分类时间"),
    "resolved": ("resolved", "resolved at", "solved", "解决时间"),
    "closed": ("closed", "closed at", "关闭时间"),
    "type": ("type", "case type", "category", "类型", "工单类型"),
    "priority": ("priority", "优先级"),
    "customer": ("customer", "customer code", "organisation", "organization", "客户", "客户编码"),
    "contact_email": ("contact email", "contact", "email", "requester", "联系人邮箱", "联系人"),
    "subject": ("subject", "title", "summary", "主题", "标题"),
    "description": ("description", "details", "body", "描述", "内容"),
    "agent": ("agent", "assignee", "handled by", "处理人"),
    "channel": ("channel", "source", "渠道", "来源"),
}
REQUIRED = ("created", "type", "customer", "subject")
TIME_COLUMNS = ("created", "first_response", "classified", "resolved", "closed")

TYPE_WORDS = {
    **{value: value for value in CaseType.values},
    "咨询": "inquiry",
    "question": "inquiry",
    "故障": "fault",
    "incident": "fault",
    "problem": "fault",
    "投诉": "complaint",
    "建议": "suggestion",
    "请求": "request",
    "服务请求": "request",
    "service request": "request",
}
PRIORITY_WORDS = {
    **{value: value for value in Priority.values},
    "紧急": "urgent",
    "critical": "urgent",
    "高": "high",
    "普通": "normal",
    "中": "normal",
    "medium": "normal",
    "低": "low",
}

# What each problem says; rendered in the reader's language when shown or downloaded.
MESSAGES: dict[str, Any] = {
    "unreadable": gettext_lazy("The file cannot be read as CSV or XLSX: %(error)s"),
    "empty": gettext_lazy("The file has no rows under its header."),
    "too_many_rows": gettext_lazy("The file has more than %(limit)s rows; split it."),
    "missing_column": gettext_lazy("The file has no “%(column)s” column."),
    "required": gettext_lazy("A value is required."),
    "bad_date": gettext_lazy(
        "“%(value)s” is not a date and time; write it like 2026-03-02 10:15 (or ISO 8601)."
    ),
    "future": gettext_lazy("%(value)s lies in the future."),
    "before_created": gettext_lazy("%(value)s is before the case was created (%(created)s)."),
    "before_resolved": gettext_lazy("%(value)s is before the case was resolved (%(resolved)s)."),
    "unknown_customer": gettext_lazy("No active customer has the code “%(value)s”."),
    "unknown_type": gettext_lazy(
        "Unknown case type “%(value)s”: use inquiry, fault, complaint, suggestion or request."
    ),
    "unknown_priority": gettext_lazy(
        "Unknown priority “%(value)s”: use urgent, high, normal or low."
    ),
    "unknown_channel": gettext_lazy(
        "Unknown channel “%(value)s”: use portal, email, api, phone or chat."
    ),
    "bad_email": gettext_lazy("“%(value)s” is not an e-mail address."),
    "unknown_contact": gettext_lazy("%(customer)s has no contact with the address %(value)s."),
    "contact_elsewhere": gettext_lazy("%(value)s is a contact of another customer."),
    "unknown_agent": gettext_lazy("No active member of staff is called %(value)s."),
    "too_long": gettext_lazy("Keep it under %(limit)s characters."),
    "duplicate": gettext_lazy("The reference %(value)s was already used in row %(first)s."),
    "already_imported": gettext_lazy("Imported before as %(reference)s; skipped."),
    "service": "%(text)s",
}
#: Problems that do not stop a row (it is imported, or was already there).
NOTICES = frozenset({"already_imported"})


@dataclass(frozen=True)
class Problem:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str  # the file's own header text, or "" for the whole row / file
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "params": dict(self.params),
        }


def message_of(problem: Mapping[str, Any]) -> str:
    """The problem's text in the active language."""
    template = MESSAGES.get(problem["code"], "%(text)s")
    try:
        return str(template) % dict(problem.get("params", {}))
    except (KeyError, TypeError, ValueError):
        return str(problem.get("params", {}).get("text", problem["code"]))


def is_notice(problem: Mapping[str, Any]) -> bool:
    return problem["code"] in NOTICES


# --- reading -----------------------------------------------------------------------------


def file_format(name: str, content: bytes) -> str:
    if content[:2] == b"PK" or name.lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


def read_table(content: bytes, kind: str) -> tuple[list[str], list[list[Any]]]:
    """The header and the data rows; raises ValueError when the file cannot be read."""
    rows = _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)
    header: list[str] | None = None
    data: list[list[Any]] = []
    for row in rows:
        if header is None:
            if any(_text(cell) for cell in row):
                header = [_text(cell) for cell in row]
            continue
        data.append(list(row))
    if header is None:
        raise ValueError("no header row")
    return header, data


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("the text is neither UTF-8 nor GB18030")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text, newline=""), dialect)


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise ValueError(str(error) or type(error).__name__) from error
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def map_columns(header: list[str]) -> dict[str, int]:
    """Canonical column → its index in the file (the first match wins)."""
    aliases = {_normal(alias): canonical for canonical, names in COLUMNS.items() for alias in names}
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        canonical = aliases.get(_normal(name))
        if canonical and canonical not in found:
            found[canonical] = index
    return found


# --- checking ----------------------------------------------------------------------------

_CN_DATE = re.compile(
    r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}))?秒?)?\s*$"
)


def parse_instant(value: Any, zone: ZoneInfo) -> datetime | None:
    """A cell as an aware instant; naive values are in `zone`. None when not a date."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = _text(value)
        match = _CN_DATE.match(text)
        if match:
            y, m, d, hh, mm, ss = (int(part) if part else 0 for part in match.groups())
            try:
                moment = datetime(y, m, d, hh, mm, ss)
            except ValueError:
                return None
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return None
    return moment.replace(tzinfo=zone) if timezone.is_naive(moment) else moment


@dataclass
class Row:
    number: int
    reference: str = ""
    times: dict[str, datetime] = field(default_factory=dict)
    case_type: str = ""
    priority: str = Priority.NORMAL
    channel: str = ""
    customer: Organisation | None = None
    contact: User | None = None
    contact_email: str = ""
    subject: str = ""
    description: str = ""
    agent: User | None = None


@dataclass
class Checked:
    """A file read and checked: its rows, the valid ones, and every problem found."""

    rows: list[Row]
    valid: list[Row]
    problems: list[Problem]


@dataclass(frozen=True)
class Options:
    time_zone: str = ""
    channel: str = Channel.EMAIL
    create_contacts: bool = True

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Options:
        return cls(
            time_zone=str(data.get("time_zone") or ""),
            channel=str(data.get("channel") or Channel.EMAIL),
            create_contacts=bool(data.get("create_contacts", True)),
        )

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)


def check(content: bytes, kind: str, options: Options, now: datetime | None = None) -> Checked:
    """Read and validate every row; nothing is written."""
    try:
        header, data = read_table(content, kind)
    except (ValueError, csv.Error) as error:
        return Checked([], [], [Problem(0, "", "unreadable", {"error": str(error)})])
    columns = map_columns(header)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        problems = [
            Problem(1, "", "missing_column", {"column": COLUMNS[name][0]}) for name in missing
        ]
        return Checked([], [], problems)
    if not data:
        return Checked([], [], [Problem(1, "", "empty")])
    if len(data) > MAX_ROWS:
        return Checked([], [], [Problem(1, "", "too_many_rows", {"limit": MAX_ROWS})])
    checker = _Checker(header, columns, options, now or timezone.now())
    rows, valid, problems = [], [], []
    for offset, cells in enumerate(data):
        if not any(_text(cell) for cell in cells):
            continue
        row, found = checker.row(offset + 2, cells)
        rows.append(row)
        problems += found
        if not found:
            valid.append(row)
    return Checked(rows, valid, problems)


class _Checker:
    def __init__(
        self, header: list[str], columns: dict[str, int], options: Options, now: datetime
    ) -> None:
        self.header, self.columns, self.options, self.now = header, columns, options, now
        self.zone = options.zone()
        self.customers = {
            o.code.lower(): o for o in Organisation.objects.customers().filter(is_active=True)
        }
        self.references: dict[str, int] = {}
        self.people: dict[str, User | None] = {}

    def cell(self, cells: list[Any], name: str) -> Any:
        index = self.columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    def label(self, name: str) -> str:
        return self.header[self.columns[name]] if name in self.columns else COLUMNS[name][0]

    def row(self, number: int, cells: list[Any]) -> tuple[Row, list[Problem]]:
        row = Row(number)
        problems: list[Problem] = []

        def problem(name: str, code: str, **params: Any) -> None:
            problems.append(Problem(number, self.label(name), code, params))

        for name in REQUIRED:
            if not _text(self.cell(cells, name)):
                problem(name, "required")
        self._times(row, cells, problem)
        self._kinds(row, cells, problem)
        self._who(row, cells, problem)
        row.subject = _text(self.cell(cells, "subject"))
        if len(row.subject) > 300:
            problem("subject", "too_long", limit=300)
        row.description = _text(self.cell(cells, "description"))
        row.reference = _text(self.cell(cells, "reference"))
        if len(row.reference) > 80:
            problem("reference", "too_long", limit=80)
        elif row.reference:
            first = self.references.setdefault(row.reference, number)
            if first != number:
                problem("reference", "duplicate", value=row.reference, first=first)
        return row, problems

    def _times(self, row: Row, cells: list[Any], problem: Any) -> None:
        for name in TIME_COLUMNS:
            raw = self.cell(cells, name)
            if not _text(raw):
                continue
            instant = parse_instant(raw, self.zone)
            if instant is None:
                problem(name, "bad_date", value=_text(raw))
            elif instant > self.now:
                problem(name, "future", value=self._show(instant))
            else:
                row.times[name] = instant
        created = row.times.get("created")
        if created is None:
            return
        for name in ("first_response", "classified", "resolved", "closed"):
            moment = row.times.get(name)
            if moment is not None and moment < created:
                problem(
                    name, "before_created", value=self._show(moment), created=self._show(created)
                )
                del row.times[name]
        resolved, closed = row.times.get("resolved"), row.times.get("closed")
        if resolved and closed and closed < resolved:
            problem(
                "closed", "before_resolved", value=self._show(closed), resolved=self._show(resolved)
            )

    def _show(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def _kinds(self, row: Row, cells: list[Any], problem: Any) -> None:
        raw_type = _text(self.cell(cells, "type"))
        if raw_type:
            row.case_type = TYPE_WORDS.get(raw_type.lower(), "")
            if not row.case_type:
                problem("type", "unknown_type", value=raw_type)
        raw_priority = _text(self.cell(cells, "priority"))
        if raw_priority:
            row.priority = PRIORITY_WORDS.get(raw_priority.lower(), "")
            if not row.priority:
                problem("priority", "unknown_priority", value=raw_priority)
        raw_channel = _text(self.cell(cells, "channel")).lower()
        row.channel = raw_channel or self.options.channel
        if row.channel not in Channel.values:
            problem("channel", "unknown_channel", value=raw_channel)

    def _who(self, row: Row, cells: list[Any], problem: Any) -> None:
        code = _text(self.cell(cells, "customer"))
        if code:
            row.customer = self.customers.get(code.lower())
            if row.customer is None:
                problem("customer", "unknown_customer", value=code)
        email = _text(self.cell(cells, "contact_email"))
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problem("contact_email", "bad_email", value=email)
            else:
                row.contact_email = email
                if row.customer is not None:
                    self._contact(row, email, problem)
        agent = _text(self.cell(cells, "agent"))
        if agent:
            row.agent = self._agent(agent)
            if row.agent is None:
                problem("agent", "unknown_agent", value=agent)

    def _contact(self, row: Row, email: str, problem: Any) -> None:
        people = list(User.objects.filter(email__iexact=email, role=Role.CUSTOMER))
        mine = [p for p in people if p.organisation_id == row.customer.pk]  # type: ignore[union-attr]
        if mine:
            row.contact = mine[0]
        elif people:
            problem("contact_email", "contact_elsewhere", value=email)
        elif not self.options.create_contacts:
            problem("contact_email", "unknown_contact", value=email, customer=str(row.customer))

    def _agent(self, name: str) -> User | None:
        if name not in self.people:
            staff = User.objects.filter(is_active=True).exclude(role=Role.CUSTOMER)
            self.people[name] = (
                staff.filter(username=name).first() or staff.filter(email__iexact=name).first()
            )
        return self.people[name]


# --- importing ---------------------------------------------------------------------------


def row_key(batch: CaseImport, row: Row) -> str:
    """The idempotency key of a row's case: its reference, or the file and row number."""
    if row.reference:
        return f"import:{row.reference}"[:100]
    return f"import:{batch.sha256[:20]}:{row.number}"


def import_row(
    row: Row, actor: User, batch: CaseImport, options: Options
) -> tuple[Case, list[Problem]]:
    """Replay one row's history through the desk, in one transaction; raises on refusal."""
    agent = row.agent or actor
    notices: list[Problem] = []
    with events.quiet(), sla.history(), acting_as(actor):
        contact = row.contact or (_new_contact(row) if row.contact_email else None)
        created = row.times["created"]
        case = desk.open_case(
            actor=None,
            organisation=row.customer,  # type: ignore[arg-type]
            case_type=row.case_type,
            subject=row.subject,
            channel=row.channel,
            description=row.description,
            priority=row.priority,
            contact=contact,
            at=created,
            idempotency_key=row_key(batch, row),
        )
        origin = _("Imported from %(file)s, row %(row)s.") % {
            "file": batch.file_name,
            "row": row.number,
        }
        if row.reference:
            origin += " " + _("Reference in the former help desk: %(reference)s.") % {
                "reference": row.reference
            }
        desk.add_note(actor=agent, case=case, body=origin, at=created)
        for name, moment in sorted(
            ((name, row.times[name]) for name in TIME_COLUMNS[1:] if name in row.times),
            key=lambda item: (item[1], TIME_COLUMNS.index(item[0])),
        ):
            case.refresh_from_db()
            notices += _step(name, moment, case, agent, row)
        if case.resolved_at is not None:
            _cancel_unmeasured(case, agent)
        sla.end_history(clocks_of(case).values())
    return case, notices


def _step(name: str, moment: datetime, case: Case, agent: User, row: Row) -> list[Problem]:
    if name == "first_response":
        desk.reply(actor=agent, case=case, body=_("First response (imported history)."), at=moment)
    elif name == "classified":
        desk.classify(
            actor=agent, case=case, case_type=case.case_type, priority=case.priority, at=moment
        )
    elif name == "resolved":
        desk.resolve(actor=agent, case=case, at=moment)
    elif name == "closed":
        if case.resolved_at is None:
            desk.resolve(actor=agent, case=case, at=moment)
        _cancel_unmeasured(case, agent)
        # Its breaches are history (sla.history), which needs no root-cause analysis here.
        desk.close(actor=agent, case=case, at=moment)
    return []


def _cancel_unmeasured(case: Case, agent: User) -> None:
    """Clocks the history has no instant for are cancelled as of the case's creation."""
    for clock in clocks_of(case).values():
        if clock.status in (ClockStatus.RUNNING, ClockStatus.PAUSED):
            sla.cancel(
                clock,
                case.created_at,
                actor=agent,
                reason=_("not in the imported history"),
                now=case.resolved_at,
            )


def _new_contact(row: Row) -> User:
    email = row.contact_email.lower()
    username = (
        email
        if not User.objects.filter(username=email).exists()
        else (f"{email.split('@')[0]}-{hashlib.sha256(email.encode()).hexdigest()[:8]}")
    )
    return core.create_person(
        actor=None,
        username=username[:150],
        role=Role.CUSTOMER,
        organisation=row.customer,  # type: ignore[arg-type]
        email=email,
        display_name=email.split("@")[0],
    )


# --- the batch ---------------------------------------------------------------------------


def previous_import(sha256: str, exclude: int | None = None) -> CaseImport | None:
    """An earlier upload of the same file that was imported (or is being imported)."""
    return (
        CaseImport.objects.filter(
            sha256=sha256,
            status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.DONE],
        )
        .exclude(pk=exclude)
        .order_by("-uploaded_at")
        .first()
    )


def upload(
    *, actor: User, name: str, content: bytes, options: Options, again: bool = False
) -> CaseImport:
    """Keep the file and check it; nothing else is written. Refuses a file imported before
    (same SHA-256) unless `again`."""
    if not can(actor, Action.IMPORT_CASES):
        raise PermissionDenied(_("You are not allowed to import cases."))
    if not content:
        raise ValidationError({"file": _("The file is empty.")})
    if len(content) > MAX_BYTES:
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": MAX_BYTES // 2**20}}
        )
    digest = hashlib.sha256(content).hexdigest()
    earlier = previous_import(digest)
    if earlier is not None and not again:
        raise ValidationError(
            {
                "file": _(
                    "This file was imported on %(at)s by %(person)s. Tick “import again” to run"
                    " it anyway; rows imported then are skipped."
                )
                % {
                    "at": timezone.localtime(earlier.uploaded_at).strftime("%Y-%m-%d %H:%M"),
                    "person": earlier.uploaded_by,
                }
            }
        )
    kind = file_format(name, content)
    checked = check(content, kind, options)
    with acting_as(actor):
        return CaseImport.objects.create(
            file_name=name[-255:],
            file_format=kind,
            sha256=digest,
            content=content,
            options={
                "time_zone": options.time_zone,
                "channel": options.channel,
                "create_contacts": options.create_contacts,
                "again": again,
            },
            uploaded_by=actor,
            rows=len(checked.rows),
            valid_rows=len(checked.valid),
            failed=len(checked.rows) - len(checked.valid),
            problems=[problem.as_dict() for problem in checked.problems],
        )


def start(*, actor: User, batch: CaseImport) -> CaseImport:
    """Hand a checked file to the worker, once."""
    if not can(actor, Action.IMPORT_CASES):
        raise PermissionDenied(_("You are not allowed to import cases."))
    earlier = previous_import(batch.sha256, exclude=batch.pk)
    if earlier is not None and not batch.options.get("again"):
        raise ValidationError(_("This file has been imported already."))
    if not batch.valid_rows:
        raise ValidationError(_("No row can be imported: correct the file and upload it again."))
    with transaction.atomic():
        claimed = CaseImport.objects.filter(pk=batch.pk, status=ImportStatus.CHECKED).update(
            status=ImportStatus.QUEUED
        )
        if not claimed:
            raise ValidationError(_("This file is being imported or was imported already."))
        from assura.connect.tasks import run_import

        transaction.on_commit(lambda: run_import.enqueue(batch.pk))
    batch.refresh_from_db()
    return batch


def run(batch_id: int) -> int:
    """Import the valid rows of a queued file; returns how many cases were created."""
    if not CaseImport.objects.filter(pk=batch_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    ):
        return 0  # another worker has it, or it ran already
    batch = CaseImport.objects.select_related("uploaded_by").get(pk=batch_id)
    actor = batch.uploaded_by
    language = actor.language or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            progress = _run_rows(batch, actor)
    except Exception as error:
        log.exception("case import %s stopped", batch.pk)
        CaseImport.objects.filter(pk=batch.pk).update(
            status=ImportStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    CaseImport.objects.filter(pk=batch.pk).update(
        status=ImportStatus.DONE, finished_at=timezone.now(), **progress.fields()
    )
    return progress.imported


@dataclass
class _Progress:
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "skipped": self.skipped,
            "failed": self.failed,
            "problems": self.problems,
            "references": self.references,
        }


def _run_rows(batch: CaseImport, actor: User) -> _Progress:
    options = Options.of(batch.options)
    checked = check(bytes(batch.content), batch.file_format, options)
    progress = _Progress(problems=[problem.as_dict() for problem in checked.problems])
    progress.failed = len(checked.rows) - len(checked.valid)
    for done, row in enumerate(checked.valid, start=1):
        _import_one(row, actor, batch, options, progress)
        if done % PROGRESS_EVERY == 0:
            CaseImport.objects.filter(pk=batch.pk).update(**progress.fields())
    progress.problems.sort(key=lambda problem: (problem["row"], problem["column"]))
    return progress


def _import_one(
    row: Row,
    actor: User,
    batch: CaseImport,
    options: Options,
    progress: _Progress,
) -> None:
    existing = Case.objects.filter(idempotency_key=row_key(batch, row)).first()
    if existing is not None:
        progress.skipped += 1
        progress.problems.append(
            Problem(row.number, "", "already_imported", {"reference": existing.reference}).as_dict()
        )
        return
    try:
        case, notices = import_row(row, actor, batch, options)
    except (ValidationError, PermissionDenied) as error:
        progress.failed += 1
        texts = error.messages if isinstance(error, ValidationError) else [str(error)]
        progress.problems += [
            Problem(row.number, "", "service", {"text": text}).as_dict() for text in texts
        ]
        return
    progress.imported += 1
    progress.references.append(case.reference)
    progress.problems += [notice.as_dict() for notice in notices]


# --- the error report --------------------------------------------------------------------


def report_csv(batch: CaseImport) -> str:
    """Row, column, message and result of every problem, in the active language.

    Starts with a byte-order mark so spreadsheet programs read the Chinese correctly.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Row"), _("Column"), _("Message"), _("Result")])
    for problem in batch.problems:
        result = _("skipped") if problem["code"] == "already_imported" else _("not imported")
        writer.writerow([problem["row"] or "", problem["column"], message_of(problem), result])
    return "\ufeff" + buffer.getvalue()
