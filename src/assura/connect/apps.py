from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectConfig(AppConfig):
    name = "assura.connect"
    label = "connect"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.connect import events
        from assura.connect.models import ChatApp, ChatIdentity, InboundSource, WebhookSubscription
        from assura.connect.webhooks import WebhookSender
        from assura.core import timers

        timers.register(WebhookSender())
        events.connect_all()
        # Secrets never enter the audit log; their fingerprints show that they changed.
        auditlog.register(
            ChatApp, exclude_fields=["token", "encryption_key", "app_secret", "updated_at"]
        )
        auditlog.register(ChatIdentity)
        auditlog.register(InboundSource, exclude_fields=["secret", "updated_at"])
        auditlog.register(WebhookSubscription, exclude_fields=["secret", "updated_at"])
