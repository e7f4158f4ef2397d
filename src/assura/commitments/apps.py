from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommitmentsConfig(AppConfig):
    name = "assura.commitments"
    label = "commitments"
    verbose_name = _("Commitments")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.commitments import models

        for model in (
            models.Service,
            models.Contract,
            models.CompensationRule,
            models.Metric,
            models.Policy,
            models.PolicyTarget,
            models.EscalationLevel,
            models.PolicyVersion,
        ):
            auditlog.register(model, exclude_fields=["definition"])
