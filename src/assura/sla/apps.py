from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "assura.sla"
    label = "sla"
    verbose_name = _("SLA clocks")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.calendars.services import calendar_changed
        from assura.core import timers
        from assura.sla import handlers
        from assura.sla.escalation import EscalationTimer
        from assura.sla.models import (
            Breach,
            BreachNotice,
            CompensationEntry,
            NoticeTemplate,
        )
        from assura.sla.services import breaches_recorded, warnings_recorded
        from assura.sla.watcher import SlaWatcher

        timers.register(SlaWatcher())
        timers.register(EscalationTimer())
        timers.register(handlers.BreachFollowUp())
        calendar_changed.connect(_recompute_open_clocks, dispatch_uid="sla-recompute")
        breaches_recorded.connect(handlers.on_breaches_recorded, dispatch_uid="sla-breaches")
        warnings_recorded.connect(handlers.on_warnings_recorded, dispatch_uid="sla-warnings")
        auditlog.register(Breach)
        auditlog.register(BreachNotice, exclude_fields=["body"])
        auditlog.register(CompensationEntry)
        auditlog.register(NoticeTemplate)


def _recompute_open_clocks(sender: object, version: Any, **kwargs: Any) -> None:
    """Wiring only: calendars sit below sla, so they announce and sla reacts."""
    from assura.sla.tasks import queue_recompute

    queue_recompute(version)
