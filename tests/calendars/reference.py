"""A deliberately slow, obviously correct model of a working calendar, plus shared test calendars.

The reference decides, minute by minute, whether an instant is working time straight from the
definition: convert the minute to local wall time and look it up in that local date's hours.
Every interval boundary and every DST change of the calendars below falls on a whole UTC
minute, so working time is constant within each minute; partial minutes are then weighed in
microseconds, which lets the reference check microsecond exactness too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from assura.calendars.clock import WorkCalendar

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US

Spans = Sequence[tuple[str, str]]


def minutes(text: str) -> int:
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def epoch_us(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: str = "UTC"
) -> int:
    moment = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))
    return round(moment.astimezone(UTC).timestamp()) * 1_000_000


@dataclass
class Spec:
    """A calendar definition in plain data, fed both to WorkCalendar and to the reference."""

    name: str
    tz: str
    week: Mapping[int, Spans]
    holidays: frozenset[date] = frozenset()
    makeup: Mapping[date, Spans | None] = field(default_factory=dict)
    #: A few local days around which random cases are drawn: (start, end) epoch µs windows.
    windows: Sequence[tuple[int, int]] = ()

    def build(self) -> WorkCalendar:
        return WorkCalendar(self.tz, self.week, self.holidays, self.makeup)


class Reference:
    """Minute-by-minute working time, memoised per minute because cases overlap heavily."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.tz)
        self.memo: dict[int, bool] = {}

    def day_spans(self, day: date) -> list[tuple[int, int]]:
        """Minutes since midnight; make-up beats holiday beats the weekly pattern."""
        if day in self.spec.makeup:
            spans = self.spec.makeup[day]
            if spans is None:
                spans = self.spec.week.get(day.weekday()) or next(
                    s for _, s in sorted(self.spec.week.items()) if s
                )
        elif day in self.spec.holidays:
            spans = ()
        else:
            spans = self.spec.week.get(day.weekday(), ())
        return [(minutes(start), minutes(end)) for start, end in spans]

    def minute_works(self, minute: int) -> bool:
        found = self.memo.get(minute)
        if found is None:
            local = datetime.fromtimestamp(minute * 60, self.zone)
            wall = local.hour * 60 + local.minute
            found = any(lo <= wall < hi for lo, hi in self.day_spans(local.date()))
            self.memo[minute] = found
        return found

    def is_working(self, t: int) -> bool:
        return self.minute_works(t // MINUTE_US)

    def between(self, a: int, b: int) -> int:
        if b < a:
            return -self.between(b, a)
        total = 0
        for minute in range(a // MINUTE_US, -(-b // MINUTE_US)):
            if self.minute_works(minute):
                lo = max(a, minute * MINUTE_US)
                hi = min(b, (minute + 1) * MINUTE_US)
                total += max(0, hi - lo)
        return total

    def add(self, a: int, amount: int, limit: int) -> int | None:
        """Walk forward one minute at a time; ``None`` if ``limit`` is reached first."""
        pos = a
        while pos < limit:
            minute = pos // MINUTE_US
            minute_end = (minute + 1) * MINUTE_US
            if self.minute_works(minute):
                if amount == 0:
                    return pos
                if amount <= minute_end - pos:
                    return pos + amount
                amount -= minute_end - pos
            pos = minute_end
        return None


# --------------------------------------------------------------------------- shared calendars

OFFICE = {day: [("09:00", "18:00")] for day in range(5)}
LUNCH = [("09:00", "12:00"), ("13:30", "18:00")]


def _window(tz: str, first: tuple[int, int, int], last: tuple[int, int, int]) -> tuple[int, int]:
    return epoch_us(*first, tz=tz), epoch_us(*last, tz=tz)


SHANGHAI = Spec(
    name="china-golden-week",
    tz="Asia/Shanghai",
    week=OFFICE,
    holidays=frozenset(date(2025, 10, d) for d in range(1, 9)) | {date(2026, 1, 1)},
    makeup={date(2025, 9, 28): None, date(2025, 10, 11): None},
    windows=[_window("Asia/Shanghai", (2025, 9, 20), (2025, 10, 25))],
)

BERLIN = Spec(
    name="berlin-lunch-dst",
    tz="Europe/Berlin",
    week={**dict.fromkeys(range(5), LUNCH), 5: [("10:00", "14:00")]},
    holidays=frozenset({date(2025, 3, 28), date(2025, 10, 24), date(2025, 3, 29)}),
    makeup={
        # Sunday of the spring-forward change: part of the interval is in the skipped hour.
        date(2025, 3, 30): [("01:30", "02:30"), ("09:00", "10:00")],
        # Sunday of the fall-back change: the repeated hour counts twice.
        date(2025, 10, 26): [("01:30", "03:30")],
        # A holiday Saturday that is worked anyway, with default (Saturday) hours.
        date(2025, 3, 29): None,
        # A Sunday with default hours: Sunday has none, so Monday's lunch-break day applies.
        date(2025, 11, 2): None,
    },
    windows=[
        _window("Europe/Berlin", (2025, 3, 24), (2025, 4, 8)),
        _window("Europe/Berlin", (2025, 10, 20), (2025, 11, 6)),
    ],
)

NEW_YORK = Spec(
    name="new-york-nights",
    tz="America/New_York",
    week={day: [("00:30", "02:30"), ("22:00", "24:00")] for day in range(7)},
    holidays=frozenset({date(2025, 11, 4)}),
    windows=[
        _window("America/New_York", (2025, 3, 6), (2025, 3, 14)),
        _window("America/New_York", (2025, 10, 30), (2025, 11, 8)),
    ],
)

KOLKATA = Spec(
    name="kolkata-year-end",
    tz="Asia/Kolkata",
    week={day: [("00:00", "06:00"), ("20:00", "24:00")] for day in range(6)},
    holidays=frozenset({date(2026, 1, 1)}),
    makeup={date(2026, 1, 4): [("08:15", "08:45")]},
    windows=[_window("Asia/Kolkata", (2025, 12, 24), (2026, 1, 10))],
)

ALWAYS_NY = Spec(
    name="24x7-new-york",
    tz="America/New_York",
    week={day: [("00:00", "24:00")] for day in range(7)},
    windows=[_window("America/New_York", (2025, 11, 1), (2025, 11, 4))],
)

SPARSE = Spec(
    name="makeup-days-only",
    tz="Europe/Berlin",
    week={},
    makeup={date(2025, 3, 30): [("00:00", "24:00")], date(2025, 4, 2): [("12:00", "12:01")]},
    windows=[_window("Europe/Berlin", (2025, 3, 27), (2025, 4, 4))],
)

ALL_SPECS = (SHANGHAI, BERLIN, NEW_YORK, KOLKATA, ALWAYS_NY, SPARSE)
