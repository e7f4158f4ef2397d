"""A demo mail channel, and two messages through the real intake pipeline.

The channel points at an IMAP server on 127.0.0.1 that normally does not run, so the
intake page shows it as disconnected (calmly: that is a state, not a fault), and
`assura demo` runs without any mail server. One customer message in GBK becomes a case;
one automatic reply is set aside. Running the demo again adds nothing.
"""

from __future__ import annotations

import base64
from email import encoders
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

from django.utils import timezone

from assura.core.models import Organisation, Team
from assura.intake import fetcher, services
from assura.intake.models import FetchMode, MailChannel, Security

NAME = "演示邮箱 Demo mailbox"
ADDRESS = "support@demo.assura.invalid"
DEMO_IMAP_PORT = 1143


def load() -> list[str]:
    if MailChannel.objects.filter(name=NAME).exists():
        return []
    channel = MailChannel.objects.create(
        name=NAME,
        address=ADDRESS,
        from_name="安信服务台 Assura service desk",
        imap_host="127.0.0.1",
        imap_port=DEMO_IMAP_PORT,
        imap_security=Security.NONE,
        imap_user="support",
        imap_password="demo",  # noqa: S106 - a demo mailbox on the local machine
        fetch_mode=FetchMode.POLL,
        poll_seconds=300,
        default_organisation=Organisation.objects.filter(code="ECM").first(),
        default_team=Team.objects.filter(code="frontline").first(),
        acknowledge=True,
    )
    fetcher.check(channel)
    now = timezone.now()
    services.receive(channel, _customer_mail(), now=now)
    services.receive(channel, _auto_reply(), now=now)
    return [f"  mail channel {NAME}: 127.0.0.1:{DEMO_IMAP_PORT} ({channel.connection})"]


def _gbk_word(text: str) -> str:
    return f"=?GB2312?B?{base64.b64encode(text.encode('gb18030')).decode('ascii')}?="


def _customer_mail() -> bytes:
    body = "您好：\n\n仓库的扫码枪今天早上开始无法连接系统，请尽快处理。\n\n王喆\n华东制造 仓储部"
    # Labelled GB2312 but written in GBK (喆 is not in GB2312), as Chinese clients do.
    message = MIMENonMultipart("text", "plain", charset="gb2312")
    message.set_payload(body.encode("gb18030"))
    encoders.encode_base64(message)
    message["From"] = f"{_gbk_word('王喆')} <wang.zhe@ecm.demo.assura.invalid>"
    message["To"] = ADDRESS
    message["Subject"] = _gbk_word("扫码枪无法连接")
    message["Message-ID"] = make_msgid(domain="ecm.demo.assura.invalid")
    message["Date"] = format_datetime(timezone.now())
    return message.as_bytes()


def _auto_reply() -> bytes:
    message = MIMEText("I am out of the office until Monday.", "plain", "utf-8")
    message["From"] = "Olivia Grant <olivia@myl.demo.assura.invalid>"
    message["To"] = ADDRESS
    message["Subject"] = "Automatic reply: Out of office"
    message["Auto-Submitted"] = "auto-replied"
    message["Message-ID"] = make_msgid(domain="myl.demo.assura.invalid")
    message["Date"] = format_datetime(timezone.now())
    return message.as_bytes()
