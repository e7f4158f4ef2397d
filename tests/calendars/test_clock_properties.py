"""Algebraic properties of add/between that must hold for every calendar, found by hypothesis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assura.calendars.clock import WorkCalendar, from_epoch_us, to_epoch_us
from assura.calendars.cn import china_workdays

from .reference import BERLIN, HOUR_US, KOLKATA, NEW_YORK, SHANGHAI, Spec, epoch_us

CHECKS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

SPECS: tuple[Spec, ...] = (SHANGHAI, BERLIN, NEW_YORK, KOLKATA)
CALENDARS: dict[str, WorkCalendar] = {spec.name: spec.build() for spec in SPECS}
CALENDARS["china-2004-2026"] = china_workdays()
CALENDARS["24x7-berlin"] = WorkCalendar.always("Europe/Berlin")

LO, HI = epoch_us(2024, 12, 20), epoch_us(2026, 2, 1)
QUARTER_US = 15 * 60_000_000

calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
# Round instants and amounts are where off-by-one errors live, so mix them with arbitrary ones.
instants = st.one_of(
    st.integers(LO, HI),
    st.integers(LO // QUARTER_US + 1, HI // QUARTER_US).map(lambda q: q * QUARTER_US),
)
amounts = st.one_of(
    st.just(0),
    st.integers(1, 1_000),
    st.integers(0, 120).map(lambda q: q * QUARTER_US),
    st.integers(0, 100 * HOUR_US),
)


@CHECKS
@given(calendars, instants, amounts)
def test_between_undoes_add(calendar: WorkCalendar, start: int, amount: int) -> None:
    """Exact for every start, working or not: the count starts at the next working instant."""
    assert calendar.between_us(start, calendar.add_us(start, amount)) == amount


@CHECKS
@given(calendars, instants, instants)
def test_add_of_between_reaches_the_earliest_instant_with_that_much_work(
    calendar: WorkCalendar, start: int, end: int
) -> None:
    """The converse only holds up to idle time: ``add`` stops as early as it can."""
    start, end = min(start, end), max(start, end)
    worked = calendar.between_us(start, end)
    reached = calendar.add_us(start, worked)
    assert start <= reached <= end or (worked == 0 and reached >= end)
    assert calendar.between_us(reached, end) == 0
    if worked and calendar.is_working_us(end - 1):
        assert reached == end


@CHECKS
@given(calendars, instants, amounts, amounts)
def test_add_is_monotonic_in_the_amount(calendar: WorkCalendar, start: int, a: int, b: int) -> None:
    small, large = sorted((a, b))
    assert calendar.add_us(start, small) <= calendar.add_us(start, large)


@CHECKS
@given(calendars, instants, instants, amounts)
def test_add_is_monotonic_in_the_start(calendar: WorkCalendar, a: int, b: int, amount: int) -> None:
    early, late = sorted((a, b))
    assert calendar.add_us(early, amount) <= calendar.add_us(late, amount)


@CHECKS
@given(calendars, instants, amounts, amounts)
def test_add_is_additive(calendar: WorkCalendar, start: int, first: int, second: int) -> None:
    """Holds for a positive second step; a zero step may move off an interval's closing edge."""
    halfway = calendar.add_us(start, first)
    if second > 0:
        assert calendar.add_us(halfway, second) == calendar.add_us(start, first + second)
    else:
        assert calendar.add_us(halfway, 0) == calendar.add_us(start, first + 1) - 1


@CHECKS
@given(calendars, instants, instants, instants)
def test_between_is_additive_over_split_points(
    calendar: WorkCalendar, a: int, b: int, c: int
) -> None:
    assert calendar.between_us(a, c) == calendar.between_us(a, b) + calendar.between_us(b, c)
    assert calendar.between_us(a, b) == -calendar.between_us(b, a)


@CHECKS
@given(calendars, instants, amounts)
def test_deadlines_land_on_working_time(calendar: WorkCalendar, start: int, amount: int) -> None:
    """So no deadline ever ends inside a holiday, a weekend or a lunch break."""
    deadline = calendar.add_us(start, amount)
    if amount:
        assert calendar.is_working_us(deadline - 1)
    else:
        assert calendar.is_working_us(deadline)


@CHECKS
@given(
    st.sampled_from([spec for spec in SPECS if spec.holidays]),
    st.data(),
)
def test_holidays_are_never_counted(spec: Spec, data: st.DataObject) -> None:
    calendar = CALENDARS[spec.name]
    holiday = data.draw(st.sampled_from(sorted(spec.holidays - set(spec.makeup))))
    zone = calendar.zone
    midnight = datetime(holiday.year, holiday.month, holiday.day, tzinfo=zone)
    next_midnight = midnight + timedelta(days=1)
    assert calendar.between(midnight, next_midnight) == 0
    offset = data.draw(st.integers(0, int((next_midnight - midnight).total_seconds()) - 1))
    assert not calendar.is_working(midnight + timedelta(seconds=offset))
    assert calendar.intervals_on(holiday) == ()


@CHECKS
@given(calendars, st.lists(st.tuples(instants, amounts, instants), min_size=1, max_size=40))
def test_batch_equals_scalar(calendar: WorkCalendar, rows: list[tuple[int, int, int]]) -> None:
    starts = np.array([row[0] for row in rows], dtype=np.int64)
    durations = np.array([row[1] for row in rows], dtype=np.int64)
    others = np.array([row[2] for row in rows], dtype=np.int64)
    deadlines = calendar.add_many(starts, durations)
    spans = calendar.between_many(starts, others)
    for (start, amount, other), deadline, span in zip(rows, deadlines, spans, strict=True):
        assert deadline == calendar.add_us(start, amount)
        assert span == calendar.between_us(start, other)


@CHECKS
@given(calendars, instants, amounts)
def test_datetime_api_matches_epoch_api(calendar: WorkCalendar, start: int, amount: int) -> None:
    moment = datetime.fromtimestamp(start // 1_000_000, calendar.zone).replace(
        microsecond=start % 1_000_000
    )
    deadline = calendar.add(moment, timedelta(microseconds=amount))
    assert deadline.tzinfo is calendar.zone
    assert deadline == datetime.fromtimestamp(
        calendar.add_us(start, amount) // 1_000_000, calendar.zone
    ).replace(microsecond=calendar.add_us(start, amount) % 1_000_000)
    assert calendar.between(moment, deadline) == amount / 1_000_000
    assert calendar.is_working(moment) == calendar.is_working_us(start)


@CHECKS
@given(
    st.sampled_from(sorted(CALENDARS)).map(lambda name: CALENDARS[name].zone),
    st.one_of(
        st.integers(-(2**32) * 10**6, 2**32 * 10**6),  # where the float shortcut is taken
        st.integers(-(2**32) * 10**6, 2**32 * 10**6).map(lambda us: us - us % 10**6 + 999_999),
        st.integers(-5 * 10**16, 10**17),  # years 386-5138, mostly the exact slow path
    ),
)
def test_epoch_microseconds_round_trip_exactly(zone: ZoneInfo, epoch: int) -> None:
    moment = from_epoch_us(epoch, zone)
    assert moment.tzinfo is zone
    assert to_epoch_us(moment) == epoch
    assert moment == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=epoch)


def test_property_calendars_cover_what_they_claim() -> None:
    """Guards the fixtures: the interesting days really are inside the sampled range."""
    assert LO < epoch_us(2025, 3, 30) < epoch_us(2025, 11, 2) < epoch_us(2026, 1, 1) < HI
    assert date(2025, 10, 1) in SHANGHAI.holidays
