from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    name = "assura.voice"
    label = "voice"
    verbose_name = _("Voice of the customer")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.core import timers
        from assura.desk.signals import case_resolved
        from assura.sla import subjects
        from assura.voice import models
        from assura.voice.tasks import VoiceTimer

        timers.register(VoiceTimer())
        case_resolved.connect(_case_resolved, dispatch_uid="voice-case-resolved")
        for model in (models.Survey, models.Question, models.Trigger, models.Programme):
            auditlog.register(model)
        auditlog.register(models.Invitation, exclude_fields=["remind_at"])
        auditlog.register(models.OptOut)
        auditlog.register(models.Response)
        auditlog.register(models.FollowUp)
        subjects.register(models.FollowUp, prefix="F-")  # /sla/breaches/F-2026-000042/…


def _case_resolved(sender: object, case: Any, at: Any, actor: Any = None, **kwargs: Any) -> None:
    """Wiring only: the desk announces a resolution; the voice services decide what follows."""
    from assura.voice import services

    services.on_case_resolved(case, at=at)
