"""China's official calendar: the worked examples, and every covered date against the package."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from assura.calendars.clock import WorkCalendar
from assura.calendars.cn import china_workdays, covered_years, official_days, official_names

SH = ZoneInfo("Asia/Shanghai")
H = 3600


@pytest.fixture(scope="module")
def china() -> WorkCalendar:
    return china_workdays()


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH)


def test_friday_evening_plus_four_hours_lands_on_a_makeup_sunday(china: WorkCalendar) -> None:
    assert china.add(at(2025, 9, 26, 17), 4 * H) == at(2025, 9, 28, 12)


def test_golden_week_is_skipped(china: WorkCalendar) -> None:
    assert china.add(at(2025, 9, 30, 17), 8 * H) == at(2025, 10, 9, 16)
    assert china.between(at(2025, 9, 30, 17), at(2025, 10, 9, 16)) == 8 * H
    assert china.is_working(at(2025, 10, 11, 10))  # a make-up Saturday
    assert not china.is_working(at(2025, 10, 6, 10))  # a Monday inside the holiday


def test_new_year_2026_and_its_makeup_sunday(china: WorkCalendar) -> None:
    assert china.add(at(2025, 12, 31, 17), 2 * H) == at(2026, 1, 4, 10)


def test_covered_years() -> None:
    years = covered_years()
    assert years[0] == 2004
    assert 2025 in years
    assert 2026 in years
    assert list(years) == list(range(years[0], years[-1] + 1))


def test_official_days_of_one_year() -> None:
    holidays, makeup = official_days(2025)
    assert date(2025, 10, 1) in holidays
    assert date(2025, 1, 28) in holidays
    assert makeup == {
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    }
    assert all(day.year == 2025 for day in holidays)
    assert not holidays & makeup
    with pytest.raises(ValueError, match="no official data for 1999"):
        official_days(1999)
    with pytest.raises(ValueError, match="no official data"):
        official_days(covered_years()[-1] + 1)


def test_every_covered_date_matches_the_package(china: WorkCalendar) -> None:
    day = date(covered_years()[0], 1, 1)
    last = date(covered_years()[-1], 12, 31)
    while day <= last:
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=SH)
        assert china.is_working(noon) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_working_hours_per_year_over_two_decades(china: WorkCalendar) -> None:
    for year in covered_years():
        workdays = len(chinese_calendar.get_workdays(date(year, 1, 1), date(year, 12, 31)))
        assert china.between(at(year, 1, 1), at(year + 1, 1, 1)) == 9 * H * workdays, year
    everything = china.between(at(2004, 1, 1), at(covered_years()[-1] + 1, 1, 1))
    assert everything / H == 9 * sum(
        len(chinese_calendar.get_workdays(date(y, 1, 1), date(y, 12, 31))) for y in covered_years()
    )


def test_custom_hours_and_zone_apply_to_makeup_days_too() -> None:
    calendar = china_workdays(
        intervals=[("08:30", "12:00"), ("13:00", "17:30")], tz="Asia/Hong_Kong"
    )
    assert calendar.tz == "Asia/Hong_Kong"
    assert calendar.intervals_on(date(2025, 9, 28)) == calendar.week[0]
    start = datetime(2025, 9, 26, 17, tzinfo=ZoneInfo("Asia/Hong_Kong"))
    assert calendar.add(start, 2 * H) == datetime(
        2025, 9, 28, 10, tzinfo=ZoneInfo("Asia/Hong_Kong")
    )


def test_years_beyond_the_data_fall_back_to_the_plain_week(china: WorkCalendar) -> None:
    after = covered_years()[-1] + 2
    first_monday = date(after, 1, 1) + timedelta(days=-date(after, 1, 1).weekday() % 7)
    monday = datetime(first_monday.year, first_monday.month, first_monday.day, 9, tzinfo=SH)
    assert china.between(monday, monday + timedelta(days=7)) == 45 * H


def test_fingerprint_is_stable_across_builds() -> None:
    assert china_workdays().fingerprint == china_workdays().fingerprint
    assert china_workdays().fingerprint != china_workdays(tz="Asia/Hong_Kong").fingerprint


def test_official_names_cover_holidays_and_makeup_days() -> None:
    names = official_names(2025)
    assert names[date(2025, 10, 1)] == "National Day"
    assert names[date(2025, 9, 28)] == "National Day"  # the make-up Sunday before it
    holidays, makeup = official_days(2025)
    assert set(names) == holidays | makeup
