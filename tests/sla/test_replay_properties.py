"""Properties of clock replay over random event histories.

Histories span three weeks around China's 2025 National Day holiday, so the
office calendar meets weekends and the China calendar meets holidays and
make-up working days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from assura.calendars.clock import WorkCalendar
from assura.calendars.cn import china_workdays
from assura.sla.replay import Calendar, ClockEvent, ClockState, ClockStatus, EventKind, replay

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = datetime(2025, 9, 22, tzinfo=SHANGHAI)  # a Monday
SPAN_MIN = 21 * 24 * 60
US = timedelta(microseconds=1)

CALENDARS: dict[str, Calendar] = {
    "24x7": WorkCalendar.always(),
    "office": WorkCalendar.weekly(tz="Asia/Shanghai"),
    "cn": china_workdays(),
}
KEYS = sorted(CALENDARS)
OTHER_KINDS: list[EventKind] = [kind for kind in EventKind if kind is not EventKind.START]

FAST = settings(deadline=None, max_examples=100)


def minutes_or_microseconds(lo_min: int, hi_min: int) -> st.SearchStrategy[timedelta]:
    """Mostly whole minutes, so that events collide and boundaries are hit; sometimes any µs."""
    return st.one_of(
        st.integers(lo_min, hi_min).map(lambda m: timedelta(minutes=m)),
        st.integers(lo_min * 60_000_000, hi_min * 60_000_000).map(
            lambda us: timedelta(microseconds=us)
        ),
    )


starts = minutes_or_microseconds(0, 7 * 24 * 60).map(lambda delta: BASE + delta)
# Other events and observations fall mostly after the start, sometimes shortly before it.
offsets = minutes_or_microseconds(-6 * 60, 10 * 24 * 60)
targets = st.one_of(st.integers(1, 10 * 60), st.integers(1, 40 * 60)).map(
    lambda m: timedelta(minutes=m)
)
fractions = st.one_of(st.sampled_from([0.5, 0.75, 0.9, 1.0]), st.floats(0.01, 1.0))
COMMON = [EventKind.PAUSE, EventKind.RESUME] * 3


@st.composite
def events_of(
    draw: st.DrawFn, kind: EventKind, keys: list[str], at: st.SearchStrategy[datetime]
) -> ClockEvent:
    when, seq = draw(at), draw(st.integers(0, 3))
    if kind is EventKind.START:
        return ClockEvent.start(
            when, draw(targets), draw(st.sampled_from(keys)), draw(fractions), seq=seq
        )
    if kind is EventKind.RETARGET:
        return ClockEvent.retarget(
            when,
            draw(st.none() | targets),
            draw(st.sampled_from(keys)),
            draw(st.none() | fractions),
            seq=seq,
        )
    return ClockEvent(kind, when, seq=seq)


@st.composite
def histories(
    draw: st.DrawFn, keys: list[str] | None = None, kinds: list[EventKind] | None = None
) -> list[ClockEvent]:
    """A start plus up to a dozen events of any kind, valid or not, in arbitrary order."""
    names: list[str] = keys or KEYS
    chosen: list[EventKind] = kinds or OTHER_KINDS
    weighted = [*chosen, *(k for k in COMMON if k in chosen), EventKind.START]
    first = draw(events_of(EventKind.START, names, starts))
    near = offsets.map(lambda delta: first.at + delta)
    kind = st.sampled_from(weighted)
    others = draw(st.lists(kind.flatmap(lambda k: events_of(k, names, near)), max_size=12))
    return [first, *others]


@st.composite
def cases(
    draw: st.DrawFn, keys: list[str] | None = None, kinds: list[EventKind] | None = None
) -> tuple[list[ClockEvent], datetime]:
    """A history and an instant to observe it at, mostly while it unfolds."""
    events = draw(histories(keys, kinds))
    return events, events[0].at + draw(offsets)


def run(events: list[ClockEvent], now: datetime) -> ClockState:
    return replay(events, CALENDARS, now)


def counted(state: ClockState, until: datetime) -> timedelta:
    """Working time of the state's running segments up to ``until``, on its calendar."""
    assert state.calendar_key is not None
    cal = CALENDARS[state.calendar_key]
    total_us = 0
    for seg in state.segments:
        end = min(seg.end or until, until)
        if end > seg.start:
            total_us += round(cal.between(seg.start, end) * 1_000_000)
    return timedelta(microseconds=total_us)


@FAST
@given(cases(keys=["office"]), offsets)
def test_elapsed_never_decreases_as_now_advances(
    case: tuple[list[ClockEvent], datetime], step: timedelta
) -> None:
    # Holds on one calendar; a retarget that switches calendar recounts the past by design.
    events, now = case
    earlier, later = sorted((now, now + step))
    assert run(events, earlier).elapsed <= run(events, later).elapsed


@FAST
@given(cases(), st.lists(offsets, max_size=4))
def test_pausing_never_increases_elapsed(
    case: tuple[list[ClockEvent], datetime], pauses: list[timedelta]
) -> None:
    events, now = case
    paused = [*events, *(ClockEvent.pause(events[0].at + delta) for delta in pauses)]
    assert run(paused, now).elapsed <= run(events, now).elapsed


@FAST
@given(st.data(), cases())
def test_shuffled_event_order_gives_the_same_state(
    data: st.DataObject, case: tuple[list[ClockEvent], datetime]
) -> None:
    events, now = case
    shuffled = data.draw(st.permutations(events))
    assert run(shuffled, now) == run(events, now)


@FAST
@given(cases())
def test_replaying_the_events_up_to_now_gives_the_same_state(
    case: tuple[list[ClockEvent], datetime],
) -> None:
    events, now = case
    assert run([e for e in events if e.at <= now], now) == run(events, now)


@FAST
@given(cases(), st.integers(0, 10**12))
def test_breach_lies_in_the_past_and_stays_put(
    case: tuple[list[ClockEvent], datetime], later_us: int
) -> None:
    events, now = case
    state = run(events, now)
    if state.breached_at is not None:
        assert state.breached_at < now
        assert state.target is not None
        assert state.elapsed > state.target
    settled = max([now, *(e.at for e in events)])
    first = run(events, settled)
    if first.breached_at is not None:
        again = run(events, settled + timedelta(microseconds=later_us))
        assert again.breached_at == first.breached_at < settled


@FAST
@given(cases())
def test_instants_agree_with_calendar_between(case: tuple[list[ClockEvent], datetime]) -> None:
    events, now = case
    state = run(events, now)
    if state.target is None or state.warning_fraction is None:
        return
    assert counted(state, now) == state.elapsed
    if state.due_at is not None:
        assert counted(state, state.due_at) == state.target
    if state.warning_at is not None:
        assert counted(state, state.warning_at) == state.target * state.warning_fraction
    if state.breached_at is not None:
        assert counted(state, state.breached_at) == state.target
        assert counted(state, state.breached_at + US) > state.target


@FAST
@given(cases())
def test_running_clock_tells_the_watcher_when_to_look_again(
    case: tuple[list[ClockEvent], datetime],
) -> None:
    events, now = case
    events = [e for e in events if e.at <= now]  # nothing else happens before the next look
    state = run(events, now)
    if state.status is not ClockStatus.RUNNING:
        assert state.next_instant_of_interest is None
        return
    assert state.due_at is not None
    assert state.warning_at is not None
    assert (state.next_instant_of_interest is None) == state.breached
    if state.next_instant_of_interest is not None:
        assert state.next_instant_of_interest >= now
        # Looking again just after that instant shows the new warning, or the breach.
        seen = run(events, state.next_instant_of_interest + US)
        assert seen.warned
        assert seen.breached or not state.warned


@FAST
@given(cases())
def test_stopped_clock_is_either_met_or_late(case: tuple[list[ClockEvent], datetime]) -> None:
    events, now = case
    state = run(events, now)
    assert state.remaining == (None if state.target is None else state.target - state.elapsed)
    if state.status is ClockStatus.STOPPED:
        assert state.stopped_late == state.breached
        assert state.met_at == (None if state.stopped_late else state.stopped_at)
    else:
        assert (state.met_at, state.stopped_late) == (None, False)


@FAST
@given(cases(keys=["24x7"], kinds=[k for k in OTHER_KINDS if k is not EventKind.REOPEN]))
def test_round_the_clock_elapsed_plus_paused_is_wall_time(
    case: tuple[list[ClockEvent], datetime],
) -> None:
    events, now = case
    state = run(events, now)
    if state.started_at is None:
        return
    end = state.stopped_at or state.cancelled_at or now
    assert state.elapsed + state.paused == end - state.started_at


@FAST
@given(cases())
def test_replay_is_pure(case: tuple[list[ClockEvent], datetime]) -> None:
    events, now = case
    snapshot = list(events)
    first = run(events, now)
    assert events == snapshot  # the input is not reordered or mutated
    assert run(events, now) == first
