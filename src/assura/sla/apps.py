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
        from assura.sla.models import Breach
        from assura.sla.watcher import SlaWatcher

        timers.register(SlaWatcher())
        calendar_changed.connect(_recompute_open_clocks, dispatch_uid="sla-recompute")
        auditlog.register(Breach)


def _recompute_open_clocks(sender: object, version: Any, **kwargs: Any) -> None:
    """Wiring only: calendars sit below sla, so they announce and sla reacts."""
    from assura.sla.tasks import queue_recompute

    queue_recompute(version)
