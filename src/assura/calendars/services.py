"""Every change to a calendar: validated, audited, frozen into a new version.

A change that leaves the definition as it was (same fingerprint) makes no version, so
loading the same official year twice or saving an untouched form costs nothing and
re-measures no clock. A new version is announced with `calendar_changed` once the
transaction commits; the SLA app listens and re-measures the open clocks that use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from assura.calendars import cn, ics
from assura.calendars.clock import WorkCalendar
from assura.calendars.models import (
    Calendar,
    CalendarVersion,
    SpecialDay,
    SpecialDayKind,
    SpecialDaySource,
    VersionReason,
    WeeklyInterval,
    parse_minute,
)
from assura.core.audit import acting_as
from assura.core.models import User
from assura.core.permissions import Action, can

#: Sent after commit with `version` (the new CalendarVersion); see module docstring.
calendar_changed = Signal()

Span = Sequence[str]
WeekInput = Mapping[int, Iterable[Span]]

ROUND_THE_CLOCK: WeekInput = {day: [("00:00", "24:00")] for day in range(7)}
OFFICE_HOURS: WeekInput = {day: [("09:00", "18:00")] for day in range(5)}


def _require(actor: User | None) -> None:
    if actor is not None and not can(actor, Action.MANAGE_CONFIGURATION):
        raise PermissionDenied(_("You are not allowed to change calendars."))


def create_calendar(
    *,
    actor: User | None,
    code: str,
    name: str,
    time_zone: str = "Asia/Shanghai",
    week: WeekInput = OFFICE_HOURS,
    follows_official_china: bool = False,
    description: str = "",
) -> Calendar:
    """A new calendar with its weekly hours; official years are loaded when asked to."""
    _require(actor)
    calendar = Calendar(
        code=code.strip(),
        name=name.strip(),
        time_zone=time_zone,
        follows_official_china=follows_official_china,
        description=description,
    )
    calendar.full_clean(exclude=["current_version"])
    intervals = _intervals(week)
    with acting_as(actor):
        calendar.save()
        WeeklyInterval.objects.bulk_create(
            WeeklyInterval(calendar=calendar, weekday=d, start_minute=s, end_minute=e)
            for d, s, e in intervals
        )
        if follows_official_china:
            for year in cn.covered_years():
                _upsert_official_year(calendar, year)
        _publish(actor, calendar, VersionReason.CREATED)
    return calendar


def update_calendar(
    *,
    actor: User | None,
    calendar: Calendar,
    name: str | None = None,
    time_zone: str | None = None,
    week: WeekInput | None = None,
    description: str | None = None,
) -> Calendar:
    """Change the name, zone or weekly hours; a changed definition becomes a new version."""
    _require(actor)
    if name is not None:
        calendar.name = name.strip()
    if time_zone is not None:
        calendar.time_zone = time_zone
    if description is not None:
        calendar.description = description
    calendar.full_clean(exclude=["current_version", "code"])
    intervals = _intervals(week) if week is not None else None
    with acting_as(actor):
        calendar.save()
        if intervals is not None:
            calendar.intervals.all().delete()
            WeeklyInterval.objects.bulk_create(
                WeeklyInterval(calendar=calendar, weekday=d, start_minute=s, end_minute=e)
                for d, s, e in intervals
            )
        _publish(actor, calendar, VersionReason.HOURS_CHANGED)
    return calendar


def set_special_day(
    *,
    actor: User | None,
    calendar: Calendar,
    day: date,
    kind: str,
    name: str = "",
    intervals: Iterable[Span] = (),
    source: str = SpecialDaySource.MANUAL,
) -> SpecialDay:
    """Mark a date as a holiday or a make-up working day (replacing what it was)."""
    _require(actor)
    if kind not in SpecialDayKind.values:
        raise ValidationError({"kind": _("Choose holiday or make-up working day.")})
    spans = [list(span) for span in intervals]
    if kind == SpecialDayKind.HOLIDAY and spans:
        raise ValidationError({"intervals": _("A holiday has no working hours.")})
    _check_spans(spans)
    with acting_as(actor):
        special, _created = SpecialDay.objects.update_or_create(
            calendar=calendar,
            date=day,
            defaults={
                "kind": kind,
                "name": name.strip()[:100],
                "intervals": spans,
                "source": source,
            },
        )
        _publish(actor, calendar, VersionReason.DAY_SET, date=day.isoformat(), kind=kind)
    return special


def remove_special_day(*, actor: User | None, calendar: Calendar, day: date) -> None:
    _require(actor)
    with acting_as(actor):
        deleted, _rows = SpecialDay.objects.filter(calendar=calendar, date=day).delete()
        if deleted:
            _publish(actor, calendar, VersionReason.DAY_REMOVED, date=day.isoformat())


def load_official_days(*, actor: User | None, calendar: Calendar, year: int) -> int:
    """Copy China's official holidays and make-up days of `year` into the calendar.

    Days someone entered or imported by hand are kept: a manual correction is the
    reason it exists. Returns how many dates were added or changed.
    """
    _require(actor)
    if year not in cn.covered_years():
        years = cn.covered_years()
        raise ValidationError(
            {
                "year": _(
                    "No official data for %(year)s (known: %(first)s-%(last)s). "
                    "Enter that year's holidays and make-up days by hand or import an .ics file."
                )
                % {"year": year, "first": years[0], "last": years[-1]}
            }
        )
    with acting_as(actor):
        changed = _upsert_official_year(calendar, year)
        if changed:
            _publish(actor, calendar, VersionReason.OFFICIAL_LOADED, year=year)
    return changed


def _upsert_official_year(calendar: Calendar, year: int) -> int:
    """Bulk-write one official year; the new version's audit entry records the change."""
    holidays, makeup = cn.official_days(year)
    names = cn.official_names(year)
    existing = {row.date: row for row in calendar.special_days.filter(date__year=year)}
    wanted = [
        *((d, SpecialDayKind.HOLIDAY) for d in holidays),
        *((d, SpecialDayKind.WORKDAY) for d in makeup),
    ]
    fresh, changed = [], []
    for day, kind in wanted:
        row = existing.get(day)
        name = names.get(day, "")
        if row is None:
            fresh.append(
                SpecialDay(
                    calendar=calendar,
                    date=day,
                    kind=kind,
                    name=name,
                    source=SpecialDaySource.OFFICIAL,
                )
            )
        elif row.source == SpecialDaySource.OFFICIAL and (row.kind, row.name) != (kind, name):
            row.kind, row.name, row.intervals = kind, name, []
            changed.append(row)
    SpecialDay.objects.bulk_create(fresh)
    SpecialDay.objects.bulk_update(changed, ["kind", "name", "intervals"])
    return len(fresh) + len(changed)


def _publish(
    actor: User | None, calendar: Calendar, reason: VersionReason, **detail: object
) -> CalendarVersion | None:
    """Freeze the current rows into a version when they differ from the current one."""
    definition = calendar.definition()
    try:
        work_calendar = WorkCalendar.from_dict(definition)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    current = calendar.current_version
    if current is not None and current.fingerprint == work_calendar.fingerprint:
        return None
    number = (current.number + 1) if current else 1
    version = CalendarVersion.objects.create(
        calendar=calendar,
        number=number,
        definition=definition,
        fingerprint=work_calendar.fingerprint,
        created_by=actor,
        reason=reason[:200],
    )
    calendar.current_version = version
    calendar.save(update_fields=["current_version"])
    transaction.on_commit(lambda: calendar_changed.send(sender=Calendar, version=version))
    return version


def _intervals(week: WeekInput) -> list[tuple[int, int, int]]:
    """Validate a week given as {weekday: [("09:00", "12:00"), …]} into minute triples."""
    rows: list[tuple[int, int, int]] = []
    for weekday, spans in week.items():
        if not 0 <= int(weekday) <= 6:
            raise ValidationError({"week": _("Weekdays run from 0 (Monday) to 6 (Sunday).")})
        rows.extend((int(weekday), start, end) for start, end in _check_spans(spans, "week"))
    return rows


def _check_spans(spans: Iterable[Span], field: str = "intervals") -> list[tuple[int, int]]:
    """One day's intervals as sorted (start, end) minutes, refusing overlaps."""
    ordered = sorted(_span_minutes(span) for span in spans)
    for (_start, end), (start, _end) in itertools.pairwise(ordered):
        if start < end:
            raise ValidationError({field: _("Working intervals of one day overlap.")})
    return ordered


def _span_minutes(span: Span) -> tuple[int, int]:
    if len(span) != 2:
        raise ValidationError(_("An interval has a start and an end."))
    start, end = parse_minute(str(span[0])), parse_minute(str(span[1]))
    if end <= start:
        raise ValidationError(
            _("An interval must end after it starts (%(start)s-%(end)s).")
            % {"start": span[0], "end": span[1]}
        )
    return start, end


def definition_summary(calendar: Calendar) -> dict[str, Any]:
    """What the editor shows beside the form: hours per week and the special-day count."""
    work = WorkCalendar.from_dict(calendar.definition())
    weekly_minutes = sum((end - start) for day in work.week for start, end in day) // 60_000_000
    return {
        "weekly_hours": weekly_minutes / 60,
        "holidays": calendar.special_days.filter(kind=SpecialDayKind.HOLIDAY).count(),
        "workdays": calendar.special_days.filter(kind=SpecialDayKind.WORKDAY).count(),
    }


def import_ics(*, actor: User | None, calendar: Calendar, content: bytes) -> ics.IcsReading:
    """Take the special days of an .ics file; each date replaces what the calendar had."""
    _require(actor)
    try:
        reading = ics.read(content)
    except ics.IcsError:
        raise ValidationError({"file": _("This file is not an iCalendar (.ics) file.")}) from None
    if not reading.days:
        raise ValidationError({"file": _("The file has no all-day events to import.")})
    with acting_as(actor):
        for special in reading.days:
            SpecialDay.objects.update_or_create(
                calendar=calendar,
                date=special.day,
                defaults={
                    "kind": special.kind,
                    "name": special.name,
                    "intervals": [],
                    "source": SpecialDaySource.ICS,
                },
            )
        _publish(actor, calendar, VersionReason.ICS_IMPORTED, days=len(reading.days))
    return reading


def export_ics(calendar: Calendar) -> bytes:
    days = [
        ics.IcsDay(row.date, row.kind, row.name) for row in calendar.special_days.order_by("date")
    ]
    return ics.write(calendar.name, calendar.code, calendar.time_zone, days)
