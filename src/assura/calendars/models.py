"""Working-time calendars as data: weekly hours, holidays, make-up days, versions.

The arithmetic lives in `clock.py`; these rows are what a quality manager edits. Every
change is frozen into a `CalendarVersion` so a clock can say exactly which definition
it was measured against, and an old figure can be replayed after the calendar changed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from assura.calendars.clock import WorkCalendar
from assura.core.models import User, code_validator

MINUTES_PER_DAY = 24 * 60


class CalendarQuerySet(models.QuerySet["Calendar"]):
    def visible_to(self, user: User) -> CalendarQuerySet:
        """Calendars are provider configuration; customers see them only through promises."""
        if user.is_customer:
            return self.none()
        return self.all()


class Calendar(models.Model):
    """A named working-time calendar: 24×7, or business hours with holidays."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    description = models.TextField(_("description"), blank=True)
    follows_official_china = models.BooleanField(
        _("follows China's official holidays"),
        default=False,
        help_text=_("Official holidays and make-up working days are loaded for each year."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    current_version = models.ForeignKey(
        "CalendarVersion",
        verbose_name=_("current version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = CalendarQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendar")
        verbose_name_plural = _("calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def definition(self) -> dict[str, Any]:
        """The calendar as `WorkCalendar.to_dict()` would spell it, built from the rows."""
        week: dict[str, list[list[str]]] = {}
        for interval in self.intervals.order_by("weekday", "start_minute"):
            week.setdefault(str(interval.weekday), []).append(interval.spelled())
        holidays, makeup = [], {}
        for day in self.special_days.order_by("date"):
            if day.kind == SpecialDayKind.HOLIDAY:
                holidays.append(day.date.isoformat())
            else:
                makeup[day.date.isoformat()] = day.spans() or None
        return {"tz": self.time_zone, "week": week, "holidays": holidays, "makeup_days": makeup}


class WeeklyInterval(models.Model):
    """One span of working time on a weekday, in the calendar's local wall time.

    Minutes since midnight rather than TimeField so that an interval may end at 24:00.
    """

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), validators=[MaxValueValidator(6)], help_text=_("0 = Monday")
    )
    start_minute = models.PositiveSmallIntegerField(
        _("start"), validators=[MaxValueValidator(MINUTES_PER_DAY - 1)]
    )
    end_minute = models.PositiveSmallIntegerField(
        _("end"), validators=[MaxValueValidator(MINUTES_PER_DAY)]
    )

    class Meta:
        verbose_name = _("working interval")
        verbose_name_plural = _("working intervals")
        ordering = ["weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_minute__gt=models.F("start_minute")),
                name="interval_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        start, end = self.spelled()
        return f"{self.weekday}: {start}-{end}"

    def spelled(self) -> list[str]:
        return [spell_minute(self.start_minute), spell_minute(self.end_minute)]


class SpecialDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday (no work)")
    WORKDAY = "workday", _("Make-up working day")


class SpecialDaySource(models.TextChoices):
    OFFICIAL = "official", _("Official calendar")
    MANUAL = "manual", _("Entered by hand")
    ICS = "ics", _("Imported from iCalendar")


class SpecialDay(models.Model):
    """A date that departs from the weekly hours: a holiday, or a make-up working day (调休)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="special_days")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=16, choices=SpecialDayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    intervals = models.JSONField(
        _("working intervals"),
        default=list,
        blank=True,
        help_text=_("For a make-up day: its hours; empty means the normal weekday hours."),
    )
    source = models.CharField(
        _("source"), max_length=16, choices=SpecialDaySource.choices, default="manual"
    )

    class Meta:
        verbose_name = _("special day")
        verbose_name_plural = _("special days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="one_special_day_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.get_kind_display()} {self.name}".strip()

    def spans(self) -> list[list[str]]:
        return [list(span) for span in self.intervals or []]


class VersionReason(models.TextChoices):
    """Why a version was made; stored as a code so history reads in every language."""

    CREATED = "created", _("Calendar created")
    HOURS_CHANGED = "hours_changed", _("Weekly hours or time zone changed")
    DAY_SET = "day_set", _("Special day set")
    DAY_REMOVED = "day_removed", _("Special day removed")
    OFFICIAL_LOADED = "official_loaded", _("Official days loaded")
    ICS_IMPORTED = "ics_imported", _("Imported from iCalendar")


class CalendarVersion(models.Model):
    """A frozen definition of a calendar; clocks point at the version they were measured on."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=32, choices=VersionReason.choices)
    reason_data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("calendar version")
        verbose_name_plural = _("calendar versions")
        ordering = ["calendar", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "number"], name="one_number_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.calendar} v{self.number}"

    def work_calendar(self) -> WorkCalendar:
        return work_calendar_for(self.fingerprint, self.definition)

    @property
    def reason_text(self) -> str:
        """The reason in the reader's language, with its detail (a date, a year, a count)."""
        detail = ", ".join(f"{value}" for value in self.reason_data.values())
        label = str(self.get_reason_display())
        return f"{label}: {detail}" if detail else label


class RecomputeJob(models.Model):
    """Progress of re-measuring open clocks after a calendar changed, shown to the editor."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    calendar_version = models.ForeignKey(
        CalendarVersion, on_delete=models.CASCADE, related_name="recompute_jobs"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recompute job")
        verbose_name_plural = _("recompute jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.calendar_version}: {self.done}/{self.total} {self.status}"


_WORK_CALENDARS: dict[str, WorkCalendar] = {}


def work_calendar_for(fingerprint: str, definition: dict[str, Any]) -> WorkCalendar:
    """One WorkCalendar (with its interval tables) per distinct definition, kept for reuse.

    Keyed by the definition's fingerprint, not the row id, so equal definitions share
    their tables and a reused id can never pick up another calendar's.
    """
    cached = _WORK_CALENDARS.get(fingerprint)
    if cached is None:
        cached = WorkCalendar.from_dict(definition)
        _WORK_CALENDARS[cached.fingerprint] = cached
    return cached


def spell_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_minute(text: str) -> int:
    """'09:30' → 570; '24:00' is allowed as the end of a day."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValidationError(_("Write times as HH:MM, e.g. 09:00."))
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY:
        raise ValidationError(_("%(time)s is not a time of day.") % {"time": text})
    return value
