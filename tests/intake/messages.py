"""Building test messages with the email package, the way real mail clients send them."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from email import encoders
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid

CUSTOMER = formataddr(("张三", "zhang.san@customer.test"), charset="utf-8")


def encoded_word(text: str, label: str = "UTF-8", codec: str | None = None) -> str:
    """One RFC 2047 B-encoded word; `codec` lets a GB2312 label carry GBK bytes."""
    data = text.encode(codec or label)
    return f"=?{label}?B?{base64.b64encode(data).decode('ascii')}?="


def text_part(body: str, label: str = "utf-8", codec: str | None = None) -> MIMENonMultipart:
    """A text/plain part whose bytes are `body` in `codec`, labelled `label`."""
    part = MIMENonMultipart("text", "plain", charset=label)
    part.set_payload(body.encode(codec or label))
    encoders.encode_base64(part)
    return part


def html_part(html: str, label: str = "utf-8") -> MIMEText:
    return MIMEText(html, "html", label)


def build(
    body: str | MIMENonMultipart | MIMEText | MIMEMultipart = "您好，打印机无法打印。",
    *,
    sender: str = CUSTOMER,
    to: str = "support@assura.test",
    subject: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> bytes:
    """A complete message; `subject` may be pre-encoded words or plain text."""
    main = text_part(body) if isinstance(body, str) else body
    if attachments:
        message: MIMEMultipart | MIMENonMultipart | MIMEText = MIMEMultipart("mixed")
        message.attach(main)
        for name, data, content_type in attachments:
            maintype, subtype = content_type.split("/")
            part = MIMEApplication(data, subtype) if maintype == "application" else None
            if part is None:
                part = MIMENonMultipart(maintype, subtype)
                part.set_payload(data)
                encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=name)
            message.attach(part)
    else:
        message = main
    message["From"] = sender
    message["To"] = to
    message["Subject"] = encoded_word("打印机无法打印") if subject is None else subject
    message["Date"] = format_datetime(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="customer.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        message[name] = value
    return message.as_bytes()
