"""Benchmark the desk's pages with the demo data ×100: the agents' queue and the case page.

The script builds its own database: the normal demo (`assura demo`'s `load_demo`, about
640 cases worked through the real services, over the 90 days before a fixed instant,
`--demo-end`, so every run builds the same cases), then 99 copies of the demo's cases with
bulk_create, so about 64,000 cases in all with their SLA clocks, clock events, warnings,
breaches, root-cause analyses, escalations, breach notices, compensation entries,
messages, attachments and activities. Each copy gets new references and is moved back
in time:

* a closed case (and everything on it) by k whole weeks for copy k (1-99), so weekday
  and time of day stay as the demo drew them and the history spans about two years;
* a case still being worked (not closed, or with a running or paused clock) by k × 5
  minutes only, so the open backlog stays current: ×100 the demo's open cases, in the
  same people's queues.

Clocks keep every stored column shifted together (due, warning, breach instants,
`next_check_at`), so they stay what the events say. A copied running clock whose
warning or breach instant the shift moved into the past is then recorded by the real
watcher (`sla.watcher.record_due`, as after a watcher outage; the breach follow-up
handlers are not run), which leaves no clock with a passed `next_check_at`. One more case
gets a long timeline through the real services (40 rounds of customer message, reply,
internal note and status change, some messages with a file). PostgreSQL is then
analysed, as autovacuum would do shortly after such a load; SQLite is left without
statistics, as a production file is (assura never runs ANALYZE).

The pages are timed in this process through Django's test `Client` (the whole
middleware stack, a real session cookie, template rendering; no HTTP server and no
network), signed in as an agent of the frontline team (`agent1`), as the service manager
(`manager`) and, for the portal, as a customer contact (`ecm-zhang`). Each page is
requested `--warmup` times, then `--runs` times timed; one more request counts its SQL
queries. Figures: p50, p95 and max wall time per request in ms.

Usage (the SQLite database is a fresh temporary folder unless --data-dir is given):
    .venv/bin/python bench/bench_pages.py
    .venv/bin/python bench/bench_pages.py --data-dir /tmp/pages --keep    # build and keep
    .venv/bin/python bench/bench_pages.py --data-dir /tmp/pages --reuse   # time again
    scripts/with-postgres .venv/bin/python bench/bench_pages.py --db postgres
    .venv/bin/python bench/bench_pages.py --db postgres \\
        --database-url postgres://user:pw@127.0.0.1:5432/assura_bench_pages --keep

For PostgreSQL without --database-url, the database `assura_bench_pages` is created
next to DATABASE_URL's (its role must be allowed to create databases) and dropped at
the end unless --keep. --profile adds the 25 most expensive functions (cProfile) of one
request per page; --sql lists each page's queries with their time.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import io
import math
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import machine  # bench/machine.py, beside this script

PG_DATABASE = "assura_bench_pages"
COPIES = 100
#: A case still being worked moves back this much more in each copy.
LIVE_STEP = timedelta(minutes=5)
#: A closed case moves back this much more in each copy.
CLOSED_STEP = timedelta(weeks=1)
LONG_ROUNDS = 40
#: The demo's "now": its cases are drawn over the 90 days before (a Tuesday afternoon).
#: Fixed, so every run builds the same cases; `assura demo` itself uses the hour it runs.
DEMO_END = "2026-11-24T14:00:00+08:00"


def configure(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the flags and point Django at the chosen database before it starts."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--database-url",
        default="",
        help=f"PostgreSQL database to fill (default: {PG_DATABASE} beside DATABASE_URL's)",
    )
    parser.add_argument("--data-dir", default="", help="folder for the SQLite file and files")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time a database built before")
    parser.add_argument("--copies", type=int, default=COPIES, help="the demo's cases × this")
    parser.add_argument(
        "--demo-end",
        type=datetime.fromisoformat,
        default=datetime.fromisoformat(DEMO_END),
        help=f"the instant the demo's 90 days of cases end (default {DEMO_END})",
    )
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--only", default="", help="time only the pages whose name has this")
    parser.add_argument("--profile", action="store_true", help="cProfile one request per page")
    parser.add_argument("--sql", action="store_true", help="list each page's queries")
    options = parser.parse_args(argv)

    os.environ["DJANGO_SETTINGS_MODULE"] = "assura.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.pop("DEBUG", None)
    # No collectstatic here: static URLs are plain (the manifest's lookup is a dict get).
    os.environ["ASSURA_PLAIN_STATIC"] = "1"
    # The data folder holds the secret key, the attachments and (SQLite) the database. A
    # temporary one is removed at the end, unless it holds a SQLite database to --keep.
    folder = options.data_dir or tempfile.mkdtemp(prefix="assura-bench-pages-")
    os.makedirs(folder, exist_ok=True)
    if not options.data_dir:
        if options.keep and options.db == "sqlite":
            print(f"data folder kept for --reuse: --data-dir {folder}")
        else:
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["ASSURA_DATA_DIR"] = folder
    if options.db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    else:
        if not options.database_url:
            admin = os.environ.get("DATABASE_URL", "")
            if not admin.startswith("postgres"):
                sys.exit("--db postgres needs --database-url or a postgres:// DATABASE_URL")
            options.database_url = _with_database(admin, PG_DATABASE)
            _create_database(admin, PG_DATABASE, options.reuse)
            if not options.keep:
                atexit.register(_drop_database, admin, PG_DATABASE)
        os.environ["DATABASE_URL"] = options.database_url
    return options


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin_sql(admin_url: str, statement: str) -> None:
    import psycopg

    with closing(psycopg.connect(admin_url, autocommit=True)) as connection:
        connection.execute(statement)


def _create_database(admin_url: str, name: str, reuse: bool) -> None:
    """A fresh database `name`; with `reuse`, the one left by an earlier --keep run."""
    import psycopg

    with closing(psycopg.connect(admin_url, autocommit=True)) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists and reuse:
            return
        if exists:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")


def _drop_database(admin_url: str, name: str) -> None:
    from django.db import connections

    connections.close_all()
    with suppress(Exception):
        _admin_sql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the data -----------------------------------------------------------------------------


@dataclass
class Demo:
    """The demo's cases and everything on them, read once, copied per copy."""

    cases: list[Any]
    live: set[int]
    clocks: list[Any]
    events: list[Any]
    warnings: list[Any]
    breaches: list[Any]
    analyses: list[Any]
    escalations: list[Any]
    notices: list[Any]
    revisions: list[Any]
    compensation: list[Any]
    messages: list[Any]
    attachments: list[Any]
    activities: list[Any]


def read_demo() -> Demo:
    from assura.desk.models import Activity, Attachment, Case, Message
    from assura.sla.models import (
        OPEN_STATUSES,
        Breach,
        BreachNotice,
        BreachNoticeRevision,
        Clock,
        ClockEvent,
        ClockWarning,
        CompensationEntry,
        Escalation,
        RootCauseAnalysis,
    )

    cases = list(Case.objects.order_by("pk"))
    clocks = list(
        Clock.objects.filter(subject_type__app_label="desk", subject_type__model="case").order_by(
            "pk"
        )
    )
    clock_ids = [clock.pk for clock in clocks]
    breaches = list(Breach.objects.filter(clock_id__in=clock_ids).order_by("pk"))
    breach_ids = [breach.pk for breach in breaches]
    notices = list(BreachNotice.objects.filter(breach_id__in=breach_ids).order_by("pk"))
    messages = list(Message.objects.order_by("pk"))
    live = {case.pk for case in cases if case.status != "closed"}
    live |= {clock.subject_id for clock in clocks if clock.status in OPEN_STATUSES}
    return Demo(
        cases=cases,
        live=live,
        clocks=clocks,
        events=list(ClockEvent.objects.filter(clock_id__in=clock_ids).order_by("pk")),
        warnings=list(ClockWarning.objects.filter(clock_id__in=clock_ids).order_by("pk")),
        breaches=breaches,
        analyses=list(RootCauseAnalysis.objects.filter(breach_id__in=breach_ids).order_by("pk")),
        escalations=list(Escalation.objects.filter(clock_id__in=clock_ids).order_by("pk")),
        notices=notices,
        revisions=list(
            BreachNoticeRevision.objects.filter(notice__in=[n.pk for n in notices]).order_by("pk")
        ),
        compensation=list(
            CompensationEntry.objects.filter(breach_id__in=breach_ids).order_by("pk")
        ),
        messages=messages,
        attachments=list(Attachment.objects.order_by("pk")),
        activities=list(Activity.objects.order_by("pk")),
    )


class Cloner:
    """Copies rows of one model with their instants moved: every DateTimeField shifts.

    Fields written by `auto_now`/`auto_now_add` are set again by bulk_create (as the
    demo's own rows got the instant they were written).
    """

    def __init__(self, model: type[Any]) -> None:
        from django.db import models

        self.model = model
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        self.names = [field.attname for field in fields]
        self.instants = {
            field.attname for field in fields if isinstance(field, models.DateTimeField)
        }

    def __call__(self, row: Any, delta: timedelta, **changes: Any) -> Any:
        values = {}
        for name in self.names:
            value = getattr(row, name)
            if value is not None and name in self.instants:
                value = value + delta
            values[name] = value
        values.update(changes)
        return self.model(**values)


def references(demo: Demo, copies: int) -> dict[tuple[int, int], str]:
    """New references per (copy, demo case id), numbered per year in order of creation."""
    from assura.desk.models import ReferenceCounter

    last = dict(ReferenceCounter.objects.values_list("year", "last"))
    created = []
    for copy in range(1, copies):
        for case in demo.cases:
            delta = shift(demo, case.pk, copy)
            created.append((case.created_at - delta, copy, case.pk))
    created.sort()
    found = {}
    for instant, copy, case_id in created:
        year = instant.year
        last[year] = last.get(year, 0) + 1
        found[(copy, case_id)] = f"C-{year}-{last[year]:06d}"
    for year, number in last.items():
        ReferenceCounter.objects.update_or_create(year=year, defaults={"last": number})
    return found


def shift(demo: Demo, case_id: int, copy: int) -> timedelta:
    return (LIVE_STEP if case_id in demo.live else CLOSED_STEP) * copy


def write_copy(demo: Demo, copy: int, names: dict[tuple[int, int], str], cloners: Any) -> int:
    """One copy of the demo's cases and everything on them, in one transaction."""
    from django.db import transaction

    from assura.desk.models import Case

    def back(case_id: int) -> timedelta:
        return -shift(demo, case_id, copy)

    with transaction.atomic():
        cases = cloners.case.model.objects.bulk_create(
            cloners.case(
                case,
                back(case.pk),
                reference=names[(copy, case.pk)],
                idempotency_key=None,
                merged_into_id=None,
            )
            for case in demo.cases
        )
        case_map = {old.pk: new.pk for old, new in zip(demo.cases, cases, strict=True)}
        merged = [
            Case(pk=case_map[old.pk], merged_into_id=case_map[old.merged_into_id])
            for old in demo.cases
            if old.merged_into_id in case_map
        ]
        if merged:
            Case.objects.bulk_update(merged, ["merged_into_id"])

        clocks = _bulk(
            cloners.clock,
            demo.clocks,
            lambda c: (back(c.subject_id), {"subject_id": case_map[c.subject_id]}),
        )
        clock_case = {clock.pk: clock.subject_id for clock in demo.clocks}
        clock_map = {old.pk: new.pk for old, new in zip(demo.clocks, clocks, strict=True)}

        def on_clock(row: Any) -> tuple[timedelta, dict[str, Any]]:
            return back(clock_case[row.clock_id]), {"clock_id": clock_map[row.clock_id]}

        _bulk(cloners.event, demo.events, on_clock)
        _bulk(cloners.warning, demo.warnings, on_clock)
        _bulk(cloners.escalation, demo.escalations, on_clock)
        breaches = _bulk(cloners.breach, demo.breaches, on_clock)
        breach_case = {b.pk: clock_case[b.clock_id] for b in demo.breaches}
        breach_map = {old.pk: new.pk for old, new in zip(demo.breaches, breaches, strict=True)}

        def on_breach(row: Any) -> tuple[timedelta, dict[str, Any]]:
            return back(breach_case[row.breach_id]), {"breach_id": breach_map[row.breach_id]}

        _bulk(cloners.analysis, demo.analyses, on_breach)
        notices = _bulk(cloners.notice, demo.notices, on_breach)
        notice_case = {n.pk: breach_case[n.breach_id] for n in demo.notices}
        notice_map = {old.pk: new.pk for old, new in zip(demo.notices, notices, strict=True)}
        _bulk(
            cloners.revision,
            demo.revisions,
            lambda r: (back(notice_case[r.notice_id]), {"notice_id": notice_map[r.notice_id]}),
        )

        def on_compensation(row: Any) -> tuple[timedelta, dict[str, Any]]:
            delta, changes = on_breach(row)
            changes["month"] = (row.month + timedelta(days=14) + delta).replace(day=1)
            return delta, changes

        _bulk(cloners.compensation, demo.compensation, on_compensation)

        messages = _bulk(
            cloners.message,
            demo.messages,
            lambda m: (back(m.case_id), {"case_id": case_map[m.case_id]}),
        )
        message_case = {m.pk: m.case_id for m in demo.messages}
        message_map = {old.pk: new.pk for old, new in zip(demo.messages, messages, strict=True)}
        _bulk(
            cloners.attachment,
            demo.attachments,
            lambda a: (back(message_case[a.message_id]), {"message_id": message_map[a.message_id]}),
        )
        _bulk(
            cloners.activity,
            demo.activities,
            lambda a: (back(a.case_id), {"case_id": case_map[a.case_id]}),
        )
    return len(cases)


def _bulk(
    cloner: Cloner,
    rows: Iterable[Any],
    how: Callable[[Any], tuple[timedelta, dict[str, Any]]],
) -> list[Any]:
    made = []
    for row in rows:
        delta, changes = how(row)
        made.append(cloner(row, delta, **changes))
    return list(cloner.model.objects.bulk_create(made, batch_size=2_000))


@dataclass
class Cloners:
    case: Cloner
    clock: Cloner
    event: Cloner
    warning: Cloner
    breach: Cloner
    analysis: Cloner
    escalation: Cloner
    notice: Cloner
    revision: Cloner
    compensation: Cloner
    message: Cloner
    attachment: Cloner
    activity: Cloner


def cloners() -> Cloners:
    from assura.desk.models import Activity, Attachment, Case, Message
    from assura.sla.models import (
        Breach,
        BreachNotice,
        BreachNoticeRevision,
        Clock,
        ClockEvent,
        ClockWarning,
        CompensationEntry,
        Escalation,
        RootCauseAnalysis,
    )

    return Cloners(
        case=Cloner(Case),
        clock=Cloner(Clock),
        event=Cloner(ClockEvent),
        warning=Cloner(ClockWarning),
        breach=Cloner(Breach),
        analysis=Cloner(RootCauseAnalysis),
        escalation=Cloner(Escalation),
        notice=Cloner(BreachNotice),
        revision=Cloner(BreachNoticeRevision),
        compensation=Cloner(CompensationEntry),
        message=Cloner(Message),
        attachment=Cloner(Attachment),
        activity=Cloner(Activity),
    )


def long_case(end: datetime) -> str:
    """A case worked back and forth for days through the real services: a long timeline."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from assura.core.models import Organisation, Team, User
    from assura.desk import services as desk

    contact = User.objects.get(username="ecm-zhang")
    agent = User.objects.get(username="agent1")
    start = end - timedelta(days=4)
    case = desk.open_case(
        actor=contact,
        organisation=Organisation.objects.get(code="ECM"),
        case_type="fault",
        subject="ERP 登录报 500 错误 (long thread)",
        description="演示工单 demo case with a long timeline",
        channel="portal",
        team=Team.objects.get(code="frontline"),
        at=start,
    )
    for number in range(LONG_ROUNDS):
        instant = start + timedelta(minutes=90 * number + 5)
        files = [SimpleUploadedFile(f"log-{number}.txt", b"trace\n" * 50)] if number % 4 else []
        desk.reply(
            actor=contact,
            case=case,
            body=f"还是不行，第 {number} 次尝试",
            attachments=files,
            at=instant,
        )
        desk.reply(
            actor=agent,
            case=case,
            body=f"请再试一次，步骤 {number}",
            at=instant + timedelta(minutes=5),
        )
        desk.add_note(
            actor=agent, case=case, body=f"内部记录 {number}", at=instant + timedelta(minutes=6)
        )
        desk.change_status(
            actor=agent,
            case=case,
            status="waiting_customer" if number % 2 == 0 else "open",
            at=instant + timedelta(minutes=7),
        )
    return str(case.reference)


def catch_up_watcher() -> tuple[int, int]:
    """Record the warnings and breaches the shift moved into the past, as the watcher would."""
    from django.utils import timezone

    from assura.sla.services import breaches_recorded, warnings_recorded
    from assura.sla.watcher import record_due

    saved = [(s, list(s.receivers)) for s in (breaches_recorded, warnings_recorded)]
    for signal, _receivers in saved:
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()
    warnings = breaches = 0
    try:
        while True:
            done = record_due(timezone.now())
            warnings, breaches = warnings + done.warnings, breaches + done.breaches
            if done.warnings + done.breaches == 0:
                break
    finally:
        for signal, receivers in saved:
            signal.receivers[:] = receivers
            signal.sender_receivers_cache.clear()
    return warnings, breaches


def build(options: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from assura.desk import demo as desk_demo
    from assura.desk.models import Case

    if Case.objects.exists():
        sys.exit("the database already holds cases: give an empty one, or --reuse it")
    began = started = time.perf_counter()
    # The desk's demo draws its cases over the 90 days before this instant.
    end = SimpleNamespace(localtime=lambda: timezone.localtime(options.demo_end))
    with mock.patch.object(desk_demo, "timezone", end):
        call_command("load_demo", stdout=io.StringIO())
    print(f"demo loaded: {Case.objects.count():,} cases in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    demo = read_demo()
    names = references(demo, options.copies)
    made = cloners()
    written = 0
    for copy in range(1, options.copies):
        written += write_copy(demo, copy, names, made)
        if copy % 10 == 0:
            print(f"  copy {copy}: {written:,} cases written", flush=True)
    print(
        f"copied ×{options.copies}: {written:,} more cases "
        f"({len(demo.live)} of the demo's {len(demo.cases)} still worked) "
        f"in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    reference = long_case(options.demo_end)
    print(
        f"long case {reference} worked through the services in "
        f"{time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    warnings, breaches = catch_up_watcher()
    print(
        f"watcher caught up: {warnings:,} warnings, {breaches:,} breaches recorded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    if connection.vendor == "postgresql":
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"ANALYZE in {time.perf_counter() - started:.1f} s")
    print(f"generation: {time.perf_counter() - began:.0f} s in all")


def census() -> None:
    from django.db.models import Count
    from django.utils import timezone

    from assura.desk.models import ACTIVE_STATUSES, Activity, Case, Message
    from assura.sla.models import Breach, Clock, ClockEvent, ClockStatus, Escalation

    cases = Case.objects.count()
    active = Case.objects.filter(status__in=ACTIVE_STATUSES).count()
    running = Clock.objects.filter(status=ClockStatus.RUNNING).count()
    print(
        f"rows: {cases:,} cases ({active:,} open), {Message.objects.count():,} messages, "
        f"{Activity.objects.count():,} activities, {Clock.objects.count():,} clocks "
        f"({running:,} running), {ClockEvent.objects.count():,} clock events, "
        f"{Breach.objects.count():,} breaches"
    )
    per_team = (
        Case.objects.filter(status__in=ACTIVE_STATUSES)
        .values("team__code")
        .annotate(n=Count("pk"))
        .order_by("team__code")
    )
    print("open cases per team: " + ", ".join(f"{r['team__code']} {r['n']:,}" for r in per_team))
    now = timezone.now()
    stale = Clock.objects.filter(next_check_at__lte=now).count()
    escalations = Escalation.objects.filter(fired_at__isnull=True, due_at__lte=now).count()
    print(
        f"clocks with a passed next check: {stale}; escalation levels due, not fired "
        f"(the worker is not running): {escalations:,}"
    )


# --- the pages ---------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    who: str
    url: str
    note: str = ""


def pages() -> list[Page]:
    from django.db.models import Count
    from django.urls import reverse

    from assura.desk.models import Case, Status

    cases = reverse("desk:cases")
    long = Case.objects.annotate(n=Count("messages")).order_by("-n", "pk").first()
    assert long is not None
    # A typical case: a closed one a year back, and one being worked now.
    old = Case.objects.filter(status=Status.CLOSED).order_by("created_at")
    typical_closed = old[old.count() // 2]
    typical_open = Case.objects.filter(status=Status.OPEN).order_by("-created_at")[20]
    closed_ref = typical_closed.reference
    number = int(closed_ref.rsplit("-", 1)[1])
    found: list[Page] = []
    for who in ("agent1", "manager"):
        found += [
            Page("queue: default view", who, cases),
            Page("queue: all", who, f"{cases}?scope=all"),
            Page("queue: all, at risk", who, f"{cases}?scope=all&sla=at_risk"),
            Page(
                "queue: all, complaints, any status",
                who,
                f"{cases}?scope=all&status=any&case_type=complaint",
            ),
            Page("queue: all, any status", who, f"{cases}?scope=all&status=any"),
            Page("queue: text search", who, f"{cases}?scope=all&q=ERP"),
            Page("queue: text search, any status", who, f"{cases}?scope=all&status=any&q=ERP"),
            Page("queue: reference search", who, f"{cases}?scope=all&status=any&q={closed_ref}"),
            Page("queue: number search", who, f"{cases}?scope=all&status=any&q={number}"),
            Page("queue: page 20", who, f"{cases}?scope=all&status=any&page=20"),
            Page("case: long timeline", who, reverse("desk:case", args=[long.reference])),
            Page("case: typical, open", who, reverse("desk:case", args=[typical_open.reference])),
            Page("case: typical, closed", who, reverse("desk:case", args=[closed_ref])),
        ]
    contact = "ecm-zhang"
    own = Case.objects.filter(organisation__code="ECM")
    long_own = own.annotate(n=Count("messages")).order_by("-n", "pk").first()
    assert long_own is not None
    found += [
        Page("portal: list", contact, reverse("desk:portal")),
        Page("portal: page 20", contact, reverse("desk:portal") + "?page=20"),
        Page("portal: long case", contact, reverse("desk:portal_case", args=[long_own.reference])),
    ]
    return found


@dataclass
class Figures:
    page: Page
    status: int
    size: int
    times: list[float]
    queries: int
    sql: list[tuple[str, str]]

    def percentile(self, share: float) -> float:
        """Nearest rank, in ms: the smallest time that `share` of the requests do not exceed."""
        ordered = sorted(self.times)
        return ordered[max(1, math.ceil(len(ordered) * share)) - 1] * 1000


def measure(client: Any, page: Page, options: argparse.Namespace) -> Figures:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = None
    for _ in range(options.warmup):
        response = client.get(page.url)
    times = []
    for _ in range(options.runs):
        started = time.perf_counter()
        response = client.get(page.url)
        times.append(time.perf_counter() - started)
    assert response is not None
    with CaptureQueriesContext(connection) as captured:
        client.get(page.url)
    sql = [(query["time"], query["sql"]) for query in captured.captured_queries]
    if options.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        client.get(page.url)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(f"\n--- profile: {page.name} as {page.who}\n{out.getvalue()}")
    return Figures(page, response.status_code, len(response.content), times, len(sql), sql)


def run_pages(options: argparse.Namespace) -> list[Figures]:
    from django.test import Client

    from assura.core.models import User

    figures = []
    clients: dict[str, Any] = {}
    for page in pages():
        if options.only and options.only not in page.name:
            continue
        if page.who not in clients:
            client = Client(SERVER_NAME="localhost", headers={"accept-language": "zh-hans"})
            client.force_login(User.objects.get(username=page.who))
            clients[page.who] = client
        result = measure(clients[page.who], page, options)
        figures.append(result)
        print(
            f"  {page.name:<38} {page.who:<9} {result.status} "
            f"p50 {result.percentile(0.5):6.1f} ms  p95 {result.percentile(0.95):6.1f} ms  "
            f"max {max(result.times) * 1000:6.1f} ms  {result.queries:3} queries  "
            f"{result.size / 1024:5.0f} KB  (load {machine.load_average()})",
            flush=True,
        )
        if options.sql:
            for spent, statement in result.sql:
                print(f"      {float(spent) * 1000:7.1f} ms  {statement[:300]}")
    return figures


def print_table(figures: list[Figures]) -> None:
    print()
    print("| page | as | p50 | p95 | max | queries | status |")
    print("|---|---|---|---|---|---|---|")
    for result in figures:
        print(
            f"| {result.page.name} | {result.page.who} | {result.percentile(0.5):.0f} ms | "
            f"{result.percentile(0.95):.0f} ms | {max(result.times) * 1000:.0f} ms | "
            f"{result.queries} | {result.status} |"
        )
    slow = [r for r in figures if r.percentile(0.5) > 300]
    repeated = [
        (r.page.name, r.page.who, count)
        for r in figures
        for count in [Counter(_shape(sql) for _t, sql in r.sql).most_common(1)[0][1]]
        if count > 2
    ]
    print(f"\npages over 300 ms (p50): {len(slow)}")
    for name, who, count in repeated:
        print(f"  {name} as {who}: one statement repeated {count} times (N+1?)")


def _shape(statement: str) -> str:
    """A statement with its literals blurred, to spot the same query run once per row."""
    import re

    return re.sub(r"\b\d+\b|'[^']*'", "?", statement)


def main(argv: Sequence[str] | None = None) -> None:
    options = configure(argv)
    import django
    from django.core.management import call_command

    django.setup()
    for line in machine.lines("Django", database=machine.django_database("WAL")):
        print(line)
    print(f"load average at start: {machine.load_average()}")
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")
    from assura.desk.models import Case

    if options.reuse and Case.objects.exists():
        print("reusing the database built before")
    else:
        build(options)
    census()
    print(
        f"\ntiming in process through django.test.Client: {options.warmup} warm-up, "
        f"{options.runs} timed requests per page"
    )
    figures = run_pages(options)
    print_table(figures)
    print(f"load average at end: {machine.load_average()}")


if __name__ == "__main__":
    main()
