"""Reads about clocks and breaches of any subject (a case, a follow-up…)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, Q, Sum

from assura.core.models import Role, Team, User
from assura.sla.models import (
    OPEN_STATUSES,
    Breach,
    Clock,
    ClockStatus,
    CompensationEntry,
    CompensationStatus,
)


def clocks_of(subject: models.Model) -> models.QuerySet[Clock]:
    return Clock.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )


def breaches_of(subject: models.Model) -> models.QuerySet[Breach]:
    return Breach.objects.standing().filter(
        clock__subject_type=ContentType.objects.get_for_model(subject),
        clock__subject_id=subject.pk,
    )


def breaches_without_rca(subject: models.Model) -> list[Breach]:
    """Standing breaches of `subject` that still need their root-cause analysis.

    Imported history needs none: its case was closed in the former help desk, and what
    was learnt from it lives there (docs/sla.md, "Imported history").
    """
    return list(breaches_of(subject).filter(rca__isnull=True, historical=False))


@dataclass(frozen=True)
class Compliance:
    """One metric's promise-keeping over a period; see docs/kpis.md "SLA compliance"."""

    metric: str
    met: int
    breached: int

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def share(self) -> float | None:
        """met ÷ (met + breached); None when nothing was decided in the period."""
        return self.met / self.decided if self.decided else None


def compliance(
    clocks: models.QuerySet[Clock], since: datetime, until: datetime
) -> list[Compliance]:
    """Per metric: clocks met in [since, until) against clocks breached in it.

    A clock is counted once, in the period of its outcome: the instant it was met
    (stopped within target) or the instant it was breached, whether or not it has
    stopped since. Running clocks not yet breached and cancelled clocks have no outcome.
    """
    rows = (
        clocks.exclude(status=ClockStatus.CANCELLED)
        .values("metric")
        .annotate(
            met=Count("pk", filter=Q(met_at__gte=since, met_at__lt=until)),
            breached=Count("pk", filter=Q(breached_at__gte=since, breached_at__lt=until)),
        )
        .order_by("metric")
    )
    return [
        Compliance(row["metric"], row["met"], row["breached"])
        for row in rows
        if row["met"] or row["breached"]
    ]


# ---------------------------------------------------------------------------- the manager view
#
# The figures of the manager view (web `dashboard`), each defined in docs/kpis.md
# ("Manager view"). The view passes the reader's team scope in, so a team lead's figures
# cover its own teams while the rest of the page's readers see the whole desk.


def team_scope(user: User) -> models.QuerySet[Team] | None:
    """The teams whose work `user` oversees on the manager view; None means every team.

    A team lead oversees the teams it leads and the team it belongs to (the teams its home
    page lists); the other roles that may open the view oversee the whole desk, as the
    breach and expedite pages already show it to them.
    """
    if user.role == Role.TEAM_LEAD:
        return Team.objects.filter(Q(lead=user) | Q(pk=user.team_id))
    return None


def scoped_clocks(user: User, teams: models.QuerySet[Team] | None) -> models.QuerySet[Clock]:
    """Clocks `user` may read, narrowed to `teams` when a scope is given.

    Clocks carry their subject's team (the desk keeps it in step on reassignment), so
    a team's clocks are found without joining the subjects.
    """
    clocks = Clock.objects.visible_to(user)
    return clocks if teams is None else clocks.filter(team__in=teams)


def scoped_breaches(user: User, teams: models.QuerySet[Team] | None) -> models.QuerySet[Breach]:
    """Standing breaches `user` may read, narrowed to `teams`; withdrawn ones never count."""
    breaches = Breach.objects.visible_to(user).standing()
    return breaches if teams is None else breaches.filter(clock__team__in=teams)


def local_day_start(day: date, zone: tzinfo) -> datetime:
    """The instant a local day begins (midnight in `zone`)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def today_and_week(now: datetime, zone: tzinfo) -> dict[str, tuple[datetime, datetime]]:
    """The reader's today and this week (Monday to Sunday), as half-open instants.

    Bounds are local midnights in `zone`, so "today" is the reader's calendar day even
    when it is still yesterday in UTC.
    """
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return {
        "today": (local_day_start(today, zone), local_day_start(today + timedelta(days=1), zone)),
        "week": (local_day_start(monday, zone), local_day_start(monday + timedelta(days=7), zone)),
    }


def last_days(now: datetime, zone: tzinfo, days: int) -> tuple[datetime, datetime]:
    """The last `days` local days, today included: [midnight days-1 ago, next midnight)."""
    today = now.astimezone(zone).date()
    return (
        local_day_start(today - timedelta(days=days - 1), zone),
        local_day_start(today + timedelta(days=1), zone),
    )


def count_between(
    breaches: models.QuerySet[Breach], periods: Mapping[str, tuple[datetime, datetime]]
) -> dict[str, int]:
    """How many of `breaches` fall in each named half-open period, in one query.

    A breach belongs to the period of its `breached_at` (the instant the target was
    exceeded), as in the compliance figure.
    """
    if not periods:
        return {}
    counts = breaches.aggregate(
        **{
            name: Count("pk", filter=Q(breached_at__gte=since, breached_at__lt=until))
            for name, (since, until) in periods.items()
        }
    )
    return {name: int(counts[name] or 0) for name in periods}


def breaches_between(
    breaches: models.QuerySet[Breach], since: datetime, until: datetime
) -> models.QuerySet[Breach]:
    """The breaches of [since, until), newest first, with what a list row shows loaded.

    The subject (a case…) comes in one query per kind of subject, whatever the count.
    """
    return (
        breaches.filter(breached_at__gte=since, breached_at__lt=until)
        .select_related("clock__organisation", "clock__team")
        .prefetch_related("clock__subject")
        .order_by("-breached_at", "-pk")
    )


@dataclass(frozen=True)
class WindowCompliance:
    """One metric's compliance over each of several trailing windows (docs/kpis.md)."""

    metric: str
    windows: tuple[Compliance | None, ...]


def compliance_windows(
    clocks: models.QuerySet[Clock], now: datetime, zone: tzinfo, windows: Sequence[int]
) -> list[WindowCompliance]:
    """Per metric, `compliance` over the last N local days for each N of `windows`.

    Each window is computed by `compliance` itself (one query per window), so the figure
    is the documented one. A metric appears when it has a decided clock in any window;
    a window in which it has none holds None ("no figure").
    """
    found: dict[str, list[Compliance | None]] = {}
    for index, days in enumerate(windows):
        since, until = last_days(now, zone, days)
        for figure in compliance(clocks, since, until):
            found.setdefault(figure.metric, [None] * len(windows))[index] = figure
    return [WindowCompliance(metric, tuple(figures)) for metric, figures in sorted(found.items())]


def at_risk(
    clocks: models.QuerySet[Clock], now: datetime, within: timedelta
) -> models.QuerySet[Clock]:
    """Running clocks not breached yet that have passed their warning instant or fall due
    within `within` of `now`, soonest due first (docs/kpis.md, "At risk").

    Paused clocks are left out: they cannot breach while paused. A clock whose breach
    instant has passed is breached, not at risk, even before the watcher records it.
    """
    return (
        clocks.filter(status=ClockStatus.RUNNING, breached_at__isnull=True)
        .filter(Q(breaches_at__isnull=True) | Q(breaches_at__gt=now))
        .filter(Q(warning_at__lte=now) | Q(due_at__lte=now + within))
        .order_by("due_at", "pk")
    )


def breached_open(clocks: models.QuerySet[Clock], now: datetime) -> models.QuerySet[Clock]:
    """Open (running or paused) clocks already breached: recorded, or past their breach
    instant while running — the promise is broken and still owed."""
    return clocks.filter(status__in=OPEN_STATUSES).filter(
        Q(breached_at__isnull=False) | Q(status=ClockStatus.RUNNING, breaches_at__lte=now)
    )


@dataclass(frozen=True)
class PendingCompensation:
    """Compensation entries awaiting a decision: how many, how much, the oldest few."""

    count: int
    #: (currency, Σ amount) per currency, in currency order.
    totals: tuple[tuple[str, Decimal], ...]
    entries: tuple[CompensationEntry, ...]


def pending_compensation(user: User, limit: int) -> PendingCompensation:
    """Pending entries `user` may read: the count and sums in one query, then the `limit`
    oldest breaches first (the longest waiting decision), their subjects in one more."""
    pending = CompensationEntry.objects.visible_to(user).filter(status=CompensationStatus.PENDING)
    sums = pending.values("currency").annotate(n=Count("pk"), total=Sum("amount"))
    rows = list(sums.order_by("currency"))
    entries = (
        pending.select_related("contract__customer", "breach__clock")
        .prefetch_related("breach__clock__subject")
        .order_by("breach__breached_at", "pk")[:limit]
        if rows
        else []
    )
    return PendingCompensation(
        count=sum(row["n"] for row in rows),
        totals=tuple((row["currency"], row["total"] or Decimal(0)) for row in rows),
        entries=tuple(entries),
    )
