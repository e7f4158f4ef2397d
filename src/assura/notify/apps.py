from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "assura.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.core import timers
        from assura.notify.models import NotificationChannel
        from assura.notify.outbox import OutboxSender

        timers.register(OutboxSender())
        # The secret itself never enters the audit log; its fingerprint shows that it changed.
        auditlog.register(NotificationChannel, exclude_fields=["secret", "updated_at"])
