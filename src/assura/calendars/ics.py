"""iCalendar (.ics) exchange of special days, with the `icalendar` library.

A calendar's holidays and make-up working days travel as all-day events. What is a
make-up day is marked three ways so files from elsewhere are understood too: our own
`X-ASSURA-KIND`, a `WORKDAY` category, or a summary that says so ("班", "上班",
"workday", "make-up"). Everything else all-day is a holiday. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar

HOLIDAY, WORKDAY = "holiday", "workday"
WORKDAY_WORDS = ("班", "上班", "workday", "working day", "make-up", "makeup")
MAX_EVENT_DAYS = 366


class IcsError(ValueError):
    """The file cannot be read as iCalendar at all."""


@dataclass(frozen=True)
class IcsDay:
    day: date
    kind: str
    name: str


@dataclass
class IcsReading:
    days: list[IcsDay] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def read(content: bytes) -> IcsReading:
    """All-day events as special days; timed or malformed events are listed as skipped."""
    try:
        calendar = icalendar.Calendar.from_ical(content)
    except (ValueError, IndexError, KeyError) as error:
        raise IcsError(str(error) or "not an iCalendar file") from None
    reading = IcsReading()
    for event in calendar.walk("VEVENT"):
        summary = str(event.get("SUMMARY", "")).strip()
        start = event.decoded("DTSTART", None)
        if not isinstance(start, date) or isinstance(start, datetime):
            reading.skipped.append(f"{summary or '?'}: not an all-day event")
            continue
        end = event.decoded("DTEND", None) or start + timedelta(days=1)
        if isinstance(end, datetime) or end <= start or (end - start).days > MAX_EVENT_DAYS:
            reading.skipped.append(f"{summary or start.isoformat()}: unusable end date")
            continue
        kind = _kind(event, summary)
        reading.days.extend(
            IcsDay(start + timedelta(days=offset), kind, summary[:100])
            for offset in range((end - start).days)
        )
    return reading


def _kind(event: icalendar.cal.Component, summary: str) -> str:
    marked = str(event.get("X-ASSURA-KIND", "")).strip().lower()
    if marked in (HOLIDAY, WORKDAY):
        return marked
    categories = event.get("CATEGORIES")
    names = _category_names(categories)
    if "WORKDAY" in names:
        return WORKDAY
    lowered = summary.lower()
    return WORKDAY if any(word in lowered for word in WORKDAY_WORDS) else HOLIDAY


def _category_names(categories: object) -> set[str]:
    if categories is None:
        return set()
    items = categories if isinstance(categories, list) else [categories]
    names: set[str] = set()
    for item in items:
        for value in getattr(item, "cats", [item]):
            names.add(str(value).strip().upper())
    return names


def write(name: str, code: str, tz: str, days: Iterable[IcsDay]) -> bytes:
    """The special days as an .ics file another assura (or a calendar app) can read."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//assura//calendar export//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("X-WR-CALNAME", name)
    calendar.add("X-WR-TIMEZONE", tz)
    for special in days:
        event = icalendar.Event()
        event.add("UID", f"{special.day.isoformat()}-{special.kind}@{code}.assura")
        event.add("DTSTAMP", datetime(2000, 1, 1))
        event.add("DTSTART", special.day)
        event.add("DTEND", special.day + timedelta(days=1))
        event.add("SUMMARY", special.name or special.kind)
        event.add("CATEGORIES", [special.kind.upper()])
        event.add("X-ASSURA-KIND", special.kind)
        event.add("TRANSP", "TRANSPARENT")
        calendar.add_component(event)
    content: bytes = calendar.to_ical()
    return content
