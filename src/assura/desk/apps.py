from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "assura.desk"
    label = "desk"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.desk.models import Attachment, Case, Message
        from assura.sla import subjects
        from assura.sla.escalation import escalation_fired

        auditlog.register(Case, exclude_fields=["updated_at"])
        auditlog.register(Message)
        auditlog.register(Attachment)
        escalation_fired.connect(_escalated, dispatch_uid="desk-escalated")
        subjects.register(Case, prefix="C-")  # breach pages: /sla/breaches/C-2026-000123/…


def _escalated(
    sender: object,
    subject: Any,
    expedite: bool,
    raise_priority_to: str,
    at: Any,
    note: str = "",
    **kwargs: Any,
) -> None:
    """Wiring only: an escalation level (sla, below the desk) expedites a case or raises
    its priority; the desk's own services do it, in the escalation's transaction."""
    from assura.commitments.models import Priority
    from assura.desk import services
    from assura.desk.models import Case

    if not isinstance(subject, Case):
        return
    # Locked, so two levels of one case fired at once by two workers act one after the other.
    case = Case.objects.select_for_update().get(pk=subject.pk)
    if expedite:
        services.expedite(actor=None, case=case, at=at, note=note)
    order = list(Priority.values)  # most pressing first
    if raise_priority_to and order.index(raise_priority_to) < order.index(case.priority):
        services.change_priority(actor=None, case=case, priority=raise_priority_to, at=at)
