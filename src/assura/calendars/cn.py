"""China's official working calendar: statutory holidays and make-up working days (调休).

The State Council publishes each year's holidays together with the weekend dates that are
worked in exchange. The ``chinesecalendar`` package ships those tables (from 2004 on); this
module turns them into a ``WorkCalendar`` and exposes them per year, so that an operator can
load the official days for one year into an editable calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import chinese_calendar

from assura.calendars.clock import DaySpec, WorkCalendar

__all__ = ["china_workdays", "covered_years", "official_days", "official_names"]

DEFAULT_INTERVALS: tuple[tuple[str, str], ...] = (("09:00", "18:00"),)
DEFAULT_TZ = "Asia/Shanghai"


def _holiday_table() -> dict[date, str]:
    """Every rest day of an official holiday period, weekends inside the period included."""
    table: dict[date, str] = chinese_calendar.holidays
    return table


def _makeup_table() -> dict[date, str]:
    """Weekend (or otherwise free) dates that are worked to make a holiday period longer."""
    table: dict[date, str] = chinese_calendar.workdays
    return table


def covered_years() -> range:
    """Years for which the installed package has official data, e.g. ``range(2004, 2027)``."""
    years = {day.year for day in _holiday_table()}
    return range(min(years), max(years) + 1)


def official_days(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """``(holidays, makeup_days)`` of one year, for a "load official days" action.

    Raises ``ValueError`` outside ``covered_years()`` rather than returning empty sets, which
    would silently turn a missing year into a year without holidays.
    """
    if year not in covered_years():
        span = covered_years()
        raise ValueError(f"no official data for {year}; known years are {span[0]}-{span[-1]}")
    return _of_year(_holiday_table(), year), _of_year(_makeup_table(), year)


def _of_year(days: Iterable[date], year: int) -> frozenset[date]:
    return frozenset(day for day in days if day.year == year)


def china_workdays(intervals: DaySpec = DEFAULT_INTERVALS, tz: str = DEFAULT_TZ) -> WorkCalendar:
    """Monday-Friday ``intervals`` with every official holiday and make-up day known.

    Make-up days work the same ``intervals`` as a normal weekday. Years outside
    ``covered_years()`` fall back to the plain Monday-Friday week.
    """
    return WorkCalendar.weekly(
        intervals,
        weekdays=range(5),
        tz=tz,
        holidays=tuple(_holiday_table()),
        makeup_days=tuple(_makeup_table()),
    )


def official_names(year: int) -> dict[date, str]:
    """The holiday period each official day of `year` belongs to (e.g. "National Day")."""
    names = {**_makeup_table(), **_holiday_table()}
    return {day: str(name) for day, name in names.items() if day.year == year}
