"""A new case's clocks start in one batch, with exactly what a replay of them gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assura.desk.models import Case
from assura.sla import services
from assura.sla.models import Clock, Escalation
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db

FIGURES = (
    "status",
    "target",
    "warning_fraction",
    "started_at",
    "paused_since",
    "stopped_at",
    "due_at",
    "warning_at",
    "warned_at",
    "breached_at",
    "breaches_at",
    "met_at",
    "elapsed",
    "paused",
    "next_check_at",
    "calendar_version_id",
)


def _figures(clock: Clock) -> dict[str, object]:
    return {name: getattr(clock, name) for name in FIGURES}


def _plan(clock: Clock) -> list[tuple[object, ...]]:
    return list(
        Escalation.objects.filter(clock=clock)
        .order_by("level")
        .values_list("level", "offset", "planned_at", "due_at", "expedite", "raise_priority_to")
    )


def test_a_case_starts_its_clocks_with_the_figures_a_replay_of_their_events_gives(
    make_case: Callable[..., Case],
) -> None:
    case = make_case(at=at(2026, 3, 2, 10))
    clocks = list(Clock.objects.filter(subject_id=case.pk).order_by("metric"))
    assert len(clocks) == 3
    for clock in clocks:
        written, planned = _figures(clock), _plan(clock)
        assert planned, "the standard guarantee escalates every metric"
        services.recompute(clock, now=at(2026, 3, 2, 10))
        clock.refresh_from_db()
        assert _figures(clock) == written
        assert _plan(clock) == planned
