from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "assura.desk"
    label = "desk"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.desk.models import Attachment, Case, Message

        auditlog.register(Case, exclude_fields=["updated_at"])
        auditlog.register(Message)
        auditlog.register(Attachment)
