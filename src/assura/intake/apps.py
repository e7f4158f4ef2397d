from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Fetch state and secrets stay out of the audit log: the state changes every minute, and
# a password must never be readable there.
NOT_AUDITED = [
    "imap_password",
    "smtp_password",
    "uidvalidity",
    "last_uid",
    "next_fetch_at",
    "fetching_until",
    "connection",
    "connection_detail",
    "checked_at",
    "connected_at",
]


class IntakeConfig(AppConfig):
    name = "assura.intake"
    label = "intake"
    verbose_name = _("E-mail intake")

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.db.models.signals import post_save

        from assura.core import timers
        from assura.desk.models import Message
        from assura.intake.fetcher import MailFetcher
        from assura.intake.models import MailChannel
        from assura.intake.outgoing import MailSender

        timers.register(MailFetcher())
        timers.register(MailSender())
        auditlog.register(MailChannel, exclude_fields=NOT_AUDITED)
        post_save.connect(_message_saved, sender=Message, dispatch_uid="intake-reply-mail")


def _message_saved(sender: object, instance: Any, created: bool, **kwargs: Any) -> None:
    """Wiring only: a public reply on a case that lives in e-mail is mailed to the customer.

    The desk sits below intake and cannot call it; the mail row is written here, in the
    reply's own transaction, and sent by the worker.
    """
    if not created or kwargs.get("raw"):
        return
    from assura.intake import outgoing

    outgoing.queue_reply(instance)
