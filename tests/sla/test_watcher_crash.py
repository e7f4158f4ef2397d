"""Exactly once across processes: a worker killed mid-way, a restart, two workers at once.

The watcher promises one warning and one breach per clock whatever the number of
workers, restarts or retries. Threads in one process cannot show a crash, so these tests
run the real `assura worker` command, kill it with SIGKILL (no handler, no clean-up: the
database alone discards its open transaction) and start others on the same database.

On PostgreSQL the workers connect to pytest-django's test database by name. On SQLite
the test database lives in memory, where no other process can reach it, so it is copied
to a file with SQLite's backup API before the workers start and copied back before the
assertions; the workers use the file exactly as an installation does (WAL, IMMEDIATE
transactions).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import F
from django.utils import timezone

from assura.calendars.models import CalendarVersion
from assura.core.models import Organisation
from assura.sla.models import Breach, Clock, ClockEvent, ClockStatus, ClockWarning, EventKind
from assura.sla.services import next_check
from assura.sla.watcher import BATCH
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
HOUR = timedelta(hours=1)
# One and a half of the watcher's batches: a kill after the first commit leaves some
# clocks recorded and some not.
CLOCKS = BATCH * 3 // 2
# The instant columns, in the order of `MOVE_CLOCKS`.
INSTANTS = ("started_at", "due_at", "warning_at", "breaches_at", "next_check_at", "computed_at")
MOVE_CLOCKS = (
    "UPDATE sla_clock SET started_at = ?, due_at = ?, warning_at = ?, breaches_at = ?,"
    " next_check_at = ?, computed_at = ?"
)
MOVE_EVENTS = "UPDATE sla_clockevent SET at = ?"


class SharedDatabase:
    """The test database as another process reaches it."""

    def __init__(self, folder: Path) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.file = folder / "shared.sqlite3"

    def url(self) -> str:
        if self.sqlite:
            return f"sqlite:///{self.file}"
        settings = connection.settings_dict
        user = quote(str(settings["USER"] or ""), safe="")
        password = quote(str(settings["PASSWORD"] or ""), safe="")
        credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
        port = f":{settings['PORT']}" if settings["PORT"] else ""
        return f"postgres://{credentials}{settings['HOST']}{port}/{settings['NAME']}"

    def publish(self) -> None:
        """Make what the test wrote visible to the workers (SQLite: copy it to the file)."""
        if self.sqlite:
            connection.ensure_connection()
            with closing(sqlite3.connect(self.file)) as target:
                connection.connection.backup(target)

    def collect(self) -> None:
        """Make what the workers wrote visible to the test (SQLite: copy it back)."""
        if self.sqlite:
            with closing(sqlite3.connect(self.file)) as source:
                source.backup(connection.connection)

    def move_clocks(self, instants: dict[str, datetime]) -> None:
        """Give every clock these instants (and its start event) while the workers run.

        On SQLite this writes to the file the workers use; the test's own copy is not theirs.
        """
        if not self.sqlite:
            Clock.objects.update(**instants)
            ClockEvent.objects.update(at=instants["started_at"])
            return
        adapt = connection.ops.adapt_datetimefield_value
        with closing(sqlite3.connect(self.file, timeout=20)) as db, db:
            db.execute(MOVE_CLOCKS, [adapt(instants[name]) for name in INSTANTS])
            db.execute(MOVE_EVENTS, [adapt(instants["started_at"])])

    def breaches(self) -> int:
        """Breaches committed so far, read while the workers run."""
        if not self.sqlite:
            return Breach.objects.count()
        with closing(sqlite3.connect(self.file, timeout=20)) as db:
            (count,) = db.execute("SELECT count(*) FROM sla_breach").fetchone()
            return int(count)


class WorkerProcess:
    """One `assura worker` process, its output kept in a file for failure messages."""

    def __init__(self, name: str, database: SharedDatabase, folder: Path) -> None:
        self.name = name
        self.log = folder / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database.url(),
            "ASSURA_DATA_DIR": str(folder / "data"),
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "assura.cli", "worker", "--id", name],
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def started(self) -> bool:
        return "started with timers" in self.output()

    def kill(self) -> None:
        """SIGKILL: no signal handler and no `finally` run; the OS just ends the process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def kill_all(workers: list[WorkerProcess]) -> None:
    """Once every breach is in, the workers are killed rather than stopped.

    A clean stop waits for the round to end, and the breach handling after a burst of
    thousands can make that several seconds. Killing costs nothing, and it is one more
    crash: whatever a worker was doing then must not undo what was recorded.
    """
    for worker in workers:
        if worker.process.poll() is None:
            worker.kill()


@pytest.fixture
def shared(tmp_path: Path) -> SharedDatabase:
    return SharedDatabase(tmp_path)


@pytest.fixture
def start_worker(
    transactional_db: None, shared: SharedDatabase, tmp_path: Path
) -> Iterator[Callable[[str], WorkerProcess]]:
    """Starts workers; any still alive at the end is killed before the database is flushed.

    Requesting `transactional_db` sets this fixture up after it, so it is torn down first:
    a worker left running would otherwise hold a connection to a database being emptied.
    """
    workers: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        worker = WorkerProcess(name, shared, tmp_path)
        workers.append(worker)
        return worker

    yield start
    kill_all(workers)


def wait_until(
    condition: Callable[[], bool], what: str, workers: list[WorkerProcess], timeout: float = 20
) -> None:
    """Poll every 10 ms; fail with the workers' output if one dies or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(
                    f"worker {worker.name} ended while waiting for {what}:\n{worker.output()}"
                )
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.name}\n{w.output()}" for w in workers)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.01)


def instants(breaches_at: datetime, warning_fraction: float) -> dict[str, datetime]:
    """A one-hour clock breaching at `breaches_at`, as `recompute` stores it at its start.

    Nobody has looked at it since it started, so neither the warning nor the breach is
    recorded, and `next_check` (the service's own function) names the warning instant.
    """
    started_at = breaches_at - HOUR
    columns = {
        "started_at": started_at,
        "due_at": breaches_at,
        "warning_at": started_at + HOUR * warning_fraction,
        "breaches_at": breaches_at,
        "computed_at": started_at,
    }
    check = next_check(Clock(status=ClockStatus.RUNNING, **columns))
    assert check is not None
    return {**columns, "next_check_at": check}


def due_clocks(
    version: CalendarVersion, count: int, breaches_at: datetime, warning_fraction: float
) -> list[int]:
    """`count` running clocks on the 24×7 calendar, each with its start event.

    Written in bulk: creating thousands through `start_clock` would take minutes, and the
    workers only read the stored columns, which `instants` sets as a recompute would.
    """
    subject = CustomerFactory()
    subject_type = ContentType.objects.get_for_model(Organisation)
    columns = instants(breaches_at, warning_fraction)
    clocks = Clock.objects.bulk_create(
        (
            Clock(
                subject_type=subject_type,
                subject_id=subject.pk,
                metric=f"m{number}",
                organisation=subject,
                calendar_version=version,
                status=ClockStatus.RUNNING,
                target=HOUR,
                warning_fraction=warning_fraction,
                **columns,
            )
            for number in range(count)
        ),
        batch_size=2_000,
    )
    ClockEvent.objects.bulk_create(
        (
            ClockEvent(
                clock=clock,
                seq=1,
                kind=EventKind.START,
                at=columns["started_at"],
                target=HOUR,
                warning_fraction=warning_fraction,
                calendar_version=version,
            )
            for clock in clocks
        ),
        batch_size=2_000,
    )
    return [clock.pk for clock in clocks]


def assert_recorded_exactly_once(ids: list[int]) -> None:
    """One breach and one warning per clock, at the clock's own instants; nothing pending."""
    breached = list(Breach.objects.values_list("clock_id", flat=True))
    warned = list(ClockWarning.objects.values_list("clock_id", flat=True))
    assert len(breached) == len(set(breached)) == len(ids)
    assert set(breached) == set(ids)
    assert len(warned) == len(set(warned)) == len(ids)
    assert set(warned) == set(ids)
    clocks = Clock.objects.filter(pk__in=ids)
    assert not Breach.objects.exclude(breached_at=F("clock__breaches_at")).exists()
    assert not clocks.filter(breached_at__isnull=True).exists()
    assert not clocks.filter(warned_at__isnull=True).exists()
    assert not Clock.objects.filter(next_check_at__lte=timezone.now()).exists()
    assert not clocks.filter(next_check_at__isnull=False).exists()


def test_a_worker_killed_mid_way_leaves_nothing_lost_or_doubled_for_the_next(
    always_v: CalendarVersion,
    shared: SharedDatabase,
    start_worker: Callable[[str], WorkerProcess],
) -> None:
    ids = due_clocks(always_v, CLOCKS, timezone.now() - HOUR, warning_fraction=0.75)
    shared.publish()

    first = start_worker("first")
    wait_until(lambda: shared.breaches() > 0, "the first batch", [first])
    first.kill()
    recorded_when_killed = shared.breaches()
    assert 0 < recorded_when_killed < CLOCKS, "the kill must leave some clocks unrecorded"

    second = start_worker("second")
    wait_until(lambda: shared.breaches() == CLOCKS, "every breach", [second])
    kill_all([second])

    shared.collect()
    assert_recorded_exactly_once(ids)


def test_two_workers_at_once_record_each_warning_and_breach_once(
    always_v: CalendarVersion,
    shared: SharedDatabase,
    start_worker: Callable[[str], WorkerProcess],
) -> None:
    # Written a day ahead, so both workers start and go to sleep with nothing due...
    ids = due_clocks(always_v, CLOCKS, timezone.now() + 24 * HOUR, warning_fraction=1.0)
    shared.publish()
    workers = [start_worker("one"), start_worker("two")]
    wait_until(lambda: all(w.started() for w in workers), "both workers", workers)

    # ...then warning and breach are moved to one instant a few seconds ahead. Each worker
    # sees it at its next wake-up (within the 2 s max sleep) and wakes for it exactly, so
    # the two compete for every clock.
    due_at = timezone.now() + timedelta(seconds=3)
    shared.move_clocks(instants(due_at, warning_fraction=1.0))
    wait_until(lambda: shared.breaches() == CLOCKS, "every breach", workers)
    kill_all(workers)

    shared.collect()
    assert_recorded_exactly_once(ids)
    assert not Breach.objects.filter(recorded_at__lt=due_at).exists()
