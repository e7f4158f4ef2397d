"""Event-sourced SLA clocks: derive a clock's state by replaying its events.

A clock is never stored as a mutable running total. Its history is a list of
events (start, pause, resume, stop, cancel, retarget, reopen) and every figure
(elapsed working time, due instant, breach instant, ...) is recomputed from that
history. This makes late or out-of-order events harmless, lets a retarget apply
to the whole history, and makes "the state as of time T" a plain replay.

The module is pure: standard library only, no I/O, no clock reads. The current
time is always passed in as ``now``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

__all__ = [
    "DEFAULT_WARNING_FRACTION",
    "Anomaly",
    "AnomalyCode",
    "Calendar",
    "ClockEvent",
    "ClockState",
    "ClockStatus",
    "EventKind",
    "Segment",
    "replay",
]

DEFAULT_WARNING_FRACTION = 0.75
_ONE_US = timedelta(microseconds=1)


class Calendar(Protocol):
    """The working-time calendar a clock is measured on.

    Only these methods are needed, so any calendar implementation fits; arguments
    are passed positionally.
    """

    def add(self, start: datetime, seconds: float | timedelta, /) -> datetime:
        """Earliest instant at which ``seconds`` of working time have elapsed after ``start``."""
        ...

    def between(self, start: datetime, end: datetime, /) -> float:
        """Working seconds in ``[start, end)``; exact multiples of a microsecond."""
        ...

    def is_working(self, t: datetime, /) -> bool:
        """Whether ``t`` lies inside working time."""
        ...

    def next_working(self, t: datetime, /) -> datetime:
        """First working instant at or after ``t``."""
        ...


class EventKind(StrEnum):
    """What happened to the clock."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    CANCEL = "cancel"
    RETARGET = "retarget"
    REOPEN = "reopen"


class ClockStatus(StrEnum):
    """Where the clock stands after its events are replayed."""

    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


class AnomalyCode(StrEnum):
    """Why an event was ignored."""

    ALREADY_STARTED = "already_started"
    NOT_STARTED = "not_started"
    NOT_RUNNING = "not_running"
    NOT_PAUSED = "not_paused"
    NOT_STOPPED = "not_stopped"
    CLOSED = "closed"


# Events at the same instant and with the same ``seq`` are applied in this order.
# Pause sorts before resume so that a pause and a resume sharing an instant read as
# a zero-length pause of a running clock; callers who mean otherwise set ``seq``.
_KIND_RANK: dict[EventKind, int] = {
    EventKind.START: 0,
    EventKind.RETARGET: 1,
    EventKind.PAUSE: 2,
    EventKind.RESUME: 3,
    EventKind.STOP: 4,
    EventKind.REOPEN: 5,
    EventKind.CANCEL: 6,
}

_TARGETING = frozenset({EventKind.START, EventKind.RETARGET})


def _require_aware(value: datetime, name: str) -> None:
    """Reject naive datetimes: guessing their zone would silently shift every figure."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


@dataclass(frozen=True)
class ClockEvent:
    """One thing that happened to a clock.

    ``target``, ``warning_fraction`` and ``calendar_key`` belong to start and
    retarget events only. A start needs a target and a calendar key; its
    warning fraction defaults to ``DEFAULT_WARNING_FRACTION``. A retarget
    changes only the fields it carries. ``seq`` orders events that share an
    instant (for instance a database row id); it never overrides ``at``.

    Malformed events raise ``ValueError`` at construction, so a replay never
    sees one.
    """

    kind: EventKind
    at: datetime
    actor: str | None = None
    target: timedelta | None = None
    warning_fraction: float | None = None
    calendar_key: str | None = None
    seq: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))
        _require_aware(self.at, "at")
        if isinstance(self.seq, bool) or not isinstance(self.seq, int):
            raise ValueError("seq must be an int")
        if self.kind in _TARGETING:
            self._check_targeting()
        elif (self.target, self.warning_fraction, self.calendar_key) != (None, None, None):
            raise ValueError(f"a {self.kind} event carries no target, fraction or calendar")

    def _check_targeting(self) -> None:
        if self.target is not None:
            if not isinstance(self.target, timedelta):
                raise ValueError("target must be a timedelta")
            if self.target <= timedelta(0):
                raise ValueError(f"target must be positive, got {self.target}")
        if self.warning_fraction is not None:
            fraction = self.warning_fraction
            if isinstance(fraction, bool) or not isinstance(fraction, int | float):
                raise ValueError("warning_fraction must be a number")
            if not (math.isfinite(fraction) and 0 < fraction <= 1):
                raise ValueError(f"warning_fraction must be in (0, 1], got {fraction}")
        if self.calendar_key is not None and (
            not isinstance(self.calendar_key, str) or not self.calendar_key
        ):
            raise ValueError("calendar_key must be a non-empty string")
        if self.kind is EventKind.START and (self.target is None or self.calendar_key is None):
            raise ValueError("a start event needs a target and a calendar_key")
        if self.kind is EventKind.RETARGET and (
            (self.target, self.warning_fraction, self.calendar_key) == (None, None, None)
        ):
            raise ValueError("a retarget event must change the target, fraction or calendar")

    @classmethod
    def start(
        cls,
        at: datetime,
        target: timedelta,
        calendar_key: str,
        warning_fraction: float | None = None,
        *,
        actor: str | None = None,
        seq: int = 0,
    ) -> ClockEvent:
        """Start measuring against ``target`` on the calendar named ``calendar_key``."""
        return cls(EventKind.START, at, actor, target, warning_fraction, calendar_key, seq)

    @classmethod
    def retarget(
        cls,
        at: datetime,
        target: timedelta | None = None,
        calendar_key: str | None = None,
        warning_fraction: float | None = None,
        *,
        actor: str | None = None,
        seq: int = 0,
    ) -> ClockEvent:
        """Change the target, calendar or warning fraction, effective from the start."""
        return cls(EventKind.RETARGET, at, actor, target, warning_fraction, calendar_key, seq)

    @classmethod
    def pause(cls, at: datetime, *, actor: str | None = None, seq: int = 0) -> ClockEvent:
        """Stop counting until a resume (e.g. waiting on the customer)."""
        return cls(EventKind.PAUSE, at, actor, seq=seq)

    @classmethod
    def resume(cls, at: datetime, *, actor: str | None = None, seq: int = 0) -> ClockEvent:
        """Count again after a pause."""
        return cls(EventKind.RESUME, at, actor, seq=seq)

    @classmethod
    def stop(cls, at: datetime, *, actor: str | None = None, seq: int = 0) -> ClockEvent:
        """The commitment was fulfilled (first response sent, case resolved, ...)."""
        return cls(EventKind.STOP, at, actor, seq=seq)

    @classmethod
    def cancel(cls, at: datetime, *, actor: str | None = None, seq: int = 0) -> ClockEvent:
        """The commitment no longer applies; the clock ends without an outcome."""
        return cls(EventKind.CANCEL, at, actor, seq=seq)

    @classmethod
    def reopen(cls, at: datetime, *, actor: str | None = None, seq: int = 0) -> ClockEvent:
        """A stopped clock runs again (e.g. a resolved case is reopened)."""
        return cls(EventKind.REOPEN, at, actor, seq=seq)


@dataclass(frozen=True)
class Anomaly:
    """An event that was ignored because it made no sense where it fell."""

    code: AnomalyCode
    event: ClockEvent
    status: ClockStatus  # the clock's status when the event was met


@dataclass(frozen=True)
class Segment:
    """A half-open wall-clock interval ``[start, end)``; ``end`` is None while still open."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class ClockState:
    """Everything derived from a clock's events, as of ``as_of``.

    Durations are exact timedeltas; the ``*_seconds`` properties give floats.
    ``elapsed`` and ``paused`` freeze when the clock stops or is cancelled.
    """

    status: ClockStatus
    as_of: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    cancelled_at: datetime | None = None
    paused_since: datetime | None = None
    target: timedelta | None = None
    warning_fraction: float | None = None
    calendar_key: str | None = None
    elapsed: timedelta = timedelta(0)
    remaining: timedelta | None = None
    paused: timedelta = timedelta(0)
    due_at: datetime | None = None
    warning_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    #: When the clock breaches (or breached) if it runs on: the watcher's instant to look.
    breaches_at: datetime | None = None
    met_at: datetime | None = None
    stopped_late: bool = False
    next_instant_of_interest: datetime | None = None
    segments: tuple[Segment, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def elapsed_seconds(self) -> float:
        """Working seconds counted so far."""
        return self.elapsed.total_seconds()

    @property
    def remaining_seconds(self) -> float | None:
        """Working seconds left before the target; negative when overdue."""
        return None if self.remaining is None else self.remaining.total_seconds()

    @property
    def paused_seconds(self) -> float:
        """Wall-clock seconds spent paused."""
        return self.paused.total_seconds()

    @property
    def breached(self) -> bool:
        """Whether elapsed working time has exceeded the target."""
        return self.breached_at is not None

    @property
    def warned(self) -> bool:
        """Whether elapsed working time has reached the warning threshold."""
        return self.warned_at is not None


def _order_key(event: ClockEvent) -> tuple[object, ...]:
    """Total order on events, so any permutation of the input replays identically."""
    return (
        event.at,
        event.seq,
        _KIND_RANK[event.kind],
        -1 if event.target is None else event.target // _ONE_US,
        -1.0 if event.warning_fraction is None else float(event.warning_fraction),
        event.calendar_key or "",
        event.actor or "",
        event.at.utcoffset(),
    )


# Which statuses each kind of event is accepted in; anything else is an anomaly.
_ACCEPTED: dict[EventKind, frozenset[ClockStatus]] = {
    EventKind.START: frozenset({ClockStatus.NOT_STARTED}),
    EventKind.PAUSE: frozenset({ClockStatus.RUNNING}),
    EventKind.RESUME: frozenset({ClockStatus.PAUSED}),
    EventKind.STOP: frozenset({ClockStatus.RUNNING, ClockStatus.PAUSED}),
    EventKind.CANCEL: frozenset({ClockStatus.NOT_STARTED, ClockStatus.RUNNING, ClockStatus.PAUSED}),
    EventKind.RETARGET: frozenset({ClockStatus.RUNNING, ClockStatus.PAUSED}),
    EventKind.REOPEN: frozenset({ClockStatus.STOPPED}),
}


def _refusal(kind: EventKind, status: ClockStatus) -> AnomalyCode:
    """Name the reason an event is not accepted in ``status``."""
    if status is ClockStatus.CANCELLED or (
        status is ClockStatus.STOPPED and kind is not EventKind.REOPEN
    ):
        return AnomalyCode.CLOSED
    if kind is EventKind.START:
        return AnomalyCode.ALREADY_STARTED
    if status is ClockStatus.NOT_STARTED:
        return AnomalyCode.NOT_STARTED
    if kind is EventKind.PAUSE:
        return AnomalyCode.NOT_RUNNING
    if kind is EventKind.RESUME:
        return AnomalyCode.NOT_PAUSED
    return AnomalyCode.NOT_STOPPED


@dataclass
class _Fold:
    """Mutable accumulator used while walking the sorted events; never escapes replay."""

    status: ClockStatus = ClockStatus.NOT_STARTED
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    cancelled_at: datetime | None = None
    running_since: datetime | None = None
    paused_since: datetime | None = None
    target: timedelta | None = None
    warning_fraction: float | None = None
    calendar_key: str | None = None
    segments: list[Segment] = field(default_factory=list)
    pauses: list[Segment] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)

    def apply(self, event: ClockEvent) -> None:
        """Apply one event, or record it as an anomaly and leave every figure alone."""
        if self.status not in _ACCEPTED[event.kind]:
            code = _refusal(event.kind, self.status)
            self.anomalies.append(Anomaly(code, event, self.status))
            return
        _HANDLERS[event.kind](self, event)

    def _close_running(self, at: datetime) -> None:
        if self.running_since is not None:
            self.segments.append(Segment(self.running_since, at))
            self.running_since = None

    def _close_pause(self, at: datetime) -> None:
        if self.paused_since is not None:
            self.pauses.append(Segment(self.paused_since, at))
            self.paused_since = None

    def on_start(self, event: ClockEvent) -> None:
        self.started_at = self.running_since = event.at
        self.target = event.target
        self.calendar_key = event.calendar_key
        self.warning_fraction = (
            DEFAULT_WARNING_FRACTION if event.warning_fraction is None else event.warning_fraction
        )
        self.status = ClockStatus.RUNNING

    def on_pause(self, event: ClockEvent) -> None:
        self._close_running(event.at)
        self.paused_since = event.at
        self.status = ClockStatus.PAUSED

    def on_resume(self, event: ClockEvent) -> None:
        self._close_pause(event.at)
        self.running_since = event.at
        self.status = ClockStatus.RUNNING

    def on_stop(self, event: ClockEvent) -> None:
        self._close_running(event.at)
        self._close_pause(event.at)
        self.stopped_at = event.at
        self.status = ClockStatus.STOPPED

    def on_cancel(self, event: ClockEvent) -> None:
        self._close_running(event.at)
        self._close_pause(event.at)
        self.cancelled_at = event.at
        self.status = ClockStatus.CANCELLED

    def on_retarget(self, event: ClockEvent) -> None:
        # Only the fields carried change. The segments are untouched, which is
        # what keeps paused time out of the count whatever the new target is.
        if event.target is not None:
            self.target = event.target
        if event.warning_fraction is not None:
            self.warning_fraction = event.warning_fraction
        if event.calendar_key is not None:
            self.calendar_key = event.calendar_key

    def on_reopen(self, event: ClockEvent) -> None:
        self.stopped_at = None
        self.running_since = event.at
        self.status = ClockStatus.RUNNING

    def open_segments(self) -> tuple[list[Segment], list[Segment]]:
        """Running and paused intervals, the current one left open."""
        running = list(self.segments)
        if self.running_since is not None:
            running.append(Segment(self.running_since, None))
        pauses = list(self.pauses)
        if self.paused_since is not None:
            pauses.append(Segment(self.paused_since, None))
        return running, pauses


_HANDLERS: dict[EventKind, Callable[[_Fold, ClockEvent], None]] = {
    EventKind.START: _Fold.on_start,
    EventKind.PAUSE: _Fold.on_pause,
    EventKind.RESUME: _Fold.on_resume,
    EventKind.STOP: _Fold.on_stop,
    EventKind.CANCEL: _Fold.on_cancel,
    EventKind.RETARGET: _Fold.on_retarget,
    EventKind.REOPEN: _Fold.on_reopen,
}


def _to_us(seconds: float) -> int:
    """Calendar seconds to whole microseconds, so sums and comparisons are exact."""
    return round(seconds * 1_000_000)


def _reach(
    cal: Calendar, segs: list[Segment], widths: list[int | None], need: int
) -> datetime | None:
    """Earliest instant at which the running segments add up to ``need`` microseconds.

    A width of None marks the open segment, which can supply any amount.
    """
    cum = 0
    for seg, width in zip(segs, widths, strict=True):
        left = need - cum
        if left <= 0:
            return seg.start
        if width is None or width >= left:
            instant = cal.add(seg.start, timedelta(microseconds=left))
            return instant if seg.end is None else min(instant, seg.end)
        cum += width
    return None


def _exceed(
    cal: Calendar, segs: list[Segment], widths: list[int | None], need: int
) -> datetime | None:
    """The instant after which the running segments add up to more than ``need``.

    This is the first working instant from which counting goes past ``need``,
    so it can lie after ``_reach``'s instant when the target runs out exactly
    at the end of a working period or of a running segment.
    """
    cum = 0
    for seg, width in zip(segs, widths, strict=True):
        left = need - cum
        if width is None or width > left:
            return cal.next_working(cal.add(seg.start, timedelta(microseconds=left)))
        cum += width
    return None


def _check_calendars(events: list[ClockEvent], calendars: Mapping[str, Calendar]) -> None:
    """An unknown calendar is a configuration error; ignoring it would give wrong figures."""
    for event in events:
        if event.calendar_key is not None and event.calendar_key not in calendars:
            raise ValueError(f"unknown calendar key {event.calendar_key!r} in {event.kind} event")


def replay(
    events: Iterable[ClockEvent], calendars: Mapping[str, Calendar], now: datetime
) -> ClockState:
    """Derive a clock's state as of ``now`` from its events, in any input order.

    Events are sorted by (``at``, ``seq``, kind); events after ``now`` have not
    happened yet and are left out, so ``replay(events, cals, t)`` is the state
    as of ``t``. Events that make no sense where they fall are ignored and
    listed in ``anomalies``. Raises ``ValueError`` for a naive ``now`` or a
    calendar key missing from ``calendars``.
    """
    _require_aware(now, "now")
    ordered = sorted(events, key=_order_key)
    _check_calendars(ordered, calendars)
    fold = _Fold()
    for event in ordered:
        if event.at > now:
            break
        fold.apply(event)
    return _derive(fold, calendars, now)


def _derive(fold: _Fold, calendars: Mapping[str, Calendar], now: datetime) -> ClockState:
    """Turn the folded history into figures, all on the current calendar and target."""
    running, pauses = fold.open_segments()
    base = ClockState(
        status=fold.status,
        as_of=now,
        started_at=fold.started_at,
        cancelled_at=fold.cancelled_at,
        paused_since=fold.paused_since,
        paused=sum(((p.end or now) - p.start for p in pauses), timedelta(0)),
        segments=tuple(running),
        anomalies=tuple(fold.anomalies),
    )
    if fold.target is None or fold.calendar_key is None or fold.warning_fraction is None:
        return base
    cal = calendars[fold.calendar_key]
    return _measure(fold, base, cal, fold.target, fold.warning_fraction, running, now)


def _measure(
    fold: _Fold,
    base: ClockState,
    cal: Calendar,
    target: timedelta,
    fraction: float,
    running: list[Segment],
    now: datetime,
) -> ClockState:
    """Elapsed time, instants and outcome of a started clock."""
    target_us = target // _ONE_US
    # timedelta * float rounds to the nearest microsecond (half to even).
    warn_us = (target * fraction) // _ONE_US
    counted = [_to_us(cal.between(s.start, s.end or now)) for s in running]
    # For projections the open segment has no end: it can supply any amount.
    widths: list[int | None] = [
        w if s.end is not None else None for w, s in zip(counted, running, strict=True)
    ]
    elapsed_us = sum(counted)
    is_running = fold.status is ClockStatus.RUNNING
    warned, reached, breached = (
        elapsed_us >= warn_us,
        elapsed_us >= target_us,
        elapsed_us > target_us,
    )
    warning = _reach(cal, running, widths, warn_us) if is_running or warned else None
    due = _reach(cal, running, widths, target_us) if is_running or reached else None
    breach = _exceed(cal, running, widths, target_us) if is_running or breached else None
    stopped = fold.status is ClockStatus.STOPPED
    return replace(
        base,
        stopped_at=fold.stopped_at,
        target=target,
        warning_fraction=fraction,
        calendar_key=fold.calendar_key,
        elapsed=timedelta(microseconds=elapsed_us),
        remaining=timedelta(microseconds=target_us - elapsed_us),
        due_at=due,
        warning_at=warning,
        warned_at=warning if warned else None,
        breached_at=breach if breached else None,
        breaches_at=breach,
        met_at=fold.stopped_at if stopped and not breached else None,
        stopped_late=stopped and breached,
        next_instant_of_interest=_next_of_interest(
            is_running, warning if not warned else None, breach if not breached else None
        ),
    )


def _next_of_interest(
    is_running: bool, warning: datetime | None, breach: datetime | None
) -> datetime | None:
    """When a watcher should look again: the next warning or breach still to come."""
    if not is_running:
        return None
    pending = [t for t in (warning, breach) if t is not None]
    return min(pending) if pending else None
