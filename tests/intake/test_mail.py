"""Parsing, decoding, trimming and threading keys: pure functions, no database."""

from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart

import pytest

from assura.intake import mail
from tests.intake.messages import build, encoded_word, html_part, text_part

# 喆 and 镕 are GBK characters outside GB2312; 𠮷 needs GB18030's four-byte form.
GBK_TEXT = "朱镕基和王喆的打印机坏了"
GB18030_TEXT = "𠮷野家 € 第二行"


# --- character sets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec", "text"),
    [
        ("gb2312", "gb2312", "您好，打印机无法打印。"),
        ("gb2312", "gbk", GBK_TEXT),  # labelled GB2312, written in GBK
        ("GB2312", "gb18030", GB18030_TEXT),  # labelled GB2312, written in GB18030
        ("gbk", "gbk", GBK_TEXT),
        ("x-gbk", "gbk", GBK_TEXT),
        ("gb18030", "gb18030", GB18030_TEXT),
        ("utf-8", "utf-8", GB18030_TEXT + " ✓ ünïcode"),
    ],
)
def test_it_decodes_chinese_bodies_exactly(label: str, codec: str, text: str) -> None:
    parsed = mail.parse(build(text_part(text, label, codec)))
    assert parsed.text == text


def test_it_decodes_an_8bit_body_labelled_gb2312_but_written_in_gbk() -> None:
    raw = (
        b"From: li@customer.test\r\nSubject: x\r\nMessage-ID: <8bit@customer.test>\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ) + GBK_TEXT.encode("gbk")
    assert mail.parse(raw).text == GBK_TEXT


def test_a_wrong_label_falls_back_to_utf8_then_gb18030() -> None:
    utf8 = text_part("数据库连接失败", "us-ascii", "utf-8")
    gbk = text_part(GBK_TEXT, "utf-8", "gbk")
    assert mail.parse(build(utf8)).text == "数据库连接失败"
    assert mail.parse(build(gbk)).text == GBK_TEXT


def test_a_quoted_printable_utf8_body_decodes() -> None:
    raw = (
        b"From: a@customer.test\r\nSubject: x\r\nMessage-ID: <qp@customer.test>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
        b"\r\n\r\n=E6=89=93=E5=8D=B0=E6=9C=BA=E5=9D=8F=E4=BA=86\r\n"
    )
    assert mail.parse(raw).text == "打印机坏了"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (encoded_word("系统登录失败", "GB2312"), "系统登录失败"),
        (encoded_word(GBK_TEXT, "GB2312", "gbk"), GBK_TEXT),
        (encoded_word(GBK_TEXT, "GBK"), GBK_TEXT),
        (encoded_word(GB18030_TEXT, "GB18030"), GB18030_TEXT),
        (encoded_word("回复：报修", "UTF-8"), "回复：报修"),
        ("=?utf-8?Q?=E6=8A=A5=E4=BF=AE_=E7=94=B3=E8=AF=B7?=", "报修 申请"),
        # two encoded words: the space between them is not part of the text (RFC 2047)
        (f"{encoded_word('第一')} {encoded_word('第二')}", "第一第二"),
        ("Re: " + encoded_word("打印机", "gbk") + " (urgent)", "Re: 打印机 (urgent)"),
        ("=?utf-8*zh?B?" + "5aSn5a62?=", "大家"),
        ("Plain ASCII subject", "Plain ASCII subject"),
    ],
)
def test_it_decodes_encoded_subjects_exactly(header: str, expected: str) -> None:
    assert mail.parse(build(subject=header)).subject == expected


def test_a_character_split_across_two_encoded_words_is_joined() -> None:
    data = "工单".encode()
    import base64

    first = base64.b64encode(data[:4]).decode()
    second = base64.b64encode(data[4:]).decode()
    header = f"=?UTF-8?B?{first}?= =?UTF-8?B?{second}?="
    assert mail.parse(build(subject=header)).subject == "工单"


def test_raw_8bit_headers_in_utf8_or_gbk_decode() -> None:
    for codec in ("utf-8", "gbk"):
        raw = (
            "From: 王喆 <wang@customer.test>\r\nSubject: 报修：镕基\r\n"
            "Message-ID: <raw@customer.test>\r\n\r\nhi\r\n"
        ).encode(codec)
        parsed = mail.parse(raw)
        assert parsed.subject == "报修：镕基"
        assert parsed.sender == mail.Address("王喆", "wang@customer.test")


def test_the_sender_name_is_decoded_and_the_address_lowercased() -> None:
    parsed = mail.parse(
        build(sender=f"{encoded_word('王喆', 'GB2312', 'gbk')} <Wang@Customer.TEST>")
    )
    assert parsed.sender == mail.Address("王喆", "wang@customer.test")


# --- bodies and attachments --------------------------------------------------------------


def test_html_only_mail_becomes_readable_text() -> None:
    html = (
        "<html><head><title>t</title><style>p {color: red}</style>"
        "<script>alert(1)</script></head><body>"
        "<p>您好&nbsp;工程师，</p><div>系统 <b>无法</b> 登录<br>错误代码：500</div>"
        "<ul><li>第一步</li><li>第二步</li></ul>"
        "<p>详见 <a href='https://status.example.cn/x'>状态页</a> &amp; 日志</p>"
        "<table><tr><td>服务器</td><td>erp-01</td></tr></table>"
        "</body></html>"
    )
    parsed = mail.parse(build(html_part(html)))
    assert parsed.from_html
    assert parsed.text == (
        "您好 工程师，\n系统 无法 登录\n错误代码：500\n- 第一步\n- 第二步\n"
        "详见 状态页 (https://status.example.cn/x) & 日志\n服务器 erp-01"
    )


def test_html_in_gbk_declared_only_in_its_meta_tag_decodes() -> None:
    html = '<html><head><meta charset="gbk"></head><body><p>镕基的问题</p></body></html>'
    part = MIMENonMultipart("text", "html")
    part.set_payload(html.encode("gbk"))
    from email import encoders

    encoders.encode_base64(part)
    assert mail.parse(build(part)).text == "镕基的问题"


def test_alternative_mail_uses_its_plain_text() -> None:
    alternative = MIMEMultipart("alternative")
    alternative.attach(text_part("纯文本版本"))
    alternative.attach(html_part("<p>HTML 版本</p>"))
    parsed = mail.parse(build(alternative))
    assert parsed.text == "纯文本版本"
    assert not parsed.from_html


def test_alternative_mail_with_an_empty_plain_part_uses_the_html() -> None:
    alternative = MIMEMultipart("alternative")
    alternative.attach(text_part("   "))
    alternative.attach(html_part("<p>只有 HTML 有内容</p>"))
    assert mail.parse(build(alternative)).text == "只有 HTML 有内容"


def test_attachments_are_kept_with_decoded_names() -> None:
    raw = build(
        "见附件",
        attachments=[
            ("故障截图.png", b"\x89PNG-data", "image/png"),  # RFC 2231 name
            ("report.pdf", b"%PDF-1.4", "application/pdf"),
        ],
    )
    parsed = mail.parse(raw)
    assert [(p.name, p.content_type, p.data) for p in parsed.attachments] == [
        ("故障截图.png", "image/png", b"\x89PNG-data"),
        ("report.pdf", "application/pdf", b"%PDF-1.4"),
    ]
    assert parsed.text == "见附件"


def test_an_rfc2047_encoded_attachment_name_in_gbk_decodes() -> None:
    message = MIMEMultipart("mixed")
    message.attach(text_part("附件"))
    part = MIMENonMultipart("application", "pdf")
    part.set_payload(b"%PDF")
    name = encoded_word("镕基报价单.pdf", "GB2312", "gbk")
    part.add_header("Content-Disposition", f'attachment; filename="{name}"')
    message.attach(part)
    assert mail.parse(build(message)).attachments[0].name == "镕基报价单.pdf"


def test_a_forwarded_message_is_kept_as_an_eml_file() -> None:
    from email.mime.message import MIMEMessage

    inner = mail.parse(build("原始内容", subject="Original"))
    assert inner.subject == "Original"
    message = MIMEMultipart("mixed")
    message.attach(text_part("请看转发的邮件"))
    from email import message_from_bytes

    message.attach(MIMEMessage(message_from_bytes(build("原始内容", subject="Original"))))
    parsed = mail.parse(build(message))
    assert parsed.attachments[0].name == "Original.eml"
    assert parsed.attachments[0].content_type == "message/rfc822"
    assert b"Subject: Original" in parsed.attachments[0].data


# --- quoted history ----------------------------------------------------------------------

OUTLOOK_ZH = """好的，我明天再试一次。

________________________________
发件人: 服务台 <support@assura.test>
发送时间: 2026年3月2日 10:00
收件人: 张三
主题: [C-2026-000123] 打印机无法打印

请重启打印机后再试。"""

FOXMAIL = """收到，谢谢！

-----原始邮件-----
发件人："服务台"<support@assura.test>
发送时间：2026年3月2日(星期一) 上午10:00
收件人："张三"<zhang.san@customer.test>
主题：[C-2026-000123] 打印机无法打印

请重启打印机后再试。"""

QQ_MAIL = """问题已解决

------------------ 原始邮件 ------------------
发件人: "服务台"<support@assura.test>;
发送时间: 2026年3月2日(星期一) 上午10:00
"""

GMAIL_EN = """Thanks, that fixed it.

On Mon, Mar 2, 2026 at 10:00 AM Service desk <support@assura.test>
wrote:

> Please restart the printer.
> Regards"""

GMAIL_ZH = """已经好了。

服务台 <support@assura.test> 于2026年3月2日周一 10:00写道：

> 请重启打印机后再试。"""

OUTLOOK_EN = """It works now.

-----Original Message-----
From: Service desk <support@assura.test>
Sent: Monday, March 2, 2026 10:00 AM
To: Zhang San
Subject: [C-2026-000123] Printer

Please restart the printer."""

INLINE = """> Did you restart it?
Yes, twice.
> Which model?
HP M404"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (OUTLOOK_ZH, "好的，我明天再试一次。"),
        (FOXMAIL, "收到，谢谢！"),
        (QQ_MAIL, "问题已解决"),
        (GMAIL_EN, "Thanks, that fixed it."),
        (GMAIL_ZH, "已经好了。"),
        (OUTLOOK_EN, "It works now."),
        (INLINE, "Yes, twice.\nHP M404"),
    ],
    ids=["outlook-zh", "foxmail", "qq", "gmail-en", "gmail-zh", "outlook-en", "inline"],
)
def test_quoted_history_is_trimmed(text: str, expected: str) -> None:
    assert mail.trim_quoted(text) == expected


def test_a_from_line_in_the_text_itself_is_not_taken_for_history() -> None:
    text = "From: our Shanghai office\nthe printer on floor 3 is broken.\n\nRegards"
    assert mail.trim_quoted(text) == text


def test_a_message_that_is_all_quote_is_kept_whole() -> None:
    assert mail.trim_quoted("> only a quote\n> nothing new") == "> only a quote\n> nothing new"


def test_the_quoted_part_of_an_html_reply_is_trimmed() -> None:
    html = (
        "<div dir='ltr'>已修复，谢谢</div><br><div class='gmail_quote'>"
        "<div class='gmail_attr'>服务台 &lt;support@assura.test&gt; "
        "于2026年3月2日周一 10:00写道：</div>"
        "<blockquote>请重启打印机</blockquote></div>"
    )
    assert mail.parse(build(html_part(html))).new_text == "已修复，谢谢"


def test_outlook_html_history_after_its_marker_is_trimmed() -> None:
    html = (
        "<p>好的</p><div id='appendonsend'></div><hr>"
        "<div id='divRplyFwdMsg'><b>发件人:</b> 服务台<br><b>主题:</b> x</div><p>旧内容</p>"
    )
    assert mail.parse(build(html_part(html))).new_text == "好的"


# --- subjects and threading keys ---------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("Re: [C-2026-000123] 打印机无法打印", "C-2026-000123"),
        ("回复：【C-2026-000042】打印机", "C-2026-000042"),
        ("[C-2026-1234567] long numbers", "C-2026-1234567"),
        ("C-2026-000123 without brackets", ""),
        ("打印机无法打印", ""),
    ],
)
def test_it_finds_the_case_reference_in_a_subject(subject: str, reference: str) -> None:
    assert mail.case_reference(subject) == reference


def test_reply_prefixes_and_our_tag_are_cleaned_from_a_subject() -> None:
    assert mail.clean_subject("Re: 回复：RE: [C-2026-000123] 打印机无法打印") == "打印机无法打印"
    assert mail.clean_subject("转发: Fwd: 报价") == "报价"


def test_threading_keys_come_nearest_first() -> None:
    parsed = mail.parse(
        build(in_reply_to="<c@x>", references=["<a@x>", "<b@x>", "<c@x>"], message_id="<d@x>")
    )
    assert parsed.message_id == "<d@x>"
    assert parsed.thread_ids == ["<c@x>", "<b@x>", "<a@x>"]


def test_our_own_message_ids_name_their_case() -> None:
    assert mail.reference_in_message_id("<C-2026-000123.ab12@assura.test>", "assura.test") == (
        "C-2026-000123"
    )
    assert mail.reference_in_message_id("<C-2026-000123.ab12@evil.test>", "assura.test") == ""


# --- machine mail ------------------------------------------------------------------------

OWN = {"support@assura.test"}


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({}, "zhang.san@customer.test", ""),
        ({"Auto-Submitted": "no"}, "zhang.san@customer.test", ""),
        ({"Auto-Submitted": "auto-replied"}, "zhang.san@customer.test", "auto-submitted"),
        ({"Auto-Submitted": "auto-generated"}, "zhang.san@customer.test", "auto-submitted"),
        ({"Precedence": "bulk"}, "news@customer.test", "bulk"),
        ({"Precedence": "junk"}, "news@customer.test", "bulk"),
        ({"Precedence": "list"}, "news@customer.test", "bulk"),
        ({"List-Id": "<staff.customer.test>"}, "news@customer.test", "bulk"),
        ({"X-Autoreply": "yes"}, "zhang.san@customer.test", "auto-reply"),
        ({"X-Autorespond": "yes"}, "zhang.san@customer.test", "auto-reply"),
        ({}, "MAILER-DAEMON@mx.customer.test", "bounce"),
        ({}, "postmaster@customer.test", "bounce"),
        ({"Return-Path": "<>"}, "someone@customer.test", "bounce"),
        ({}, "Support@Assura.test", "own-address"),
    ],
)
def test_machine_mail_is_recognised(headers: dict[str, str], sender: str, reason: str) -> None:
    parsed = mail.parse(build(sender=sender, headers=headers))
    assert mail.automatic_reason(parsed, OWN) == reason


def test_a_delivery_report_is_a_bounce() -> None:
    raw = (
        b"From: Mail Delivery System <notifications@mx.customer.test>\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn@mx.customer.test>\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.customer.test\r\n\r\nFinal-Recipient: rfc822; x@y\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n"
    )
    parsed = mail.parse(raw)
    assert parsed.report_type == "delivery-status"
    assert parsed.text == "Delivery failed"
    assert mail.automatic_reason(parsed, OWN) == "bounce"


def test_a_message_without_message_id_still_parses() -> None:
    raw = b"From: a@customer.test\r\nSubject: x\r\n\r\nbody\r\n"
    parsed = mail.parse(raw)
    assert parsed.message_id == ""
    assert parsed.text == "body"


def test_garbage_never_raises() -> None:
    parsed = mail.parse(b"\x00\xff\xfe not a mail at all \r\n\r\n\x80\x81")
    assert parsed.sender.address == ""
