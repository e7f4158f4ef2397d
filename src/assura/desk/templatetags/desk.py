"""Template helpers of the desk: instants for the live countdown, durations, local times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template
from django.template.defaultfilters import date as format_date
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def iso(value: datetime | None) -> str:
    """The instant in UTC as ISO 8601, for the page's script to count from."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@register.filter
def duration(value: timedelta | None) -> str:
    """A span a person reads at a glance: 3 d 4 h, 2 h 05 min, 12 min; overdue ones signed."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    sign = "−" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    elif hours:
        text = _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": f"{minutes:02d}"}
    else:
        text = _("%(minutes)s min") % {"minutes": max(minutes, 0 if seconds < 60 else 1)}
    return sign + text


@register.filter
def when(value: datetime | None) -> str:
    """A local instant, as short as it can be: 14:30 today, Mon 09:40 this week, else the date."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localdate()
    if local.date() == today:
        return format_date(local, "H:i")
    if abs((local.date() - today).days) < 7:
        return format_date(local, "D H:i")
    return format_date(local, "Y-m-d H:i")


@register.simple_tag
def countdown_words() -> dict[str, str]:
    """The words the countdown script writes, in the page's language."""
    return {
        "left": _("%s left"),
        "overdue": _("%s overdue"),
        "d": _("d"),
        "h": _("h"),
        "min": _("min"),
        "s": _("s"),
        "breached": _("Breached"),
        "at_risk": _("At risk"),
        "selected": _("%s selected"),
    }
