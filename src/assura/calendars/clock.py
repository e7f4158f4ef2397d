"""Working-time arithmetic on business calendars, exact to the microsecond.

SLA clocks ask two questions millions of times: "when will N seconds of working time have
elapsed after this instant?" (``add``) and "how much working time lies between these two
instants?" (``between``). Walking day by day through datetimes answers both, but slowly and
with rounding traps around DST changes. Instead, each calendar lazily materialises its working
time as sorted, disjoint UTC intervals in integer microseconds since the epoch, together with
the working time accumulated before each interval. Both questions then reduce to a binary
search, for one instant (``bisect``) or for a whole array of them (``numpy.searchsorted``).

Semantics in one sentence: an instant is working time when its wall-clock reading in the
calendar's time zone falls inside one of the working intervals of its local date. See
``docs/calendars.md`` for worked examples and the DST rules that follow from that sentence.
"""

from __future__ import annotations

import hashlib
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import chain
from numbers import Integral, Real
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

__all__ = [
    "HORIZON_YEARS",
    "NoWorkingTimeError",
    "WorkCalendar",
    "from_epoch_us",
    "to_epoch_us",
]

US_PER_SECOND: Final = 1_000_000
HOUR_US: Final = 3_600 * US_PER_SECOND
DAY_US: Final = 24 * HOUR_US

#: ``add`` looks at most this many years past its start for enough working time.
HORIZON_YEARS: Final = 100
#: Local years a calendar can materialise; the margins keep ``datetime`` away from its limits.
MIN_YEAR: Final = 2
MAX_YEAR: Final = 9998

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_FAR_PAST: Final = -(2**62)
_SCAN_STEP_S: Final = 3_600
_MAX_BATCH_US: Final = 2**60
_FLOAT_EXACT_US: Final = 2**32 * US_PER_SECOND  # 1833-2106
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TIME_RE: Final = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?")
_FINGERPRINT_VERSION: Final = "workcal/1"

#: ``[start, end)`` in microseconds since local midnight; ``end`` may be ``DAY_US`` ("24:00").
Interval = tuple[int, int]
DayIntervals = tuple[Interval, ...]
TimeSpec = str | time
IntervalSpec = Sequence[TimeSpec]
DaySpec = Iterable[IntervalSpec]
WeekSpec = Mapping[int, DaySpec] | Sequence[DaySpec]
MakeupSpec = Mapping[date, DaySpec | None] | Iterable[date]
Int64Array = npt.NDArray[np.int64]


class NoWorkingTimeError(ValueError):
    """Raised instead of searching forever when a calendar cannot supply the working time."""


# --------------------------------------------------------------------------- conversions


def to_epoch_us(moment: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (UTC), without float rounding."""
    try:
        delta = moment - _EPOCH
    except TypeError:
        raise ValueError(_not_aware(moment)) from None
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def _not_aware(moment: object) -> str:
    if isinstance(moment, datetime):
        return f"naive datetime {moment.isoformat()} is ambiguous: attach a time zone"
    return f"expected an aware datetime, got {type(moment).__name__}"


def from_epoch_us(epoch_us: int, zone: ZoneInfo) -> datetime:
    """Inverse of ``to_epoch_us``; the result carries ``zone`` and the right ``fold``."""
    if -_FLOAT_EXACT_US < epoch_us < _FLOAT_EXACT_US:
        # Twice as fast, and exact: below 2**32 s a double is within 0.48 µs of the true
        # value, so fromtimestamp's rounding to the microsecond recovers it.
        return datetime.fromtimestamp(epoch_us / US_PER_SECOND, zone)
    try:
        return (_EPOCH + _ONE_US * epoch_us).astimezone(zone)
    except OverflowError as exc:
        raise ValueError(f"{epoch_us} µs since the epoch is outside datetime's range") from exc


def _duration_us(seconds: float | timedelta) -> int:
    """Durations arrive as seconds or timedeltas; internally everything is whole microseconds."""
    if type(seconds) is int:  # the common case, checked before the slower ABC tests
        value = seconds * US_PER_SECOND
    elif isinstance(seconds, timedelta):
        value = seconds // _ONE_US
    elif isinstance(seconds, bool) or not isinstance(seconds, Real):
        raise ValueError(f"duration must be seconds or a timedelta, got {seconds!r}")
    elif isinstance(seconds, Integral):
        value = int(seconds) * US_PER_SECOND
    elif not math.isfinite(seconds):
        raise ValueError(f"duration must be finite, got {seconds!r}")
    else:
        value = round(float(seconds) * US_PER_SECOND)
    if value < 0:
        raise ValueError(f"duration must not be negative, got {seconds!r}")
    return value


def _year_start_us(year: int) -> int:
    """Local midnight of 1 January as if it were UTC: the 'wall epoch' of that year."""
    return (date(year, 1, 1).toordinal() - _EPOCH_ORDINAL) * DAY_US


def _utc_year(epoch_us: int) -> int:
    try:
        return (datetime(1970, 1, 1) + timedelta(microseconds=epoch_us)).year
    except OverflowError as exc:
        raise ValueError(f"{epoch_us} µs since the epoch is outside the supported range") from exc


# --------------------------------------------------------------------------- parsing


def _parse_time(value: TimeSpec, *, is_end: bool) -> int:
    """Wall time -> microseconds since midnight; only an interval's end may be "24:00"."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(f"working hours are local wall times; got aware time {value}")
        seconds = (value.hour * 60 + value.minute) * 60 + value.second
        return seconds * US_PER_SECOND + value.microsecond
    if not isinstance(value, str):
        raise ValueError(f"bad time {value!r}: expected 'HH:MM' or a datetime.time")
    match = _TIME_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"bad time {value!r}: expected HH:MM, HH:MM:SS or HH:MM:SS.ffffff")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    micro = int((match[4] or "").ljust(6, "0"))
    if (hour, minute, second, micro) == (24, 0, 0, 0):
        if not is_end:
            raise ValueError("'24:00' can only end an interval, not start one")
        return DAY_US
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"bad time {value!r}: out of range")
    return ((hour * 60 + minute) * 60 + second) * US_PER_SECOND + micro


def _format_time(us_of_day: int) -> str:
    """Shortest faithful spelling, so definitions and fingerprints read naturally."""
    seconds, micro = divmod(us_of_day, US_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    text = f"{minutes // 60:02d}:{minutes % 60:02d}"
    if second or micro:
        text += f":{second:02d}"
    if micro:
        text += f".{micro:06d}"
    return text


def _parse_day(spec: DaySpec, where: str) -> DayIntervals:
    """Validate one day's intervals: each non-empty, sorted, none overlapping."""
    if isinstance(spec, str):
        raise ValueError(f"{where}: expected a list of (start, end) pairs, got {spec!r}")
    out: list[Interval] = []
    for item in spec:
        if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 2:
            raise ValueError(f"{where}: each interval must be a (start, end) pair, got {item!r}")
        start = _parse_time(item[0], is_end=False)
        end = _parse_time(item[1], is_end=True)
        label = f"{_format_time(start)}-{_format_time(end)}"
        if end <= start:
            raise ValueError(f"{where}: interval {label} is empty or reversed (use '24:00')")
        if out and start < out[-1][1]:
            raise ValueError(f"{where}: interval {label} overlaps or precedes the previous one")
        out.append((start, end))
    return tuple(out)


def _parse_week(week: WeekSpec) -> tuple[DayIntervals, ...]:
    """Accept {weekday: intervals} (0 = Monday, missing = no work) or seven entries."""
    if isinstance(week, Mapping):
        bad = [key for key in week if not (isinstance(key, int) and 0 <= key <= 6)]
        if bad:
            raise ValueError(f"weekday keys must be integers 0 (Monday) to 6 (Sunday), got {bad}")
        return tuple(_parse_day(week.get(day, ()), _WEEKDAYS[day]) for day in range(7))
    if isinstance(week, str):
        raise ValueError("week must map weekdays to intervals")
    days = list(week)
    if len(days) != 7:
        raise ValueError(f"week needs 7 entries (Monday to Sunday), got {len(days)}")
    return tuple(_parse_day(spec, _WEEKDAYS[day]) for day, spec in enumerate(days))


def _check_date(value: object, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{what} must be datetime.date values, got {value!r}")
    return value


def _default_makeup(week: tuple[DayIntervals, ...], day: date) -> DayIntervals:
    """A make-up day works its own weekday's hours, else the first working weekday's."""
    own = week[day.weekday()]
    if own:
        return own
    for intervals in week:
        if intervals:
            return intervals
    raise ValueError(f"make-up day {day} needs explicit intervals: the week has no working hours")


def _parse_makeup(
    makeup: MakeupSpec, week: tuple[DayIntervals, ...]
) -> tuple[tuple[date, DayIntervals], ...]:
    if isinstance(makeup, Mapping):
        items: Iterable[tuple[object, DaySpec | None]] = makeup.items()
    else:
        items = ((day, None) for day in makeup)
    out: dict[date, DayIntervals] = {}
    for raw_day, spec in items:
        day = _check_date(raw_day, "make-up days")
        if spec is None:
            out[day] = _default_makeup(week, day)
        else:
            out[day] = _parse_day(spec, f"make-up day {day}")
            if not out[day]:
                raise ValueError(f"make-up day {day} has no intervals; list it as a holiday")
    return tuple(sorted(out.items()))


# --------------------------------------------------------------------------- time zones


def _offset_us(zone: ZoneInfo, epoch_s: int) -> int:
    offset = datetime.fromtimestamp(epoch_s, zone).utcoffset()
    assert offset is not None
    return offset // _ONE_US


def _first_change(zone: ZoneInfo, lo_s: int, hi_s: int, before: int) -> int:
    """Bisect to the first second in (lo_s, hi_s] whose offset differs from ``before``."""
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset_us(zone, mid) == before:
            lo_s = mid
        else:
            hi_s = mid
    return hi_s


@lru_cache(maxsize=2048)
def _offset_segments(tz: str, year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """UTC offsets around one local year as (segment starts, offsets), both in µs.

    zoneinfo exposes no transition table, so the year (plus two days either side) is sampled
    hourly and each change is bisected to the second. That is exact as long as a zone never
    changes offset twice within one hour, which holds throughout the tz database. Shared by
    every calendar in the zone, hence the module-level cache.
    """
    zone = ZoneInfo(tz)
    lo_s = _year_start_us(year) // US_PER_SECOND - 2 * 86_400
    hi_s = _year_start_us(year + 1) // US_PER_SECOND + 2 * 86_400
    starts, offsets = [_FAR_PAST], [_offset_us(zone, lo_s)]
    for here in range(lo_s, hi_s, _SCAN_STEP_S):
        after = _offset_us(zone, here + _SCAN_STEP_S)
        if after != offsets[-1]:
            change = _first_change(zone, here, here + _SCAN_STEP_S, offsets[-1])
            starts.append(change * US_PER_SECOND)
            offsets.append(after)
    return tuple(starts), tuple(offsets)


def _preimage(
    wall_start: int, wall_end: int, segments: tuple[tuple[int, ...], tuple[int, ...]]
) -> list[Interval]:
    """UTC instants whose wall-clock reading lies in [wall_start, wall_end).

    Within a segment of constant offset the answer is the wall range shifted by the offset and
    clipped to the segment; a skipped hour thus contributes nothing and a repeated hour is
    found in both of its segments.
    """
    starts, offsets = segments
    if len(starts) == 1:
        return [(wall_start - offsets[0], wall_end - offsets[0])]
    out: list[Interval] = []
    k = bisect_right(starts, wall_start - DAY_US) - 1
    while k < len(starts) and starts[k] < wall_end + DAY_US:
        lo = max(wall_start - offsets[k], starts[k])
        hi = wall_end - offsets[k]
        if k + 1 < len(starts):
            hi = min(hi, starts[k + 1])
        if lo < hi:
            out.append((lo, hi))
        k += 1
    return out


# --------------------------------------------------------------------------- materialised time


class _Window:
    """An immutable snapshot of working time for local years [lo, hi).

    Queries are valid for instants in [w0, w1]. Index 0 is a sentinel interval starting at w0,
    so a bisect never falls off the left end. ``cum_end[i]`` is the working time up to the end
    of interval i, and ``base[i]`` is the working time before it minus its start, so that the
    working time up to an instant t inside or after interval i is ``base[i] + min(t, ends[i])``
    and the instant at which a cumulative amount c is reached inside it is ``c - base[i]``.
    """

    __slots__ = ("arrays", "base", "cum_end", "ends", "hi", "lo", "starts", "total", "w0", "w1")

    def __init__(self, lo: int, hi: int, pieces: Iterable[Interval]) -> None:
        self.lo, self.hi = lo, hi
        self.w0 = _year_start_us(lo) + DAY_US
        self.w1 = _year_start_us(hi) - DAY_US
        self.starts, self.ends = _merge_clipped(pieces, self.w0, self.w1)
        self.base, self.cum_end = _cumulate(self.starts, self.ends)
        self.total = self.cum_end[-1]
        self.arrays = tuple(
            np.asarray(values, dtype=np.int64)
            for values in (self.starts, self.ends, self.base, self.cum_end)
        )

    def reach_many(self, target: Int64Array, key: Int64Array) -> Int64Array:
        """Where the cumulative work reaches ``target``; ``key`` as in ``add_us``."""
        _, _, base, cum_end = self.arrays
        result: Int64Array = target - base[np.searchsorted(cum_end, key, side="right")]
        return result

    def worked_many(self, epoch_us: Int64Array) -> Int64Array:
        """Working time from w0 up to each instant."""
        starts, ends, base, _ = self.arrays
        i = np.searchsorted(starts, epoch_us, side="right") - 1
        result: Int64Array = base[i] + np.minimum(epoch_us, ends[i])
        return result


def _merge_clipped(pieces: Iterable[Interval], w0: int, w1: int) -> tuple[list[int], list[int]]:
    """Sort, clip to [w0, w1] and merge touching pieces behind the sentinel at w0."""
    starts, ends = [w0], [w0]
    for start, end in sorted(pieces):
        start, end = max(start, w0), min(end, w1)
        if start >= end:
            continue
        if start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _cumulate(starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
    """``base`` (work before each interval minus its start) and ``cum_end`` (work to its end)."""
    base, cum_end, running = [], [], 0
    for start, end in zip(starts, ends, strict=True):
        base.append(running - start)
        running += end - start
        cum_end.append(running)
    return base, cum_end


class _Timeline:
    """Per-calendar cache: working pieces per local year and the current window over them.

    A new window replaces the old one wholesale, so readers holding a snapshot never see a
    half-built state.
    """

    __slots__ = ("_day", "_tz", "_years", "window")

    def __init__(self, tz: str, day: Callable[[int], DayIntervals]) -> None:
        self._tz = tz
        self._day = day
        self._years: dict[int, list[Interval]] = {}
        self.window: _Window | None = None

    def covering(self, lo_us: int, hi_us: int) -> _Window:
        """A window valid for every instant in [lo_us, hi_us], grown if needed."""
        window = self.window
        if window is not None and window.w0 <= lo_us and hi_us <= window.w1:
            return window
        lo_year = _utc_year(lo_us - DAY_US)
        hi_year = _utc_year(hi_us + DAY_US) + 1
        if lo_year < MIN_YEAR or hi_year > MAX_YEAR + 1:
            raise ValueError(f"instants must fall within the years {MIN_YEAR}..{MAX_YEAR}")
        if window is None:
            return self._build(lo_year - 1, hi_year + 1)
        span = window.hi - window.lo
        if lo_year < window.lo:
            lo_year = min(lo_year, window.lo - span)
        if hi_year > window.hi:
            hi_year = max(hi_year, window.hi + span)
        return self._build(min(lo_year, window.lo), max(hi_year, window.hi))

    def extend_forward(self, window: _Window, start_us: int) -> _Window:
        """Grow the window to the right when an ``add`` runs past it, within the horizon."""
        limit = min(_utc_year(start_us) + HORIZON_YEARS + 1, MAX_YEAR + 1)
        if window.hi >= limit:
            raise NoWorkingTimeError(
                f"not enough working time within {HORIZON_YEARS} years after the start"
            )
        span = window.hi - window.lo
        return self._build(window.lo, min(window.hi + max(span, 2), limit))

    def _build(self, lo: int, hi: int) -> _Window:
        lo, hi = max(lo, MIN_YEAR), min(hi, MAX_YEAR + 1)
        pieces = chain.from_iterable(self._year(year) for year in range(lo, hi))
        window = _Window(lo, hi, pieces)
        self.window = window
        return window

    def _year(self, year: int) -> list[Interval]:
        pieces = self._years.get(year)
        if pieces is None:
            pieces = self._years[year] = self._generate(year)
        return pieces

    def _generate(self, year: int) -> list[Interval]:
        """Working pieces of every local date of ``year``; the offset scan only if needed."""
        segments = None
        out: list[Interval] = []
        first = date(year, 1, 1).toordinal()
        for ordinal in range(first, date(year + 1, 1, 1).toordinal()):
            intervals = self._day(ordinal)
            if not intervals:
                continue
            if segments is None:
                segments = _offset_segments(self._tz, year)
            midnight = (ordinal - _EPOCH_ORDINAL) * DAY_US
            for start, end in intervals:
                out.extend(_preimage(midnight + start, midnight + end, segments))
        return out


# --------------------------------------------------------------------------- the calendar


@dataclass(frozen=True, init=False, repr=False, eq=True)
class WorkCalendar:
    """Working hours per weekday in a time zone, with holidays and make-up working days.

    Immutable and hashable; equality and ``fingerprint`` depend only on the definition, never
    on what has been cached. All arithmetic happens on integer microseconds since the epoch.
    """

    tz: str
    week: tuple[DayIntervals, ...]
    holidays: frozenset[date]
    makeup_days: tuple[tuple[date, DayIntervals], ...]
    fingerprint: str = field(compare=False)
    _zone: ZoneInfo = field(compare=False)
    _special: dict[int, DayIntervals] = field(compare=False)
    _continuous: bool = field(compare=False)
    _idle: bool = field(compare=False)
    _timeline: _Timeline = field(compare=False)

    def __init__(
        self,
        tz: str,
        week: WeekSpec,
        holidays: Iterable[date] = (),
        makeup_days: MakeupSpec = (),
    ) -> None:
        """Validate everything up front so that a bad definition fails where it is written.

        ``week`` maps weekday (0 = Monday) to intervals such as
        ``[("09:00", "12:00"), ("13:30", "18:00")]``, or lists seven days. ``makeup_days`` is
        either dates (working their weekday's hours, or the first working weekday's hours when
        their own weekday has none) or a mapping from date to intervals (``None`` = default).
        A date that is both a holiday and a make-up day works.
        """
        zone = _zone_for(tz)
        parsed_week = _parse_week(week)
        parsed_holidays = frozenset(_check_date(day, "holidays") for day in holidays)
        parsed_makeup = _parse_makeup(makeup_days, parsed_week)
        special: dict[int, DayIntervals] = {day.toordinal(): () for day in parsed_holidays}
        special.update((day.toordinal(), spans) for day, spans in parsed_makeup)
        set_ = object.__setattr__
        set_(self, "tz", tz)
        set_(self, "week", parsed_week)
        set_(self, "holidays", parsed_holidays)
        set_(self, "makeup_days", parsed_makeup)
        set_(self, "_zone", zone)
        set_(self, "_special", special)
        set_(self, "_continuous", _is_continuous(parsed_week, special))
        set_(self, "_idle", not any(parsed_week) and not parsed_makeup)
        set_(self, "fingerprint", _fingerprint(self._canonical()))
        set_(self, "_timeline", _Timeline(tz, self._intervals_on_ordinal))

    # ----------------------------------------------------------------- constructors

    @classmethod
    def always(cls, tz: str = "UTC") -> WorkCalendar:
        """Round-the-clock (24×7): every instant works, so add/between are plain arithmetic."""
        return cls(tz, [[("00:00", "24:00")]] * 7)

    @classmethod
    def weekly(
        cls,
        intervals: DaySpec = (("09:00", "18:00"),),
        weekdays: Iterable[int] = range(5),
        tz: str = "UTC",
        holidays: Iterable[date] = (),
        makeup_days: MakeupSpec = (),
    ) -> WorkCalendar:
        """The common case: the same hours on each of ``weekdays`` (default Monday-Friday)."""
        spans = list(intervals)
        return cls(tz, dict.fromkeys(weekdays, spans), holidays, makeup_days)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkCalendar:
        """Rebuild from ``to_dict`` output (e.g. a JSON column)."""
        week = {int(day): [tuple(span) for span in spans] for day, spans in data["week"].items()}
        holidays = [date.fromisoformat(day) for day in data.get("holidays", ())]
        makeup = {
            date.fromisoformat(day): None if spans is None else [tuple(span) for span in spans]
            for day, spans in data.get("makeup_days", {}).items()
        }
        return cls(data["tz"], week, holidays, makeup)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly definition; ``from_dict(to_dict())`` equals the original."""
        return {
            "tz": self.tz,
            "week": {str(day): _spell(spans) for day, spans in enumerate(self.week) if spans},
            "holidays": sorted(day.isoformat() for day in self.holidays),
            "makeup_days": {day.isoformat(): _spell(spans) for day, spans in self.makeup_days},
        }

    # ----------------------------------------------------------------- identity

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(tz={self.tz!r}, fingerprint={self.fingerprint!r}, "
            f"holidays={len(self.holidays)}, makeup_days={len(self.makeup_days)})"
        )

    def __reduce__(self) -> tuple[Callable[[Mapping[str, Any]], WorkCalendar], tuple[Any]]:
        return (WorkCalendar.from_dict, (self.to_dict(),))

    def _canonical(self) -> str:
        lines = [_FINGERPRINT_VERSION, f"tz={self.tz}"]
        lines += [f"{_WEEKDAYS[day]}={_spell_text(spans)}" for day, spans in enumerate(self.week)]
        lines.append("holidays=" + ",".join(sorted(day.isoformat() for day in self.holidays)))
        lines += [
            f"makeup {day.isoformat()}={_spell_text(spans)}" for day, spans in self.makeup_days
        ]
        return "\n".join(lines)

    # ----------------------------------------------------------------- introspection

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def is_continuous(self) -> bool:
        """True for 24×7 calendars, which skip the interval tables entirely."""
        return self._continuous

    def intervals_on(self, day: date) -> DayIntervals:
        """The local working intervals of ``day`` (µs since midnight) after holiday rules."""
        return self._intervals_on_ordinal(_check_date(day, "day").toordinal())

    def _intervals_on_ordinal(self, ordinal: int) -> DayIntervals:
        found = self._special.get(ordinal)
        if found is not None:
            return found
        return self.week[(ordinal - 1) % 7]

    # ----------------------------------------------------------------- datetime API

    def add(self, start: datetime, seconds: float | timedelta) -> datetime:
        """The instant at which ``seconds`` of working time have elapsed after ``start``.

        Counting begins at the first working instant at or after ``start``; adding 0 returns
        that instant. A positive amount that is used up exactly at the end of a working
        interval returns that end (18:00), not the start of the next one.
        """
        return from_epoch_us(self.add_us(to_epoch_us(start), _duration_us(seconds)), self._zone)

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds in [start, end); negative when ``end`` precedes ``start``."""
        return self.between_us(to_epoch_us(start), to_epoch_us(end)) / US_PER_SECOND

    def is_working(self, moment: datetime) -> bool:
        return self.is_working_us(to_epoch_us(moment))

    def next_working(self, moment: datetime) -> datetime:
        """``moment`` itself if it is working time, else the start of the next working interval."""
        return from_epoch_us(self.add_us(to_epoch_us(moment), 0), self._zone)

    # ----------------------------------------------------------------- epoch-microsecond API

    def add_us(self, start_us: int, seconds_us: int) -> int:
        """``add`` on integer microseconds since the epoch (UTC)."""
        if seconds_us < 0:
            raise ValueError(f"duration must not be negative, got {seconds_us} µs")
        if self._continuous:
            return start_us + seconds_us
        self._require_some_work()
        window = self._timeline.window
        if window is None or not window.w0 <= start_us <= window.w1:
            window = self._timeline.covering(start_us, start_us)
        while True:
            # One bisect for the work done by start_us, one for the interval in which the
            # target is reached. For a positive amount the key is target - 1, so that an
            # amount used up exactly at an interval's end stops there; zero must find work.
            i = bisect_right(window.starts, start_us) - 1
            target = window.base[i] + min(start_us, window.ends[i]) + seconds_us
            key = target - 1 if seconds_us else target
            if key < window.total:
                return target - window.base[bisect_right(window.cum_end, key)]
            window = self._timeline.extend_forward(window, start_us)

    def between_us(self, start_us: int, end_us: int) -> int:
        """``between`` in integer microseconds."""
        if self._continuous:
            return end_us - start_us
        window = self._timeline.window
        if window is None or not (
            window.w0 <= start_us <= window.w1 and window.w0 <= end_us <= window.w1
        ):
            window = self._timeline.covering(min(start_us, end_us), max(start_us, end_us))
        # The work done by each instant, as in _Window.worked_many, on plain lists.
        starts, ends, base = window.starts, window.ends, window.base
        i = bisect_right(starts, end_us) - 1
        j = bisect_right(starts, start_us) - 1
        return base[i] + min(end_us, ends[i]) - base[j] - min(start_us, ends[j])

    def is_working_us(self, moment_us: int) -> bool:
        """``is_working`` on integer microseconds since the epoch."""
        if self._continuous:
            return True
        window = self._timeline.covering(moment_us, moment_us)
        i = bisect_right(window.starts, moment_us) - 1
        return moment_us < window.ends[i]

    def _require_some_work(self) -> None:
        if self._idle:
            raise NoWorkingTimeError(f"calendar {self.fingerprint} has no working time at all")

    # ----------------------------------------------------------------- batch API

    def add_many(self, starts_us: npt.ArrayLike, seconds_us: npt.ArrayLike) -> Int64Array:
        """Vectorised ``add_us``: element-wise deadlines for arrays of starts and durations.

        Arguments broadcast against each other; results equal the scalar form exactly.
        """
        starts, amounts = np.broadcast_arrays(_int64(starts_us), _int64(seconds_us))
        if amounts.size and int(amounts.min()) < 0:
            raise ValueError("durations must not be negative")
        if amounts.size and int(amounts.max()) > _MAX_BATCH_US:
            raise ValueError("durations beyond 2**60 µs would overflow int64 arithmetic")
        if self._continuous or not starts.size:
            result: Int64Array = starts + amounts
            return result
        self._require_some_work()
        window = self._timeline.covering(int(starts.min()), int(starts.max()))
        while True:
            target = window.worked_many(starts) + amounts
            key = target - (amounts > 0)
            late = key >= window.total
            if not late.any():
                return window.reach_many(target, key)
            window = self._timeline.extend_forward(window, int(starts[late].max()))

    def between_many(self, starts_us: npt.ArrayLike, ends_us: npt.ArrayLike) -> Int64Array:
        """Vectorised ``between_us`` (integer microseconds)."""
        starts, ends = np.broadcast_arrays(_int64(starts_us), _int64(ends_us))
        if self._continuous or not starts.size:
            result: Int64Array = ends - starts
            return result
        lo = min(int(starts.min()), int(ends.min()))
        hi = max(int(starts.max()), int(ends.max()))
        window = self._timeline.covering(lo, hi)
        return window.worked_many(ends) - window.worked_many(starts)


# --------------------------------------------------------------------------- helpers


def _zone_for(tz: str) -> ZoneInfo:
    if not isinstance(tz, str) or not tz:
        raise ValueError(f"time zone must be an IANA name such as 'Asia/Shanghai', got {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _is_continuous(week: tuple[DayIntervals, ...], special: Mapping[int, DayIntervals]) -> bool:
    """Every local date fully worked: then every instant works, even across DST changes."""
    whole: DayIntervals = ((0, DAY_US),)
    return all(spans == whole for spans in week) and all(
        spans == whole for spans in special.values()
    )


def _spell(spans: DayIntervals) -> list[list[str]]:
    return [[_format_time(start), _format_time(end)] for start, end in spans]


def _spell_text(spans: DayIntervals) -> str:
    return ",".join(f"{_format_time(start)}-{_format_time(end)}" for start, end in spans)


def _fingerprint(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _int64(values: npt.ArrayLike) -> Int64Array:
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise ValueError(f"expected integer microseconds, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)
