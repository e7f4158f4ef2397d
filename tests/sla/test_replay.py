"""Behaviour of the event-sourced SLA clock, one rule per test.

Dates: Monday 3 March 2025 starts the week used with the office calendar
(Monday-Friday 09:00-18:00 UTC); Saturday is the 8th.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assura.calendars.clock import WorkCalendar
from assura.calendars.cn import china_workdays
from assura.sla.replay import (
    DEFAULT_WARNING_FRACTION,
    Anomaly,
    AnomalyCode,
    ClockEvent,
    ClockState,
    ClockStatus,
    EventKind,
    Segment,
    replay,
)

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")

CALENDARS = {
    "24x7": WorkCalendar.always(),
    "office": WorkCalendar.weekly(),
    "cn": china_workdays(),
}


def mar(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in March 2025, UTC (the 3rd is a Monday)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def run(events: list[ClockEvent], now: datetime) -> ClockState:
    return replay(events, CALENDARS, now)


def start(at: datetime, target: timedelta = 8 * H, key: str = "office", **kw: object) -> ClockEvent:
    return ClockEvent.start(at, target, key, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- counting


def test_not_started_clock_has_no_figures() -> None:
    state = run([], mar(3, 9))
    assert state.status is ClockStatus.NOT_STARTED
    assert state.elapsed == timedelta(0)
    assert state.remaining is None
    assert state.due_at is None
    assert state.next_instant_of_interest is None


def test_elapsed_counts_only_working_time() -> None:
    # Friday 16:00 + weekend + Monday 09:00-11:00 = 2 h + 2 h.
    state = run([start(mar(7, 16), 4 * H)], mar(10, 11))
    assert state.status is ClockStatus.RUNNING
    assert state.elapsed == 4 * H
    assert state.remaining == timedelta(0)
    assert state.due_at == mar(10, 11)
    assert not state.breached


def test_elapsed_is_sum_of_running_segments() -> None:
    events = [
        start(mar(3, 10)),
        ClockEvent.pause(mar(3, 12)),
        ClockEvent.resume(mar(4, 10)),
        ClockEvent.stop(mar(4, 11, 30)),
    ]
    state = run(events, mar(6, 9))
    assert state.elapsed == 3.5 * H
    assert state.segments == (
        Segment(mar(3, 10), mar(3, 12)),
        Segment(mar(4, 10), mar(4, 11, 30)),
    )
    assert state.paused == 22 * H


def test_elapsed_freezes_when_stopped() -> None:
    events = [start(mar(3, 10)), ClockEvent.stop(mar(3, 12))]
    assert run(events, mar(5, 12)).elapsed == run(events, mar(3, 12)).elapsed == 2 * H


# --------------------------------------------------------------------------- pauses


def test_paused_time_never_counts() -> None:
    events = [start(mar(3, 10)), ClockEvent.pause(mar(3, 11))]
    state = run(events, mar(5, 15))
    assert state.status is ClockStatus.PAUSED
    assert state.elapsed == 1 * H
    assert state.paused == 52 * H
    assert state.paused_since == mar(3, 11)


def test_paused_time_never_counts_after_retarget() -> None:
    # The worked example of the documentation: pause, priority raised, resume.
    events = [
        start(mar(3, 10), 8 * H),
        ClockEvent.pause(mar(3, 12)),
        ClockEvent.retarget(mar(3, 14), 4 * H),
        ClockEvent.resume(mar(4, 10)),
    ]
    state = run(events, mar(4, 10, 30))
    assert state.elapsed == 2.5 * H
    assert state.target == 4 * H
    assert state.warning_at == mar(4, 11)
    assert state.due_at == mar(4, 12)
    assert state.paused == 22 * H
    # Had the pause been lost, the clock would have run out on Monday at 14:00.
    assert not run(events, mar(4, 11, 59)).breached


def test_retarget_while_paused_to_round_the_clock_calendar_keeps_pause_excluded() -> None:
    # Friday 17:00-20:00 counts 1 h on the office calendar, 3 h round the clock.
    events = [
        start(mar(7, 17), 8 * H, "office"),
        ClockEvent.pause(mar(7, 20)),
        ClockEvent.retarget(mar(8, 10), 6 * H, "24x7"),
        ClockEvent.resume(mar(9, 8)),
    ]
    paused = run(events, mar(9, 7))
    assert paused.calendar_key == "24x7"
    assert paused.elapsed == 3 * H
    assert paused.due_at is None
    assert paused.remaining == 3 * H
    running = run(events, mar(9, 9))
    assert running.elapsed == 4 * H  # the 36 h pause is not counted on 24×7 either
    assert running.paused == 36 * H
    assert running.due_at == mar(9, 11)


@pytest.mark.parametrize(
    "retarget_at",
    [mar(3, 9, 30), mar(3, 11), mar(3, 16), mar(4, 12), mar(4, 15)],
    ids=["before-pause", "at-pause", "while-paused", "after-resume", "after-second-pause"],
)
@pytest.mark.parametrize("new_key", ["office", "24x7", "cn"])
def test_pause_retarget_resume_sequences_never_count_paused_time(
    retarget_at: datetime, new_key: str
) -> None:
    events = [
        start(mar(3, 9), 20 * H),
        ClockEvent.pause(mar(3, 11)),
        ClockEvent.resume(mar(4, 11)),
        ClockEvent.pause(mar(4, 14)),
        ClockEvent.retarget(retarget_at, 30 * H, new_key),
        ClockEvent.resume(mar(5, 10)),
    ]
    now = mar(5, 16)
    cal = CALENDARS[new_key]
    expected = sum(
        cal.between(a, b)
        for a, b in [(mar(3, 9), mar(3, 11)), (mar(4, 11), mar(4, 14)), (mar(5, 10), now)]
    )
    state = run(events, now)
    assert state.elapsed_seconds == expected
    assert state.paused == (mar(4, 11) - mar(3, 11)) + (mar(5, 10) - mar(4, 14))


def test_stop_while_paused_counts_pause_until_stop() -> None:
    events = [start(mar(3, 9)), ClockEvent.pause(mar(3, 10)), ClockEvent.stop(mar(3, 15))]
    state = run(events, mar(4, 9))
    assert state.status is ClockStatus.STOPPED
    assert state.elapsed == 1 * H
    assert state.paused == 5 * H
    assert state.met_at == mar(3, 15)


# --------------------------------------------------------------------------- retargets


def test_retarget_applies_from_clock_start() -> None:
    events = [start(mar(3, 9), 8 * H), ClockEvent.retarget(mar(3, 11), 4 * H)]
    state = run(events, mar(3, 11))
    assert state.due_at == mar(3, 13)  # start + 4 h, not retarget + 4 h
    assert state.remaining == 2 * H


def test_retarget_switching_calendar_recomputes_whole_history() -> None:
    events = [start(mar(7, 16), 30 * H, "office")]
    assert run(events, mar(8, 12)).elapsed == 2 * H
    events.append(ClockEvent.retarget(mar(8, 12), calendar_key="24x7"))
    state = run(events, mar(8, 12))
    assert state.elapsed == 20 * H
    assert state.target == 30 * H  # fields not carried by the retarget are kept
    assert state.due_at == mar(8, 22)


def test_retarget_keeps_fields_it_does_not_carry() -> None:
    events = [
        start(mar(3, 9), 8 * H, "office", warning_fraction=0.5),
        ClockEvent.retarget(mar(3, 10), warning_fraction=0.25),
    ]
    state = run(events, mar(3, 10))
    assert (state.target, state.calendar_key, state.warning_fraction) == (8 * H, "office", 0.25)
    assert state.warning_at == mar(3, 11)


def test_retarget_can_breach_at_once_with_breach_instant_in_the_past() -> None:
    events = [start(mar(3, 9), 8 * H), ClockEvent.retarget(mar(3, 15), 4 * H)]
    before = run(events, mar(3, 14, 59))
    assert not before.breached
    state = run(events, mar(3, 15))
    assert state.breached_at == mar(3, 13)  # when 4 h had run out, not the retarget instant
    assert state.warned_at == mar(3, 12)
    assert state.remaining == -2 * H
    assert state.next_instant_of_interest is None


def test_retroactive_breach_instant_skips_paused_time() -> None:
    events = [
        start(mar(3, 9), 8 * H),
        ClockEvent.pause(mar(3, 10)),
        ClockEvent.resume(mar(3, 14)),
        ClockEvent.retarget(mar(3, 16), 2 * H),
    ]
    assert run(events, mar(3, 16)).breached_at == mar(3, 15)


def test_raising_the_target_lifts_a_breach() -> None:
    events = [start(mar(3, 9), 2 * H), ClockEvent.retarget(mar(3, 12), 8 * H)]
    assert run(events, mar(3, 11, 59)).breached
    state = run(events, mar(3, 12))
    assert not state.breached
    assert state.due_at == mar(3, 17)


# --------------------------------------------------------------------------- breach boundary


def test_elapsed_equal_to_target_is_not_breached() -> None:
    events = [start(mar(3, 9), 2 * H, "24x7")]
    at_due = run(events, mar(3, 11))
    assert at_due.elapsed == at_due.target
    assert at_due.remaining == timedelta(0)
    assert not at_due.breached
    assert at_due.next_instant_of_interest == mar(3, 11)
    just_after = run(events, mar(3, 11) + US)
    assert just_after.breached_at == mar(3, 11)
    assert just_after.remaining == -US


def test_stop_exactly_at_due_is_met() -> None:
    events = [start(mar(3, 9), 2 * H), ClockEvent.stop(mar(3, 11))]
    state = run(events, mar(4, 9))
    assert state.met_at == mar(3, 11)
    assert state.breached_at is None
    assert not state.stopped_late


def test_stop_after_due_is_met_late_and_breached() -> None:
    events = [start(mar(3, 9), 2 * H), ClockEvent.stop(mar(3, 11) + US)]
    state = run(events, mar(4, 9))
    assert state.status is ClockStatus.STOPPED
    assert state.stopped_at == mar(3, 11) + US
    assert state.met_at is None
    assert state.stopped_late
    assert state.breached_at == mar(3, 11)
    assert state.due_at == mar(3, 11)


def test_breach_is_recorded_when_it_happened_whether_or_not_anyone_looked() -> None:
    events = [start(mar(3, 16), 4 * H)]
    for now in (mar(4, 11) + US, mar(6, 9), mar(31, 23)):
        assert run(events, now).breached_at == mar(4, 11)


def test_target_used_up_at_end_of_working_day_breaches_at_next_working_instant() -> None:
    events = [start(mar(3, 9), 9 * H)]
    at_six = run(events, mar(3, 18))
    assert (at_six.elapsed, at_six.due_at, at_six.breached) == (9 * H, mar(3, 18), False)
    evening = run(events, mar(3, 23))
    assert evening.due_at == mar(3, 18)
    assert not evening.breached  # no working time has passed since 18:00
    assert evening.next_instant_of_interest == mar(4, 9)
    assert run([*events, ClockEvent.stop(mar(3, 20))], mar(4, 12)).met_at == mar(3, 20)
    next_morning = run(events, mar(4, 9))
    assert not next_morning.breached
    assert next_morning.next_instant_of_interest == mar(4, 9)
    assert run(events, mar(4, 9) + US).breached_at == mar(4, 9)


def test_target_used_up_exactly_at_a_pause_breaches_when_counting_resumes() -> None:
    events = [
        start(mar(3, 9), 2 * H),
        ClockEvent.pause(mar(3, 11)),
        ClockEvent.resume(mar(3, 15)),
    ]
    assert run(events, mar(3, 14)).due_at == mar(3, 11)  # reached, so known while paused
    assert run(events, mar(3, 15, 1)).breached_at == mar(3, 15)


# --------------------------------------------------------------------------- warnings


def test_warning_instant_is_fraction_of_target() -> None:
    # 0.75 × 8 h = 6 h: Monday 14:00-18:00 then Tuesday 09:00-11:00.
    events = [start(mar(3, 14), 8 * H)]
    before = run(events, mar(4, 10))
    assert before.warning_fraction == DEFAULT_WARNING_FRACTION
    assert before.warning_at == mar(4, 11)
    assert before.warned_at is None
    assert before.next_instant_of_interest == mar(4, 11)
    after = run(events, mar(4, 11))
    assert after.warned_at == mar(4, 11)
    assert after.next_instant_of_interest == mar(4, 13) == after.due_at


def test_warning_fraction_of_one_warns_at_due() -> None:
    state = run([start(mar(3, 9), 2 * H, warning_fraction=1.0)], mar(3, 9))
    assert state.warning_at == state.due_at == mar(3, 11)


def test_warning_threshold_rounds_to_the_microsecond() -> None:
    state = run([start(mar(3, 9), 10 * US, "24x7", warning_fraction=1 / 3)], mar(3, 9))
    assert state.warning_at == mar(3, 9) + 3 * US


# --------------------------------------------------------------------------- instants while paused


def test_due_instant_is_unknown_while_paused_but_remaining_is_known() -> None:
    events = [start(mar(3, 9), 8 * H), ClockEvent.pause(mar(3, 12))]
    state = run(events, mar(3, 15))
    assert state.due_at is None
    assert state.warning_at is None
    assert state.remaining == 5 * H
    assert state.next_instant_of_interest is None


def test_instants_already_reached_stay_known_while_paused() -> None:
    events = [start(mar(3, 9), 4 * H), ClockEvent.pause(mar(3, 12))]
    state = run(events, mar(3, 15))
    assert state.warned_at == state.warning_at == mar(3, 12)
    assert state.due_at is None
    assert state.next_instant_of_interest is None


# --------------------------------------------------------------------------- watcher


def test_next_instant_of_interest_walks_warning_then_breach_then_none() -> None:
    events = [start(mar(3, 9), 4 * H)]
    assert run(events, mar(3, 10)).next_instant_of_interest == mar(3, 12)
    assert run(events, mar(3, 12)).next_instant_of_interest == mar(3, 13)
    assert run(events, mar(3, 14)).next_instant_of_interest is None
    stopped = [*events, ClockEvent.stop(mar(3, 10))]
    assert run(stopped, mar(3, 10)).next_instant_of_interest is None


# --------------------------------------------------------------------------- ordering


def test_out_of_order_events_are_sorted_by_time() -> None:
    events = [
        start(mar(3, 9)),
        ClockEvent.pause(mar(3, 10)),
        ClockEvent.resume(mar(3, 14)),
        ClockEvent.stop(mar(3, 16)),
    ]
    assert run(list(reversed(events)), mar(4, 9)) == run(events, mar(4, 9))
    assert run(events, mar(4, 9)).elapsed == 3 * H


def test_events_at_same_instant_apply_in_seq_order() -> None:
    paused_clock = [start(mar(3, 9)), ClockEvent.pause(mar(3, 10))]
    resume_then_pause = [
        *paused_clock,
        ClockEvent.pause(mar(3, 12), seq=2),
        ClockEvent.resume(mar(3, 12), seq=1),
    ]
    state = run(resume_then_pause, mar(3, 15))
    assert state.status is ClockStatus.PAUSED
    assert state.anomalies == ()


def test_events_at_same_instant_and_seq_apply_in_kind_order() -> None:
    # Pause sorts before resume: a zero-length pause of a running clock.
    events = [start(mar(3, 9)), ClockEvent.resume(mar(3, 12)), ClockEvent.pause(mar(3, 12))]
    state = run(events, mar(3, 15))
    assert state.status is ClockStatus.RUNNING
    assert state.elapsed == 6 * H


def test_events_after_now_have_not_happened_yet() -> None:
    events = [start(mar(3, 9)), ClockEvent.pause(mar(3, 10)), ClockEvent.stop(mar(3, 12))]
    assert run(events, mar(3, 11)) == run(events[:2], mar(3, 11))
    assert run(events, mar(3, 11)).status is ClockStatus.PAUSED


def test_events_in_other_time_zones_are_compared_as_instants() -> None:
    events = [
        start(mar(3, 9)),
        ClockEvent.pause(datetime(2025, 3, 3, 18, tzinfo=SHANGHAI)),  # 10:00 UTC
    ]
    assert run(events, mar(3, 12)).elapsed == 1 * H


# --------------------------------------------------------------------------- anomalies


@pytest.mark.parametrize(
    ("history", "bad", "code", "status"),
    [
        ([], ClockEvent.pause(mar(3, 8)), AnomalyCode.NOT_STARTED, ClockStatus.NOT_STARTED),
        ([], ClockEvent.stop(mar(3, 8)), AnomalyCode.NOT_STARTED, ClockStatus.NOT_STARTED),
        ([], ClockEvent.retarget(mar(3, 8), H), AnomalyCode.NOT_STARTED, ClockStatus.NOT_STARTED),
        ([], ClockEvent.reopen(mar(3, 8)), AnomalyCode.NOT_STARTED, ClockStatus.NOT_STARTED),
        (
            [ClockEvent.pause(mar(3, 9, 30))],
            ClockEvent.pause(mar(3, 10)),
            AnomalyCode.NOT_RUNNING,
            ClockStatus.PAUSED,
        ),
        ([], ClockEvent.resume(mar(3, 10)), AnomalyCode.NOT_PAUSED, ClockStatus.RUNNING),
        ([], start(mar(3, 10), H), AnomalyCode.ALREADY_STARTED, ClockStatus.RUNNING),
        ([], ClockEvent.reopen(mar(3, 10)), AnomalyCode.NOT_STOPPED, ClockStatus.RUNNING),
        (
            [ClockEvent.stop(mar(3, 9, 30))],
            ClockEvent.resume(mar(3, 10)),
            AnomalyCode.CLOSED,
            ClockStatus.STOPPED,
        ),
        (
            [ClockEvent.stop(mar(3, 9, 30))],
            ClockEvent.retarget(mar(3, 10), H),
            AnomalyCode.CLOSED,
            ClockStatus.STOPPED,
        ),
        (
            [ClockEvent.stop(mar(3, 9, 30))],
            ClockEvent.cancel(mar(3, 10)),
            AnomalyCode.CLOSED,
            ClockStatus.STOPPED,
        ),
        (
            [ClockEvent.cancel(mar(3, 9, 30))],
            ClockEvent.reopen(mar(3, 10)),
            AnomalyCode.CLOSED,
            ClockStatus.CANCELLED,
        ),
        (
            [ClockEvent.cancel(mar(3, 9, 30))],
            ClockEvent.stop(mar(3, 10)),
            AnomalyCode.CLOSED,
            ClockStatus.CANCELLED,
        ),
    ],
)
def test_invalid_event_is_ignored_and_recorded(
    history: list[ClockEvent], bad: ClockEvent, code: AnomalyCode, status: ClockStatus
) -> None:
    base = [start(mar(3, 9)), *history]
    clean = run(base, mar(3, 16))
    state = run([*base, bad], mar(3, 16))
    assert state.anomalies == (Anomaly(code, bad, status),)
    assert state == replace(clean, anomalies=state.anomalies)  # figures untouched


def test_start_twice_keeps_the_first_start() -> None:
    events = [start(mar(3, 9), 8 * H), start(mar(3, 8), 2 * H, "24x7")]
    state = run(events, mar(3, 10))
    assert state.started_at == mar(3, 8)  # the earlier one is the first after sorting
    assert state.target == 2 * H
    assert [a.code for a in state.anomalies] == [AnomalyCode.ALREADY_STARTED]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ClockEvent.pause(datetime(2025, 3, 3, 9)), "timezone-aware"),
        (lambda: ClockEvent.start(mar(3, 9), -H, "office"), "positive"),
        (lambda: ClockEvent.start(mar(3, 9), timedelta(0), "office"), "positive"),
        (lambda: ClockEvent.start(mar(3, 9), H, "office", 0.0), r"\(0, 1\]"),
        (lambda: ClockEvent.start(mar(3, 9), H, "office", 1.5), r"\(0, 1\]"),
        (lambda: ClockEvent.start(mar(3, 9), H, "office", float("nan")), r"\(0, 1\]"),
        (lambda: ClockEvent.start(mar(3, 9), 3600, "office"), "timedelta"),  # type: ignore[arg-type]
        (lambda: ClockEvent.start(mar(3, 9), H, ""), "non-empty"),
        (lambda: ClockEvent(EventKind.START, mar(3, 9), target=H), "needs a target"),
        (lambda: ClockEvent(EventKind.PAUSE, mar(3, 9), target=H), "carries no target"),
        (lambda: ClockEvent.retarget(mar(3, 9)), "must change"),
        (lambda: ClockEvent.retarget(mar(3, 9), -H), "positive"),
        (lambda: ClockEvent("restart", mar(3, 9)), "restart"),  # type: ignore[arg-type]
    ],
    ids=[
        "naive",
        "negative-target",
        "zero-target",
        "zero-fraction",
        "fraction-above-one",
        "nan-fraction",
        "target-not-timedelta",
        "empty-calendar-key",
        "start-without-calendar",
        "pause-with-target",
        "empty-retarget",
        "negative-retarget",
        "unknown-kind",
    ],
)
def test_malformed_event_raises(make: Callable[[], ClockEvent], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_naive_now_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run([start(mar(3, 9))], datetime(2025, 3, 3, 10))


def test_unknown_calendar_key_raises() -> None:
    with pytest.raises(ValueError, match="unknown calendar key 'moon'"):
        run([start(mar(3, 9)), ClockEvent.retarget(mar(3, 10), calendar_key="moon")], mar(3, 11))


def test_kinds_given_as_strings_are_accepted() -> None:
    event = ClockEvent("pause", mar(3, 10))  # type: ignore[arg-type]
    assert event.kind is EventKind.PAUSE
    assert event == ClockEvent.pause(mar(3, 10))


# --------------------------------------------------------------------------- reopen and cancel


def test_reopen_counts_again_but_not_the_stopped_gap() -> None:
    events = [
        start(mar(3, 9), 4 * H),
        ClockEvent.stop(mar(3, 11)),
        ClockEvent.reopen(mar(4, 9)),
    ]
    stopped = run(events, mar(3, 20))
    assert stopped.met_at == mar(3, 11)
    state = run(events, mar(4, 10))
    assert state.status is ClockStatus.RUNNING
    assert state.stopped_at is None
    assert state.met_at is None
    assert state.elapsed == 3 * H
    assert state.paused == timedelta(0)
    assert state.due_at == mar(4, 11)
    again = run([*events, ClockEvent.stop(mar(4, 12))], mar(4, 13))
    assert again.stopped_late
    assert again.breached_at == mar(4, 11)


def test_cancel_freezes_figures_and_schedules_nothing() -> None:
    events = [start(mar(3, 9), 4 * H), ClockEvent.cancel(mar(3, 10))]
    state = run(events, mar(5, 9))
    assert state.status is ClockStatus.CANCELLED
    assert state.cancelled_at == mar(3, 10)
    assert state.elapsed == 1 * H
    assert state.due_at is None
    assert state.met_at is None
    assert state.next_instant_of_interest is None


def test_cancel_before_start_closes_the_clock() -> None:
    events = [ClockEvent.cancel(mar(3, 8)), start(mar(3, 9))]
    state = run(events, mar(3, 10))
    assert state.status is ClockStatus.CANCELLED
    assert state.started_at is None
    assert [a.code for a in state.anomalies] == [AnomalyCode.CLOSED]


# --------------------------------------------------------------------------- calendars


def test_china_calendar_counts_make_up_sunday_before_national_day() -> None:
    friday = datetime(2025, 9, 26, 17, tzinfo=SHANGHAI)
    state = run([start(friday, 4 * H, "cn")], friday)
    assert state.due_at == datetime(2025, 9, 28, 12, tzinfo=SHANGHAI)  # Sunday, worked


def test_china_calendar_skips_national_day_holiday() -> None:
    tuesday = datetime(2025, 9, 30, 17, tzinfo=SHANGHAI)
    events = [start(tuesday, 2 * H, "cn"), ClockEvent.pause(datetime(2025, 10, 5, tzinfo=SHANGHAI))]
    assert run(events[:1], tuesday).due_at == datetime(2025, 10, 9, 10, tzinfo=SHANGHAI)
    # A pause during the holiday costs nothing and leaves the elapsed time at 1 h.
    assert run(events, datetime(2025, 10, 10, tzinfo=SHANGHAI)).elapsed == 1 * H


# --------------------------------------------------------------------------- purity


def test_replay_is_deterministic_and_accepts_any_iterable() -> None:
    events = [start(mar(3, 9), 4 * H), ClockEvent.pause(mar(3, 10)), ClockEvent.pause(mar(3, 11))]
    first = run(events, mar(3, 12))
    assert replay(iter(events), CALENDARS, mar(3, 12)) == first
    assert run(events, mar(3, 12)) == first


def test_seconds_properties_mirror_durations() -> None:
    events = [start(mar(3, 9), 2 * H), ClockEvent.pause(mar(3, 12))]
    state = run(events, mar(3, 13))
    assert state.elapsed_seconds == 10_800.0
    assert state.remaining_seconds == -3_600.0
    assert state.paused_seconds == 3_600.0
    assert state.breached
    assert state.warned
