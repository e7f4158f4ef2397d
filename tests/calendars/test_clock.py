"""Worked examples, validation, DST rules and agreement with the minute-by-minute reference."""

from __future__ import annotations

import pickle
import random
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from assura.calendars.clock import (
    HORIZON_YEARS,
    NoWorkingTimeError,
    WorkCalendar,
    from_epoch_us,
    to_epoch_us,
)

from .reference import ALL_SPECS, HOUR_US, MINUTE_US, SPARSE, Reference, Spec

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
H = 3600


def at(
    tz: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
    fold: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz, fold=fold)


@pytest.fixture(scope="module")
def office() -> WorkCalendar:
    return WorkCalendar.weekly(tz="Asia/Shanghai")


@pytest.fixture(scope="module")
def lunch() -> WorkCalendar:
    return WorkCalendar.weekly([("09:00", "12:00"), ("13:30", "18:00")], tz="Asia/Shanghai")


# --------------------------------------------------------------------------- basic semantics


def test_add_within_one_day(office: WorkCalendar) -> None:
    assert office.add(at(SH, 2025, 5, 12, 10), 2 * H) == at(SH, 2025, 5, 12, 12)


def test_amount_used_up_at_closing_time_stops_there(office: WorkCalendar) -> None:
    assert office.add(at(SH, 2025, 5, 12, 9), 9 * H) == at(SH, 2025, 5, 12, 18)


def test_add_carries_over_the_weekend(office: WorkCalendar) -> None:
    assert office.add(at(SH, 2025, 5, 16, 17), 2 * H) == at(SH, 2025, 5, 19, 10)


def test_start_outside_working_time_counts_from_next_opening(office: WorkCalendar) -> None:
    assert office.add(at(SH, 2025, 5, 17, 10), H) == at(SH, 2025, 5, 19, 10)
    assert office.add(at(SH, 2025, 5, 12, 7), 30 * 60) == at(SH, 2025, 5, 12, 9, 30)
    assert office.add(at(SH, 2025, 5, 12, 18), 60) == at(SH, 2025, 5, 13, 9, 1)


def test_add_zero_returns_next_working_instant(office: WorkCalendar) -> None:
    inside = at(SH, 2025, 5, 12, 11, 7, 3, 5)
    assert office.add(inside, 0) == inside
    assert office.add(at(SH, 2025, 5, 12, 9), 0) == at(SH, 2025, 5, 12, 9)
    assert office.add(at(SH, 2025, 5, 12, 18), 0) == at(SH, 2025, 5, 13, 9)
    assert office.add(at(SH, 2025, 5, 16, 20), timedelta(0)) == at(SH, 2025, 5, 19, 9)
    assert office.next_working(at(SH, 2025, 5, 16, 20)) == at(SH, 2025, 5, 19, 9)


def test_is_working_is_half_open(office: WorkCalendar) -> None:
    assert office.is_working(at(SH, 2025, 5, 12, 9))
    assert office.is_working(at(SH, 2025, 5, 12, 17, 59, 59, 999_999))
    assert not office.is_working(at(SH, 2025, 5, 12, 18))
    assert not office.is_working(at(SH, 2025, 5, 12, 8, 59, 59, 999_999))
    assert not office.is_working(at(SH, 2025, 5, 17, 12))


def test_between_and_negative_between(office: WorkCalendar) -> None:
    monday_8, friday_20 = at(SH, 2025, 5, 12, 8), at(SH, 2025, 5, 16, 20)
    assert office.between(monday_8, friday_20) == 45 * H
    assert office.between(friday_20, monday_8) == -45 * H
    assert office.between(monday_8, monday_8) == 0
    assert office.between(at(SH, 2025, 5, 17, 1), at(SH, 2025, 5, 18, 23)) == 0


def test_lunch_break_examples(lunch: WorkCalendar) -> None:
    assert lunch.add(at(SH, 2025, 5, 12, 11), 2 * H) == at(SH, 2025, 5, 12, 14, 30)
    assert lunch.add(at(SH, 2025, 5, 12, 11), H) == at(SH, 2025, 5, 12, 12)
    assert lunch.add(at(SH, 2025, 5, 12, 12, 30), 0) == at(SH, 2025, 5, 12, 13, 30)
    assert lunch.add(at(SH, 2025, 5, 12, 12, 30), 1) == at(SH, 2025, 5, 12, 13, 30, 1)
    assert lunch.between(at(SH, 2025, 5, 12, 8), at(SH, 2025, 5, 12, 20)) == 7.5 * H
    assert lunch.between(at(SH, 2025, 5, 12, 12), at(SH, 2025, 5, 12, 13, 30)) == 0
    assert lunch.add(at(SH, 2025, 5, 16, 17), 2 * H) == at(SH, 2025, 5, 19, 10)
    assert not lunch.is_working(at(SH, 2025, 5, 12, 12, 15))


def test_always_is_plain_arithmetic_even_across_dst() -> None:
    clock = WorkCalendar.always("America/New_York")
    assert clock.is_continuous
    start = at(NY, 2025, 3, 9, 1, 30)
    assert clock.add(start, H) == at(NY, 2025, 3, 9, 3, 30)
    day = clock.between(at(NY, 2025, 11, 2), at(NY, 2025, 11, 3))
    assert day == 25 * H
    assert clock.is_working(at(NY, 2025, 12, 25, 3))
    assert clock.next_working(start) == start
    assert clock.between(at(NY, 2025, 3, 10), at(NY, 2025, 3, 9)) == -23 * H
    assert clock.add_many([0, 10], 5).tolist() == [5, 15]


def test_continuous_means_every_date_fully_worked() -> None:
    assert WorkCalendar.always().is_continuous
    full = [("00:00", "24:00")]
    assert not WorkCalendar("UTC", [full] * 7, holidays=[date(2025, 1, 1)]).is_continuous
    assert not WorkCalendar("UTC", [full] * 6 + [[]]).is_continuous
    assert WorkCalendar("UTC", [full] * 7, makeup_days=[date(2025, 1, 1)]).is_continuous


def test_results_are_in_the_calendar_zone(office: WorkCalendar) -> None:
    result = office.add(datetime(2025, 5, 12, 2, tzinfo=UTC), H)
    assert result.tzinfo == SH
    assert result == at(SH, 2025, 5, 12, 11)
    assert office.next_working(datetime(2025, 5, 12, 2, tzinfo=UTC)).tzinfo == SH


def test_microsecond_exactness(office: WorkCalendar) -> None:
    start = at(SH, 2025, 5, 12, 17, 59, 59, 999_999)
    assert office.add(start, 0.000001) == at(SH, 2025, 5, 12, 18)
    assert office.add(start, 0.000002) == at(SH, 2025, 5, 13, 9, 0, 0, 1)
    assert office.add(start, timedelta(microseconds=3)) == at(SH, 2025, 5, 13, 9, 0, 0, 2)
    assert office.between(start, at(SH, 2025, 5, 13, 9, 0, 0, 2)) == 0.000003
    amount = 3 * H + 0.123457
    end = office.add(at(SH, 2025, 5, 12, 16, 0, 0, 1), amount)
    assert end == at(SH, 2025, 5, 13, 10, 0, 0, 123_458)
    assert office.between(at(SH, 2025, 5, 12, 16, 0, 0, 1), end) == amount


def test_epoch_conversions_round_trip() -> None:
    moment = at(NY, 2025, 11, 2, 1, 30, 0, 7, fold=1)
    epoch = to_epoch_us(moment)
    back = from_epoch_us(epoch, NY)
    assert back == moment
    assert back.fold == 1
    assert epoch == to_epoch_us(moment.astimezone(UTC))


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ({0: [("12:00", "09:00")]}, "empty or reversed"),
        ({0: [("09:00", "09:00")]}, "empty or reversed"),
        ({0: [("09:00", "12:00"), ("11:00", "13:00")]}, "overlaps"),
        ({0: [("13:00", "14:00"), ("09:00", "12:00")]}, "overlaps or precedes"),
        ({0: [("9am", "5pm")]}, "bad time"),
        ({0: [("09:60", "10:00")]}, "out of range"),
        ({0: [("24:00", "24:00")]}, "only end"),
        ({0: [("09:00", "24:01")]}, "out of range"),
        ({0: [("09:00",)]}, "pair"),
        ({0: ("09:00", "18:00")}, "pair"),
        ({7: [("09:00", "18:00")]}, "weekday keys"),
        ([[("09:00", "18:00")]] * 6, "7 entries"),
        ({0: [(time(9, tzinfo=UTC), time(10))]}, "wall times"),
        ({0: [(900, 1000)]}, "bad time"),
    ],
)
def test_bad_weeks_are_rejected(week: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar("UTC", week)  # type: ignore[arg-type]


def test_bad_zone_dates_and_amounts_are_rejected(office: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkCalendar("Mars/Olympus_Mons", {})
    with pytest.raises(ValueError, match="date values"):
        WorkCalendar("UTC", {}, holidays=[datetime(2025, 1, 1)])
    with pytest.raises(ValueError, match="no intervals"):
        WorkCalendar("UTC", {0: [("09:00", "10:00")]}, makeup_days={date(2025, 1, 4): []})
    with pytest.raises(ValueError, match="explicit intervals"):
        WorkCalendar("UTC", {}, makeup_days=[date(2025, 1, 4)])
    monday = at(SH, 2025, 5, 12, 10)
    for amount in (-1, -0.5, timedelta(seconds=-1), float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="duration"):
            office.add(monday, amount)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        office.add(datetime(2025, 5, 12, 10), 1)
    with pytest.raises(ValueError, match="naive"):
        office.between(monday, datetime(2025, 5, 12, 10))
    with pytest.raises(ValueError, match="aware datetime"):
        office.is_working(date(2025, 5, 12))  # type: ignore[arg-type]


def test_times_accept_seconds_microseconds_and_time_objects() -> None:
    calendar = WorkCalendar(
        "UTC", {0: [(time(9, 0, 0, 250_000), "09:00:01.5"), ("10:00:30", "24:00")]}
    )
    monday = datetime(2025, 5, 12, tzinfo=UTC)
    assert calendar.between(monday, monday + timedelta(days=1)) == 1.25 + 14 * H - 30
    assert calendar.to_dict()["week"]["0"] == [
        ["09:00:00.250000", "09:00:01.500000"],
        ["10:00:30", "24:00"],
    ]


def test_makeup_day_default_hours() -> None:
    calendar = WorkCalendar(
        "UTC",
        {0: [("08:00", "12:00")], 1: [("09:00", "17:00")], 5: [("10:00", "11:00")]},
        holidays=[date(2025, 5, 13), date(2025, 5, 17)],
        makeup_days=[date(2025, 5, 13), date(2025, 5, 17), date(2025, 5, 18)],
    )
    # A worked holiday Tuesday keeps Tuesday's hours; a worked Saturday keeps Saturday's;
    # a worked Sunday has no hours of its own and borrows the first working weekday's.
    assert calendar.intervals_on(date(2025, 5, 13)) == calendar.week[1]
    assert calendar.intervals_on(date(2025, 5, 17)) == calendar.week[5]
    assert calendar.intervals_on(date(2025, 5, 18)) == calendar.week[0]
    assert calendar.intervals_on(date(2025, 5, 20)) == calendar.week[1]


# --------------------------------------------------------------------------- identity


def test_definition_identity_fingerprint_and_round_trips() -> None:
    one = WorkCalendar.weekly(tz="Europe/Berlin", holidays=[date(2025, 1, 1), date(2025, 12, 25)])
    two = WorkCalendar(
        "Europe/Berlin",
        {day: [("09:00", "18:00")] for day in range(5)},
        holidays={date(2025, 12, 25), date(2025, 1, 1)},
    )
    other = WorkCalendar.weekly(tz="Europe/Berlin", holidays=[date(2025, 1, 1)])
    assert one == two
    assert hash(one) == hash(two)
    assert one.fingerprint == two.fingerprint
    assert len(one.fingerprint) == 32
    assert one.fingerprint != other.fingerprint
    assert one != other
    assert (
        WorkCalendar.weekly(tz="UTC").fingerprint != WorkCalendar.weekly(tz="Etc/UTC").fingerprint
    )
    assert WorkCalendar.from_dict(one.to_dict()) == one
    assert pickle.loads(pickle.dumps(one)) == one  # noqa: S301 - our own bytes
    assert "Europe/Berlin" in repr(one)
    with pytest.raises(FrozenInstanceError):
        one.tz = "UTC"  # type: ignore[misc]


def test_fingerprint_ignores_what_has_been_cached() -> None:
    calendar = WorkCalendar.weekly(tz="Asia/Shanghai")
    before = calendar.fingerprint
    calendar.between(at(SH, 2001, 1, 1), at(SH, 2031, 1, 1))
    assert calendar.fingerprint == before
    assert calendar == WorkCalendar.weekly(tz="Asia/Shanghai")


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize(
    ("tz", "spring", "autumn"),
    [
        ("Europe/Berlin", date(2025, 3, 30), date(2025, 10, 26)),
        ("America/New_York", date(2025, 3, 9), date(2025, 11, 2)),
    ],
)
def test_office_hours_on_dst_days_are_still_nine_hours(tz: str, spring: date, autumn: date) -> None:
    zone = ZoneInfo(tz)
    calendar = WorkCalendar.weekly(tz=tz, weekdays=range(7))
    for day in (spring, autumn):
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        assert calendar.between(midnight, midnight + timedelta(days=1)) == 9 * H
        nine = midnight.replace(hour=9)
        assert calendar.add(nine, 9 * H) == midnight.replace(hour=18)
        eve = midnight.replace(hour=17) - timedelta(days=1)
        assert calendar.add(eve, 2 * H) == midnight.replace(hour=10)


@pytest.mark.parametrize(
    ("tz", "spring", "autumn"),
    [
        ("Europe/Berlin", date(2025, 3, 30), date(2025, 10, 26)),
        ("America/New_York", date(2025, 3, 9), date(2025, 11, 2)),
    ],
)
def test_whole_days_follow_the_wall_clock(tz: str, spring: date, autumn: date) -> None:
    zone = ZoneInfo(tz)
    calendar = WorkCalendar(tz, {6: [("00:00", "24:00")]})
    spring_start = datetime(spring.year, spring.month, spring.day, tzinfo=zone)
    autumn_start = datetime(autumn.year, autumn.month, autumn.day, tzinfo=zone)
    assert calendar.between(spring_start, spring_start + timedelta(days=1)) == 23 * H
    assert calendar.between(autumn_start, autumn_start + timedelta(days=1)) == 25 * H


def test_interval_in_the_skipped_hour() -> None:
    # Berlin skips 02:00-03:00 on 2025-03-30: wall times in that hour never occur.
    sunday = date(2025, 3, 30)
    gap = WorkCalendar("Europe/Berlin", {6: [("02:00", "03:00")]})
    straddle = WorkCalendar("Europe/Berlin", {6: [("01:30", "02:30")]})
    day_start = at(BERLIN, 2025, 3, 30)
    day_end = at(BERLIN, 2025, 3, 31)
    assert gap.between(day_start, day_end) == 0
    assert gap.between(at(BERLIN, 2025, 3, 23), at(BERLIN, 2025, 3, 24)) == H
    assert gap.next_working(day_start) == at(BERLIN, 2025, 4, 6, 2)
    assert straddle.between(day_start, day_end) == 30 * 60
    assert straddle.add(day_start, 30 * 60) == at(BERLIN, 2025, 3, 30, 3)  # = 02:00 CET
    assert straddle.add(day_start, 30 * 60 + 1).date() == sunday + timedelta(days=7)


def test_interval_in_the_repeated_hour() -> None:
    # New York repeats 01:00-02:00 on 2025-11-02; both passes are working time.
    calendar = WorkCalendar("America/New_York", {6: [("01:00", "02:00")]})
    first = at(NY, 2025, 11, 2, 1, 30, fold=0)
    second = at(NY, 2025, 11, 2, 1, 30, fold=1)
    assert calendar.is_working(first)
    assert calendar.is_working(second)
    assert calendar.between(at(NY, 2025, 11, 2), at(NY, 2025, 11, 3)) == 2 * H
    end = calendar.add(at(NY, 2025, 11, 2), 2 * H)
    assert (end.hour, end.minute, end.fold) == (2, 0, 0)
    middle = calendar.add(at(NY, 2025, 11, 2), 90 * 60)
    assert middle == second
    assert middle.fold == 1
    half = WorkCalendar("America/New_York", {6: [("01:30", "03:00")]})
    assert half.between(at(NY, 2025, 11, 2), at(NY, 2025, 11, 3)) == 2 * H
    assert not half.is_working(at(NY, 2025, 11, 2, 1, 15, fold=1))


# --------------------------------------------------------------------------- years and horizon


def test_year_boundary_and_window_growth() -> None:
    calendar = WorkCalendar.weekly(
        tz="Asia/Shanghai", holidays=[date(2026, 1, 1), date(2026, 1, 2)]
    )
    new_year_eve = at(SH, 2025, 12, 31, 17)
    assert calendar.add(new_year_eve, 2 * H) == at(SH, 2026, 1, 5, 10)
    far = calendar.between(at(SH, 1990, 1, 1), at(SH, 2060, 1, 1))
    near = calendar.between(at(SH, 1990, 1, 1), at(SH, 2025, 1, 1))
    assert far == near + calendar.between(at(SH, 2025, 1, 1), at(SH, 2060, 1, 1))
    later = calendar.add(at(SH, 2025, 1, 1), far)
    assert 2094 <= later.year <= 2095
    assert calendar.between(at(SH, 2025, 1, 1), later) == far


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Asia/Kolkata", "Pacific/Pago_Pago"])
def test_queries_at_the_edges_of_the_cached_years(tz: str) -> None:
    zone = ZoneInfo(tz)
    night = [("00:00", "03:00"), ("21:00", "24:00")]
    for first_query in (2020, 2025):
        for year in range(first_query - 2, first_query + 4):
            # A fresh calendar caches a few years around its first query; each new year's
            # eve probed here lies inside or just beyond one edge of that cache.
            calendar = WorkCalendar(tz, [night] * 7)
            calendar.is_working(datetime(first_query, 6, 1, tzinfo=zone))
            new_year = datetime(year, 1, 1, tzinfo=zone)
            assert calendar.is_working(new_year - timedelta(hours=1))
            assert calendar.is_working(new_year + timedelta(hours=1))
            assert not calendar.is_working(new_year + timedelta(hours=12))
            around = calendar.between(new_year - timedelta(hours=4), new_year + timedelta(hours=4))
            assert around == 6 * H


def test_no_working_time_at_all_raises_instead_of_looping() -> None:
    empty = WorkCalendar("UTC", {})
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(NoWorkingTimeError, match="no working time"):
        empty.add(moment, 1)
    with pytest.raises(NoWorkingTimeError):
        empty.next_working(moment)
    with pytest.raises(NoWorkingTimeError):
        empty.add_many([0], [1])
    assert empty.between(moment, moment + timedelta(days=400)) == 0
    assert not empty.is_working(moment)


def test_horizon_guard_on_finite_working_time() -> None:
    calendar = SPARSE.build()
    start = at(BERLIN, 2025, 3, 1)
    assert calendar.add(start, 23 * H + 60) == at(BERLIN, 2025, 4, 2, 12, 1)
    with pytest.raises(NoWorkingTimeError, match=f"{HORIZON_YEARS} years"):
        calendar.add(start, 23 * H + 61)
    with pytest.raises(NoWorkingTimeError):
        calendar.next_working(at(BERLIN, 2025, 4, 3))


def test_far_past_and_future_are_bounded() -> None:
    calendar = WorkCalendar.weekly()
    with pytest.raises(ValueError, match="years"):
        calendar.between(datetime(1, 1, 2, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert (
        calendar.between(datetime(1800, 1, 1, tzinfo=UTC), datetime(1800, 1, 8, tzinfo=UTC))
        == 45 * H
    )


# --------------------------------------------------------------------------- batch form


def test_batch_matches_scalar_on_a_large_sample() -> None:
    calendar = WorkCalendar(
        "Europe/Berlin",
        {day: [("09:00", "12:00"), ("13:30", "18:00")] for day in range(5)},
        holidays=[date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1)],
        makeup_days=[date(2025, 12, 27)],
    )
    rng = np.random.default_rng(7)
    lo, hi = to_epoch_us(at(BERLIN, 2025, 1, 1)), to_epoch_us(at(BERLIN, 2026, 12, 1))
    starts = rng.integers(lo, hi, 2_000)
    amounts = rng.integers(0, 80 * HOUR_US, 2_000)
    amounts[::7] = 0
    deadlines = calendar.add_many(starts, amounts)
    spans = calendar.between_many(starts, deadlines[::-1])
    for i in range(starts.size):
        assert deadlines[i] == calendar.add_us(int(starts[i]), int(amounts[i]))
        assert spans[i] == calendar.between_us(int(starts[i]), int(deadlines[::-1][i]))
    assert (calendar.between_many(starts, deadlines) == amounts).all()


def test_batch_input_checks_and_shapes(office: WorkCalendar) -> None:
    monday = to_epoch_us(at(SH, 2025, 5, 12, 10))
    grid = office.add_many(np.array([[monday], [monday + HOUR_US]]), np.array([0, HOUR_US]))
    assert grid.shape == (2, 2)
    assert grid.dtype == np.int64
    assert office.add_many(np.array([], dtype=np.int64), 5).size == 0
    with pytest.raises(ValueError, match="negative"):
        office.add_many([monday], [-1])
    with pytest.raises(ValueError, match="integer"):
        office.add_many([float(monday)], [1])
    with pytest.raises(ValueError, match="overflow"):
        office.add_many([monday], [2**61])


# --------------------------------------------------------------------------- the reference


def _cases(spec: Spec, rng: random.Random, count: int) -> list[tuple[int, int, int, int]]:
    """Random (start, amount, other instant, window end), biased towards awkward values."""
    round_amounts = [MINUTE_US * 30 * k for k in range(48)]
    out = []
    for _ in range(count):
        lo, hi = rng.choice(spec.windows)
        base = rng.randrange(lo, lo + (hi - lo) * 2 // 3)
        kind = rng.random()
        if kind < 0.3:
            start = base - base % (30 * MINUTE_US)
        elif kind < 0.6:
            start = base - base % MINUTE_US
        else:
            start = base
        amount = rng.choice(
            [0, 1, rng.randrange(MINUTE_US), rng.choice(round_amounts), rng.randrange(30 * HOUR_US)]
        )
        other = start + rng.randrange(-36 * HOUR_US, 36 * HOUR_US)
        if rng.random() < 0.3:
            other -= other % MINUTE_US
        out.append((start, amount, other, hi))
    return out


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda spec: spec.name)
def test_agrees_with_minute_by_minute_reference(spec: Spec) -> None:
    calendar, reference = spec.build(), Reference(spec)
    rng = random.Random(spec.name)
    for start, amount, other, window_end in _cases(spec, rng, 600):
        assert calendar.is_working_us(start) == reference.is_working(start), start
        assert calendar.between_us(start, other) == reference.between(start, other), (start, other)
        expected = reference.add(start, amount, limit=window_end)
        try:
            got = calendar.add_us(start, amount)
        except NoWorkingTimeError:
            assert expected is None
            continue
        if expected is None:
            assert got >= window_end
        else:
            assert got == expected, (start, amount)
