"""The transports: SMTP through Django's mailers, HTTP through the standard library.

Each send returns an `Outcome` instead of raising, so the outbox records every attempt
the same way whatever went wrong. Nothing here touches the outbox rows: claiming,
retrying and giving up belong to `outbox`.
"""

from __future__ import annotations

import hashlib
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers

from assura.notify import channels
from assura.notify.channels import Kind

if TYPE_CHECKING:
    from assura.notify.models import Notification

HTTP_TIMEOUT_SECONDS = 10
ANSWER_LIMIT = 64 * 1024  # the bytes of an answer read; a robot's answer is a few dozen
REPLY_LIMIT = 500


@dataclass(frozen=True)
class Outcome:
    """What one attempt achieved. `final` failures are not retried (nothing would change)."""

    ok: bool
    status_code: int | None = None
    reply: str = ""
    error: str = ""
    final: bool = False


def send(notification: Notification) -> Outcome:
    """Deliver one notice through its channel, or by e-mail to its own recipients."""
    channel = notification.channel
    if channel is None:
        return send_email(notification, list(notification.recipients))
    if not channel.is_active:
        return Outcome(ok=False, error="the channel is switched off", final=True)
    if channel.kind == Kind.EMAIL:
        return send_email(notification, [*channel.recipients, *notification.recipients])
    request = channels.build_request(channel.endpoint(), notification.message(), now=time.time())
    return post(request, Kind(channel.kind))


# --- e-mail ------------------------------------------------------------------------------


def message_id(dedup_key: str) -> str:
    """A Message-ID that every attempt of one notice shares, so a repeat is recognisable.

    Derived from the dedup key and the sender's domain only, never from the host that
    sends: two workers on two machines produce the same header, and mail clients and
    servers that drop duplicate Message-IDs drop the second copy.
    """
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.notify@{sender_domain()}>"


def sender_domain() -> str:
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    domain = address.rpartition("@")[2].strip()
    return domain or "localhost"


def build_email(notification: Notification, recipients: Sequence[str]) -> EmailMultiAlternatives:
    headers = {
        "Message-ID": message_id(notification.dedup_key),
        # RFC 3834: out-of-office robots must not answer a machine's notice.
        "Auto-Submitted": "auto-generated",
    }
    email = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body,
        to=list(dict.fromkeys(recipients)),
        headers=headers,
    )
    if notification.html:
        email.attach_alternative(notification.html, "text/html")
    return email


def send_email(notification: Notification, recipients: Sequence[str]) -> Outcome:
    """Send through the default mailer (MAILERS); an SMTP refusal keeps its code and text."""
    if not recipients:
        return Outcome(ok=False, error="no recipients", final=True)
    email = build_email(notification, recipients)
    try:
        accepted = mailers.default.send_messages([email])
    except smtplib.SMTPRecipientsRefused as error:
        return _refused(error.recipients)
    except smtplib.SMTPResponseException as error:
        return Outcome(
            ok=False,
            status_code=error.smtp_code,
            reply=_text(error.smtp_error)[:REPLY_LIMIT],
            error=f"SMTP {error.smtp_code}: {_text(error.smtp_error)}",
            final=permanent(error.smtp_code),
        )
    except (smtplib.SMTPException, OSError) as error:
        return Outcome(ok=False, error=f"{type(error).__name__}: {error}")
    if not accepted:
        return Outcome(ok=False, error="the mailer accepted no message")
    return Outcome(ok=True, reply=f"accepted for {len(email.recipients())} recipient(s)")


def permanent(smtp_code: int) -> bool:
    """A 5xx reply is a permanent refusal (RFC 5321): sending again cannot change it."""
    return 500 <= smtp_code < 600


def _refused(recipients: dict[str, tuple[int, bytes]]) -> Outcome:
    details = "; ".join(
        f"{address}: {code} {_text(text)}" for address, (code, text) in recipients.items()
    )
    codes = [code for code, _text_ in recipients.values()]
    return Outcome(
        ok=False,
        status_code=codes[0] if codes else None,
        reply=details[:REPLY_LIMIT],
        error=f"refused: {details}",
        final=bool(codes) and all(permanent(code) for code in codes),
    )


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


# --- HTTP --------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without a body: report it as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(request: channels.OutgoingRequest, kind: Kind) -> Outcome:
    """POST `request` and judge the answer the way the platform means it."""
    http_request = urllib.request.Request(  # noqa: S310 - the scheme is checked on save
        request.url, data=request.body, headers=dict(request.headers), method="POST"
    )
    try:
        with _opener.open(http_request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            status, answer = response.status, response.read(ANSWER_LIMIT)
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read(ANSWER_LIMIT)
    except OSError as error:  # refused, unreachable, timed out, TLS: all worth a retry
        reason = getattr(error, "reason", error)
        return Outcome(ok=False, error=f"{type(error).__name__}: {reason}")
    reply = answer.decode("utf-8", errors="replace")[:REPLY_LIMIT]
    problem = channels.answer_problem(kind, status, answer)
    if problem is None:
        return Outcome(ok=True, status_code=status, reply=reply)
    return Outcome(ok=False, status_code=status, reply=reply, error=problem)
