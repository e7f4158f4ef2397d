"""Benchmark the SLA watcher: lag from due instant to breach recorded, and its CPU time.

Two scenarios on one database, both run by the real worker loop (`Worker().run()`, default
max sleep, its registered timers) in this process:

* live: 100,000 running clocks on a 24×7 calendar; 90,000 fall due hours away and 10,000
  (already warned) have their breach instant spread uniformly over the next 60 s of real
  time. The worker runs until 10 s after the last one. Lag per breach is
  `Breach.recorded_at - Breach.breached_at`.
* catch-up: 10,000 more clocks whose warning and breach instants have both passed (a
  watcher that was down), next to the 90,000 far ones. The worker runs until all 10,000
  breaches are recorded; the figure is the time from its start to the last one.

The clocks are written with bulk_create, with every column the watcher reads set as
`sla.services.recompute` would set it (checked against a replay for a sample), because
the benchmark measures the watcher, not clock creation.

By default the worker runs as shipped: the breach handling and the other timers share its
loop. `--watcher-only` leaves it the SLA watcher alone, to measure the watcher's own cost.

Usage (each run needs an empty database; the SQLite one is a fresh temporary folder):
    .venv/bin/python bench/bench_watcher.py --db sqlite
    createdb -h 127.0.0.1 -U postgres assura_bench
    .venv/bin/python bench/bench_watcher.py --db postgres \\
        --database-url postgres://postgres@127.0.0.1:5432/assura_bench
    dropdb -h 127.0.0.1 -U postgres assura_bench
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import machine  # bench/machine.py, beside this script

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/assura_bench"
WARNING_FRACTION = 0.75
DUE_TARGETS = (
    timedelta(minutes=15),
    timedelta(hours=2),
    timedelta(hours=24),
    timedelta(hours=72),
)
# Far clocks warn at least five hours after they are written: nothing of theirs may fall
# due while the benchmark runs.
FAR_TARGETS = (timedelta(hours=8), timedelta(hours=24), timedelta(hours=72))
SUBJECTS = 1_000
SEED_BATCH = 2_000


def configure(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the flags and point Django at the chosen database before it starts."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--clocks", type=int, default=100_000, help="running clocks in all")
    parser.add_argument("--due", type=int, default=10_000, help="clocks falling due live")
    parser.add_argument("--window", type=float, default=60.0, help="seconds they spread over")
    parser.add_argument("--lead", type=float, default=15.0, help="seconds before the first")
    parser.add_argument("--tail", type=float, default=10.0, help="seconds run after the last")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--watcher-only",
        action="store_true",
        help="run the SLA watcher alone: no other timer, nothing connected to its signals",
    )
    options = parser.parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "assura.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A throwaway data folder: the SQLite file (or just the secret key) lives there.
    folder = tempfile.mkdtemp(prefix="assura-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["ASSURA_DATA_DIR"] = folder
    if options.db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = options.database_url
    return options


# --- clocks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One clock to write: its metric, start, target and the instant it was last computed."""

    metric: str
    started_at: datetime
    target: timedelta
    computed_at: datetime


@dataclass
class Setting:
    """What every clock shares: the calendar version and the subjects."""

    version: Any
    subject_type: Any
    organisations: list[Any]


def prepare() -> Setting:
    from django.contrib.contenttypes.models import ContentType

    from assura.calendars import services as calendars
    from assura.core.models import Organisation, OrganisationKind
    from assura.sla.models import Clock

    if Clock.objects.exists():
        sys.exit("the database already holds clocks: give the benchmark an empty one")
    calendar = calendars.create_calendar(
        actor=None, code="bench-247", name="24x7", week=calendars.ROUND_THE_CLOCK
    )
    organisations = Organisation.objects.bulk_create(
        Organisation(kind=OrganisationKind.CUSTOMER, code=f"bench{i}", name=f"Customer {i}")
        for i in range(SUBJECTS)
    )
    return Setting(
        version=calendar.current_version,
        subject_type=ContentType.objects.get_for_model(Organisation),
        organisations=organisations,
    )


def clock_row(setting: Setting, number: int, spec: Spec) -> Any:
    """A running clock on a 24×7 calendar, its columns as `services.recompute` stores them.

    On a calendar without gaps the due instant is start + target, the breach begins at
    the due instant, and elapsed time is wall-clock time. `next_check` is the service's
    own function, so the watcher column cannot drift from it.
    """
    from assura.sla.models import Clock, ClockStatus
    from assura.sla.services import next_check

    organisation = setting.organisations[number % len(setting.organisations)]
    due_at = spec.started_at + spec.target
    warning_at = spec.started_at + spec.target * WARNING_FRACTION
    clock = Clock(
        subject_type=setting.subject_type,
        subject_id=organisation.pk,
        metric=spec.metric,
        organisation=organisation,
        calendar_version=setting.version,
        status=ClockStatus.RUNNING,
        target=spec.target,
        warning_fraction=WARNING_FRACTION,
        started_at=spec.started_at,
        due_at=due_at,
        warning_at=warning_at,
        warned_at=warning_at if warning_at <= spec.computed_at else None,
        breaches_at=due_at,
        elapsed=spec.computed_at - spec.started_at,
        computed_at=spec.computed_at,
    )
    clock.next_check_at = next_check(clock)
    return clock


def write_clocks(setting: Setting, specs: Sequence[Spec], first_number: int) -> list[int]:
    """Clocks, their start events and (for the warned ones) their warning rows."""
    from django.db import transaction

    from assura.sla.models import Clock, ClockEvent, ClockWarning, EventKind

    ids: list[int] = []
    for offset in range(0, len(specs), SEED_BATCH):
        chunk = specs[offset : offset + SEED_BATCH]
        with transaction.atomic():
            clocks = Clock.objects.bulk_create(
                clock_row(setting, first_number + offset + i, spec) for i, spec in enumerate(chunk)
            )
            ClockEvent.objects.bulk_create(
                ClockEvent(
                    clock=clock,
                    seq=1,
                    kind=EventKind.START,
                    at=clock.started_at,
                    target=clock.target,
                    warning_fraction=clock.warning_fraction,
                    calendar_version=setting.version,
                )
                for clock in clocks
            )
            ClockWarning.objects.bulk_create(
                ClockWarning(clock=clock, warned_at=clock.warned_at)
                for clock in clocks
                if clock.warned_at is not None
            )
        ids.extend(clock.pk for clock in clocks)
    return ids


def check_columns(ids: Sequence[int]) -> None:
    """The written columns must equal what a replay of the clock's events derives."""
    from assura.sla.models import Clock
    from assura.sla.services import next_check, state_of

    for clock in Clock.objects.filter(pk__in=ids):
        state = state_of(clock, clock.computed_at)
        replayed = Clock(
            status=state.status.value,
            warned_at=state.warned_at,
            warning_at=state.warning_at,
            breached_at=state.breached_at,
            breaches_at=state.breaches_at,
        )
        expected = (
            state.status.value,
            state.due_at,
            state.warning_at,
            state.warned_at,
            state.breaches_at,
            state.breached_at,
            next_check(replayed),
        )
        stored = (
            clock.status,
            clock.due_at,
            clock.warning_at,
            clock.warned_at,
            clock.breaches_at,
            clock.breached_at,
            clock.next_check_at,
        )
        if stored != expected:
            sys.exit(f"clock {clock.pk} differs from its replay: {stored} != {expected}")


def far_specs(count: int, rng: random.Random, now: datetime) -> list[Spec]:
    specs = []
    for i in range(count):
        target = FAR_TARGETS[i % len(FAR_TARGETS)]
        started = now - timedelta(seconds=rng.uniform(0, 3600))
        specs.append(Spec(f"far{i}", started, target, now))
    return specs


def due_specs(
    prefix: str, count: int, rng: random.Random, first: datetime, window: float, computed: str
) -> list[Spec]:
    """Breach instants uniform over [first, first + window).

    `computed="now"`: recomputed just now, so a passed warning is already recorded.
    `computed="start"`: nobody looked since the start, so warning and breach are both due.
    """
    now = datetime.now(first.tzinfo)
    specs = []
    for i in range(count):
        target = DUE_TARGETS[i % len(DUE_TARGETS)]
        breaches_at = first + timedelta(seconds=rng.uniform(0, window))
        started = breaches_at - target
        specs.append(Spec(f"{prefix}{i}", started, target, now if computed == "now" else started))
    return specs


# --- the run ----------------------------------------------------------------------------


class BackendCpu:
    """CPU time of this process's PostgreSQL server processes, read from /proc.

    The worker's connection is replaced now and then (CONN_MAX_AGE), so each backend is
    sampled around every round and the differences are summed per process id.
    """

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.ticks = os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        from django.db import connection

        if connection.vendor != "postgresql" or connection.connection is None:
            return
        pid = connection.connection.info.backend_pid
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        used = int(fields[11]) + int(fields[12])  # utime + stime
        self.first.setdefault(pid, used)
        self.last[pid] = used

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last) / self.ticks


class MeasuredWorker:
    """The real worker, counted: rounds, and the server's CPU around each round."""

    def __init__(self, done: Callable[[], bool] | None = None) -> None:
        from assura.core.worker import Worker

        outer = self
        self.rounds = 0
        self.backend = BackendCpu()
        self.per_timer: dict[str, float] = {}

        class Counted(Worker):
            def run_once(self, now: datetime) -> datetime | None:
                outer.backend.sample()
                try:
                    return super().run_once(now)
                finally:
                    outer.rounds += 1
                    outer.backend.sample()
                    if done is not None and done():
                        self.stopping.set()

        self.worker = Counted()

    def run(self, seconds: float | None) -> tuple[float, float]:
        """Run the loop (for `seconds`, or until `done`); returns (wall, CPU) seconds."""
        if seconds is not None:
            timer = threading.Timer(seconds, self.worker.stopping.set)
            timer.start()
        with self.timed_timers():
            wall, cpu = time.perf_counter(), time.process_time()
            self.worker.run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if seconds is not None:
            timer.cancel()
        return wall, cpu

    @contextmanager
    def timed_timers(self) -> Iterator[None]:
        """Wall time spent in each registered timer: the watcher shares the loop with them.

        A timer that works long in a round delays the watcher's next round, so its share
        of the loop explains the watcher's lag as much as the watcher's own work does.
        """
        from assura.core import timers

        registered = timers.registered()
        for each in registered:
            each.run_due = self._timed(each.name, each.run_due)  # type: ignore[method-assign]
        try:
            yield
        finally:
            for each in registered:
                del each.run_due

    def _timed(
        self, name: str, run_due: Callable[[datetime], datetime | None]
    ) -> Callable[[datetime], datetime | None]:
        def run(now: datetime) -> datetime | None:
            started = time.perf_counter()
            try:
                return run_due(now)
            finally:
                spent = time.perf_counter() - started
                self.per_timer[name] = self.per_timer.get(name, 0.0) + spent

        return run

    def timers_line(self) -> str:
        spent = sorted(self.per_timer.items(), key=lambda item: -item[1])
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent)


@dataclass
class Lags:
    values: list[float] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        """Nearest rank: the smallest lag that `share` of the breaches do not exceed."""
        ordered = sorted(self.values)
        return ordered[max(1, math.ceil(len(ordered) * share)) - 1]

    def line(self) -> str:
        median, p99 = self.percentile(0.5) * 1000, self.percentile(0.99) * 1000
        return f"median {median:.0f} ms, p99 {p99:.0f} ms, max {max(self.values) * 1000:.0f} ms"


def breaches_of(prefix: str) -> list[tuple[datetime, datetime]]:
    from assura.sla.models import Breach

    return list(
        Breach.objects.filter(metric__startswith=prefix).values_list("breached_at", "recorded_at")
    )


def check_untouched(now: datetime) -> None:
    """Nothing recorded for the far clocks, and no clock left with a passed next check."""
    from assura.sla.models import Breach, Clock, ClockWarning

    far_breaches = Breach.objects.filter(metric__startswith="far").count()
    far_warnings = ClockWarning.objects.filter(clock__metric__startswith="far").count()
    stale = Clock.objects.filter(next_check_at__lte=now).count()
    print(f"  far clocks: {far_breaches} breaches, {far_warnings} warnings; stale: {stale}")
    if far_breaches or far_warnings or stale:
        sys.exit("the watcher recorded something it should not have, or left a clock behind")


def live(setting: Setting, options: argparse.Namespace, rng: random.Random) -> None:
    from django.utils import timezone

    first = timezone.now() + timedelta(seconds=options.lead)
    specs = due_specs("due", options.due, rng, first, options.window, computed="now")
    ids = write_clocks(setting, specs, options.clocks - options.due)
    check_columns(ids[:: max(1, len(ids) // 20)])
    if timezone.now() >= first:
        sys.exit("writing the due clocks took longer than --lead; raise it")
    run_for = (first - timezone.now()).total_seconds() + options.window + options.tail
    print(
        f"\nlive: {options.clocks:,} running clocks, {options.due:,} breaching over the next "
        f"{options.window:.0f} s (from {options.lead:.0f} s ahead); worker runs {run_for:.0f} s"
    )
    print(f"  load average before: {machine.load_average()}")
    worker = MeasuredWorker()
    wall, cpu = worker.run(run_for)
    print(f"  load average after:  {machine.load_average()}")
    found = breaches_of("due")
    lags = Lags([(recorded - breached).total_seconds() for breached, recorded in found])
    print(f"  breaches recorded: {len(found):,} of {options.due:,}")
    if len(found) != options.due:
        sys.exit("not every due clock was recorded")
    print(f"  lag due → recorded: {lags.line()}")
    print(
        f"  worker: {wall:.1f} s wall, {cpu:.2f} s CPU ({cpu / wall * 100:.1f} %), "
        f"{worker.rounds:,} rounds, {cpu / options.due * 1e6:.0f} µs CPU per breach"
    )
    print(f"  wall time in each timer: {worker.timers_line()}")
    if worker.backend.last:
        print(f"  PostgreSQL backend CPU: {worker.backend.seconds:.2f} s")
    check_untouched(timezone.now())


def catch_up(setting: Setting, options: argparse.Namespace, rng: random.Random) -> None:
    from django.utils import timezone

    from assura.sla.models import Breach

    now = timezone.now()
    specs = due_specs("late", options.due, rng, now - timedelta(seconds=60), 59.0, "start")
    ids = write_clocks(setting, specs, options.clocks)
    check_columns(ids[:: max(1, len(ids) // 20)])
    print(
        f"\ncatch-up: {options.due:,} clocks with warning and breach both passed "
        f"(breached 1-60 s ago), next to {options.clocks - options.due:,} far ones"
    )
    print(f"  load average before: {machine.load_average()}")

    def done() -> bool:
        return Breach.objects.filter(metric__startswith="late").count() >= options.due

    worker = MeasuredWorker(done)
    started = timezone.now()
    wall, cpu = worker.run(None)
    print(f"  load average after:  {machine.load_average()}")
    found = breaches_of("late")
    print(f"  breaches recorded: {len(found):,} of {options.due:,}")
    if len(found) != options.due:
        sys.exit("not every overdue clock was recorded")
    last = max(recorded for _breached, recorded in found)
    first = min(recorded for _breached, recorded in found)
    print(
        f"  all recorded {(last - started).total_seconds():.2f} s after the worker started "
        f"(first after {(first - started).total_seconds():.2f} s)"
    )
    print(
        f"  worker: {wall:.1f} s wall, {cpu:.2f} s CPU, {worker.rounds} rounds, "
        f"{cpu / options.due * 1e6:.0f} µs CPU per clock (warning + breach)"
    )
    print(f"  wall time in each timer: {worker.timers_line()}")
    if worker.backend.last:
        print(f"  PostgreSQL backend CPU: {worker.backend.seconds:.2f} s")
    check_untouched(timezone.now())


def isolate_watcher() -> None:
    """Leave the worker only the SLA watcher, and nothing listening to what it records.

    By default the benchmark runs the worker as shipped, where breach handling and the
    other timers share the loop; this isolates the watcher's own lag and CPU time.
    """
    from assura.core import timers
    from assura.sla.services import breaches_recorded, warnings_recorded
    from assura.sla.watcher import SlaWatcher

    timers._TIMERS.clear()
    timers.register(SlaWatcher())
    for signal in (breaches_recorded, warnings_recorded):
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()


def main(argv: Sequence[str] | None = None) -> None:
    options = configure(argv)
    import django
    from django.core.management import call_command
    from django.utils import timezone

    django.setup()
    from assura.core import timers

    call_command("migrate", interactive=False, verbosity=0)
    if options.watcher_only:
        isolate_watcher()
    for line in machine.lines(
        "Django", database=machine.django_database("WAL, IMMEDIATE transactions")
    ):
        print(line)
    print(f"worker timers: {', '.join(t.name for t in timers.registered())}")
    rng = random.Random(options.seed)
    setting = prepare()
    started = time.perf_counter()
    far = far_specs(options.clocks - options.due, rng, timezone.now())
    far_ids = write_clocks(setting, far, 0)
    check_columns(far_ids[:: max(1, len(far_ids) // 20)])
    print(f"wrote {len(far_ids):,} far clocks in {time.perf_counter() - started:.1f} s")
    live(setting, options, rng)
    catch_up(setting, options, rng)


if __name__ == "__main__":
    main()
