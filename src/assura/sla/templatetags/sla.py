"""Template helpers of sla: a breach's address, `{{ breach|breach_url }}` (or
`{{ breach|breach_url:"rca" }}` for its root-cause form), built by `sla.subjects`."""

from __future__ import annotations

from django import template

from assura.sla import subjects
from assura.sla.models import Breach

register = template.Library()


@register.filter
def breach_url(breach: Breach, page: str = "") -> str:
    return subjects.breach_url(breach, page)
