"""The timer loop's plug-in point: anything that must act when an instant passes.

An SLA watcher, a probe scheduler or a report schedule registers a `Timer`; the worker
asks each for its due work and for the next instant it cares about, then sleeps until
the earliest one (capped), instead of scanning on a fixed interval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Timer(Protocol):
    name: str

    def run_due(self, now: datetime) -> datetime | None:
        """Do what is due at `now`; return the next instant of interest, if known."""
        ...


_TIMERS: dict[str, Timer] = {}


def register(timer: Timer) -> None:
    """Add a timer; registering the same name again replaces it (apps reload in tests)."""
    _TIMERS[timer.name] = timer


def registered() -> list[Timer]:
    return list(_TIMERS.values())
