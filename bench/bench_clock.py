"""Benchmark working-time arithmetic: WorkCalendar against businesstimedelta.

Both libraries get the same calendar (Monday-Friday 09:00-18:00 in Asia/Shanghai with China's
official 2025-2026 holidays) and the same random (start, working-time) pairs. businesstimedelta
has no rule for make-up working days, so the head-to-head comparison uses the holiday-only
calendar, where both compute the same thing; WorkCalendar is also timed on the full calendar.

Usage:
    python bench/bench_clock.py [--pairs 100000] [--bt-sample 10000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from importlib.metadata import version
from typing import Any
from zoneinfo import ZoneInfo

import businesstimedelta as btd
import numpy as np
import pytz

from assura.calendars.clock import WorkCalendar, to_epoch_us
from assura.calendars.cn import official_days

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
DURATIONS = {"15 min": 15 * 60, "2 h": 2 * 3600, "24 h": 24 * 3600, "72 h": 72 * 3600}
# businesstimedelta's HolidayRule fails (datetime.combine(None, ...)) once no holiday lies
# ahead, so starts stop early enough for every 72 h deadline to fall before 2026-10-07.
FIRST_START, LAST_START = datetime(2025, 1, 1, tzinfo=ZONE), datetime(2026, 8, 31, tzinfo=ZONE)

Pair = tuple[datetime, int]


def machine() -> list[str]:
    """What the figures were measured on, printed so results can be compared honestly."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("numpy", "businesstimedelta", "chinesecalendar")
    )
    return [
        f"date: {date.today().isoformat()}",
        f"cpu: {model}, {os.cpu_count()} cores (benchmark runs on one)",
        f"python: {platform.python_version()} ({platform.python_implementation()})",
        f"packages: {packages}",
    ]


def china_days() -> tuple[set[date], set[date]]:
    holidays: set[date] = set()
    makeup: set[date] = set()
    for year in (2025, 2026):
        year_holidays, year_makeup = official_days(year)
        holidays |= year_holidays
        makeup |= year_makeup
    return holidays, makeup


def make_pairs(count: int, seed: int) -> list[Pair]:
    """Starts uniform over the range to the microsecond; durations cycle through the four."""
    rng = random.Random(seed)
    lo, hi = to_epoch_us(FIRST_START), to_epoch_us(LAST_START)
    amounts = list(DURATIONS.values())
    pairs = []
    for i in range(count):
        start_us = rng.randrange(lo, hi)
        start = datetime.fromtimestamp(start_us // 1_000_000, ZONE)
        pairs.append((start.replace(microsecond=start_us % 1_000_000), amounts[i % len(amounts)]))
    return pairs


def bt_rules(holidays: set[date]) -> btd.Rules:
    tz = pytz.timezone(TZ)
    office = btd.WorkDayRule(
        start_time=clock_time(9), end_time=clock_time(18), working_days=[0, 1, 2, 3, 4], tz=tz
    )
    return btd.Rules([office, btd.HolidayRule(frozenset(holidays), tz=tz)])


def bt_rules_with_makeup(holidays: set[date], makeup: set[date]) -> btd.Rules:
    """The closest composition: whole make-up days made available, nights taken off again."""
    tz = pytz.timezone(TZ)
    return btd.Rules(
        [
            btd.WorkDayRule(clock_time(9), clock_time(18), [0, 1, 2, 3, 4], tz=tz),
            btd.HolidayRule(frozenset(makeup), tz=tz, time_off=False),
            btd.HolidayRule(frozenset(holidays), tz=tz),
            btd.WorkDayRule(clock_time(18), clock_time(9), list(range(7)), tz=tz, time_off=True),
        ]
    )


def timed(run: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best CPU time of ``repeat`` runs, with the collector off so it does not add noise.

    CPU time of this process rather than wall time, so that other work on a shared machine
    does not inflate one library's figures more than the other's.
    """
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        began = time.process_time()
        result = run()
        best = min(best, time.process_time() - began)
        gc.enable()
    return best, result


def by_duration(pairs: Sequence[Pair]) -> dict[str, list[Pair]]:
    return {name: [p for p in pairs if p[1] == amount] for name, amount in DURATIONS.items()}


def time_ours(
    calendar: WorkCalendar, groups: dict[str, list[Pair]]
) -> dict[str, tuple[float, float]]:
    """µs per add and per between, for each duration group."""
    out = {}
    for name, group in groups.items():

        def add_all(group: list[Pair] = group) -> list[datetime]:
            return [calendar.add(start, amount) for start, amount in group]

        add_s, ends = timed(add_all, repeat=3)
        spans = list(zip((start for start, _ in group), ends, strict=True))

        def between_all(spans: list[tuple[datetime, datetime]] = spans) -> list[float]:
            return [calendar.between(start, end) for start, end in spans]

        between_s, _ = timed(between_all, repeat=3)
        out[name] = (add_s / len(group) * 1e6, between_s / len(group) * 1e6)
    return out


def time_bt(
    rules: btd.Rules, calendar: WorkCalendar, groups: dict[str, list[Pair]]
) -> dict[str, tuple[float, float]]:
    """The same measurement for businesstimedelta, checking every answer against ours."""
    out = {}
    for name, group in groups.items():
        delta = btd.BusinessTimeDelta(rules, seconds=DURATIONS[name])

        def add_all(group: list[Pair] = group, delta: Any = delta) -> list[datetime]:
            return [start + delta for start, _ in group]

        add_s, ends = timed(add_all)
        spans = list(zip((start for start, _ in group), ends, strict=True))

        def between_all(spans: list[tuple[datetime, datetime]] = spans) -> list[Any]:
            return [rules.difference(start, end) for start, end in spans]

        between_s, worked = timed(between_all)
        for (start, amount), end, span in zip(group, ends, worked, strict=True):
            assert end == calendar.add(start, amount), (start, amount, end)
            assert span.timedelta == timedelta(seconds=amount), (start, amount, span)
        out[name] = (add_s / len(group) * 1e6, between_s / len(group) * 1e6)
    return out


def verify_sample(rules: btd.Rules, calendar: WorkCalendar, pairs: Sequence[Pair]) -> int:
    """Count disagreements before timing anything, so a fast wrong answer cannot win."""
    wrong = 0
    for start, amount in pairs:
        try:
            theirs = start + btd.BusinessTimeDelta(rules, seconds=amount)
        except TypeError:  # HolidayRule with nothing ahead: datetime.combine(None, ...)
            wrong += 1
            continue
        ours = calendar.add(start, amount)
        between = rules.difference(start, ours).timedelta
        wrong += theirs != ours or between != timedelta(seconds=amount)
    return wrong


def batch_rate(calendar: WorkCalendar, pairs: Sequence[Pair], size: int) -> dict[str, float]:
    """Deadlines (and spans) per second for arrays of ``size`` epoch-microsecond pairs."""
    starts = np.array([to_epoch_us(s) for s, _ in pairs], dtype=np.int64)
    amounts = np.array([a * 1_000_000 for _, a in pairs], dtype=np.int64)
    reps = -(-size // starts.size)
    starts, amounts = np.tile(starts, reps)[:size], np.tile(amounts, reps)[:size]
    calendar.add_many(starts[:10], amounts[:10])  # warm the cached years
    add_s, deadlines = timed(lambda: calendar.add_many(starts, amounts), repeat=5)
    between_s, spans = timed(lambda: calendar.between_many(starts, deadlines), repeat=5)
    assert (spans == amounts).all()
    scalar = [
        calendar.add_us(int(s), int(a)) for s, a in zip(starts[:5000], amounts[:5000], strict=True)
    ]
    assert deadlines[:5000].tolist() == scalar
    return {"add_many": size / add_s, "between_many": size / between_s}


def report(title: str, rows: dict[str, tuple[float, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'duration':>8}  {'add µs':>9}  {'between µs':>10}")
    for name, (add_us, between_us) in rows.items():
        print(f"  {name:>8}  {add_us:9.2f}  {between_us:10.2f}")
    print(f"  {'mean':>8}  {mean(rows, 0):9.2f}  {mean(rows, 1):10.2f}")


def mean(rows: dict[str, tuple[float, float]], column: int) -> float:
    """Mean over the duration groups, i.e. per operation over the whole (equal-sized) mix."""
    return sum(row[column] for row in rows.values()) / len(rows)


def report_ratios(
    ours: dict[str, tuple[float, float]], theirs: dict[str, tuple[float, float]]
) -> None:
    print("\nspeed-up (businesstimedelta time / WorkCalendar time), same calendar")
    print(f"  {'duration':>8}  {'add':>7}  {'between':>7}")
    for name in DURATIONS:
        add = theirs[name][0] / ours[name][0]
        between = theirs[name][1] / ours[name][1]
        print(f"  {name:>8}  {add:6.0f}×  {between:6.0f}×")
    add_all = mean(theirs, 0) / mean(ours, 0)
    between_all = mean(theirs, 1) / mean(ours, 1)
    print(f"  {'mix':>8}  {add_all:6.0f}×  {between_all:6.0f}×")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--bt-sample", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    print("\n".join(machine()))
    holidays, makeup = china_days()
    full = WorkCalendar.weekly(tz=TZ, holidays=holidays, makeup_days=makeup)
    holiday_only = WorkCalendar.weekly(tz=TZ, holidays=holidays)
    pairs = make_pairs(args.pairs, args.seed)
    sample = random.Random(args.seed + 1).sample(pairs, min(args.bt_sample, len(pairs)))
    share = "all of them" if len(sample) == len(pairs) else f"a random subset of {len(sample):,}"
    print(f"pairs: {len(pairs):,} (businesstimedelta timed on {share})")
    print("times are CPU time of this process, best of 3 runs for WorkCalendar, 1 for the other")
    print(f"starts: {FIRST_START:%Y-%m-%d} to {LAST_START:%Y-%m-%d}, durations {list(DURATIONS)}")

    cold, _ = timed(lambda: WorkCalendar.weekly(tz=TZ, holidays=holidays).add(pairs[0][0], 1))
    print(f"first query on a fresh calendar (builds ~3 years of intervals): {cold * 1e3:.1f} ms")

    check = sample[:1000]
    wrong = verify_sample(bt_rules(holidays), holiday_only, check)
    print(f"\nagreement, holiday-only calendar: {len(check) - wrong}/{len(check)} identical")
    assert wrong == 0, "the libraries disagree; timings would be meaningless"
    composed = verify_sample(bt_rules_with_makeup(holidays, makeup), full, check)
    print(
        f"businesstimedelta has no make-up-day rule; the closest composition (available whole "
        f"days + nightly time off) disagrees with the official calendar on {composed}/{len(check)}"
    )

    ours_full = time_ours(full, by_duration(pairs))
    ours_holiday = time_ours(holiday_only, by_duration(pairs))
    theirs = time_bt(bt_rules(holidays), holiday_only, by_duration(sample))
    report(f"WorkCalendar, holidays + make-up days, {len(pairs):,} pairs", ours_full)
    report(f"WorkCalendar, holidays only, {len(pairs):,} pairs", ours_holiday)
    ours_sample = ours_holiday
    if len(sample) < len(pairs):
        ours_sample = time_ours(holiday_only, by_duration(sample))
        report(f"WorkCalendar, holidays only, the {len(sample):,}-pair subset", ours_sample)
    report(f"businesstimedelta, holidays only, {len(sample):,} pairs", theirs)
    report_ratios(ours_sample, theirs)

    rates = batch_rate(full, pairs, args.batch)
    print(f"\nbatch form, {args.batch:,} pairs, full calendar, one core")
    for name, rate in rates.items():
        print(f"  {name}: {rate / 1e6:.2f} million per second")


if __name__ == "__main__":
    main()
