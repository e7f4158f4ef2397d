"""Reading e-mail: headers, bodies, attachments, quoted history and threading keys.

Pure: the standard library only, so every rule is tested on messages built with the
`email` package, without a database or a mail server.

Chinese mail needs care the generic parsers do not take:

- A message labelled GB2312 is very often written in GBK or GB18030 (the supersets that
  Windows and most Chinese mail clients actually use): characters such as 镕 or 喆 are
  not in GB2312 and a strict decoder turns them into replacement marks. Every GB label
  is therefore decoded as GB18030, which contains both.
- Headers come RFC 2047-encoded (``=?GB2312?B?...?=``), RFC 2231-encoded (file names),
  or as raw 8-bit bytes in whatever the client used; all three are handled.
- Reply markers are Chinese as well as English (``-----原始邮件-----``, ``发件人:``).
"""

from __future__ import annotations

import codecs
import email
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import HeaderParseError
from email.header import Header, decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

# Labels decoded with a wider codec than their name says (see the module's docstring).
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "chinese": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "utf8": "utf-8",
}
# Tried in this order when a label is missing or wrong.
FALLBACK_CODECS = ("utf-8", "gb18030")


def codec_for(label: str | None) -> str:
    """The Python codec to decode text labelled `label` with."""
    name = (label or "").strip().strip("\"'").lower()
    if not name:
        return "utf-8"
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Text from bytes in the labelled charset; a wrong label falls back to UTF-8, GB18030."""
    declared = codec_for(label)
    for codec in dict.fromkeys((declared, *FALLBACK_CODECS)):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(declared, errors="replace")


def _unescape_8bit(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: decode them properly."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    return decode_bytes(value.encode("ascii", "surrogateescape"))


def decode_header_value(value: str | Header | None) -> str:
    """A header as text: RFC 2047 encoded words and raw 8-bit bytes decoded, unfolded."""
    if value is None:
        return ""
    text = _unescape_8bit(str(value))
    text = re.sub(r"\r?\n(?=[ \t])", "", text).replace("\r", "").replace("\n", "")
    if "=?" not in text:
        return text.strip()
    try:
        parts = decode_header(text)
    except (HeaderParseError, ValueError):
        return text.strip()
    decoded = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            decoded.append(chunk)
        else:
            # "utf-8*zh" carries an RFC 2231 language tag after the charset.
            decoded.append(decode_bytes(chunk, (charset or "").split("*")[0] or None))
    return "".join(decoded).strip()


# --- the parsed message ----------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True)
class Part:
    """An attachment (or inline image) with its decoded name."""

    name: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address
    reply_to: Address | None
    to: list[Address]
    cc: list[Address]
    date: datetime | None
    text: str
    from_html: bool
    attachments: list[Part]
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    report_type: str = ""

    @property
    def new_text(self) -> str:
        """What the sender wrote this time: the body without the quoted history."""
        return trim_quoted(self.text)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this message answers, nearest first: In-Reply-To, then References
        from the last (the parent) to the first (the thread's start)."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


# Headers kept (decoded) for the loop and bounce rules and for people reading the record.
KEPT_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-autogenerated",
    "x-auto-response-suppress",
    "x-mail-autoreply",
    "x-failed-recipients",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "sender",
    "x-loop",
)


def parse(raw: bytes) -> ParsedMail:
    """Read one message (RFC 5322 bytes as fetched); never raises on a malformed message."""
    message = email.message_from_bytes(raw, policy=compat32)
    texts: list[tuple[str, str]] = []
    attachments: list[Part] = []
    _collect(message, texts, attachments)
    from_html = bool(texts) and all(kind == "html" for kind, _text in texts)
    body = "\n\n".join(
        html_to_text(text) if kind == "html" else text for kind, text in texts
    ).strip()
    sender = _addresses(message, "From")
    reply_to = _addresses(message, "Reply-To")
    return ParsedMail(
        message_id=(_message_ids(_raw(message, "Message-ID")) or [""])[0],
        in_reply_to=_message_ids(_raw(message, "In-Reply-To")),
        references=_message_ids(_raw(message, "References")),
        subject=decode_header_value(_raw(message, "Subject")),
        sender=sender[0] if sender else Address("", ""),
        reply_to=reply_to[0] if reply_to else None,
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        date=_date(_raw(message, "Date")),
        text=_tidy(body),
        from_html=from_html,
        attachments=attachments,
        headers={
            name: decode_header_value(_raw(message, name))
            for name in KEPT_HEADERS
            if _raw(message, name) is not None
        },
        content_type=message.get_content_type(),
        report_type=_report_type(message),
    )


def _report_type(message: Message) -> str:
    """multipart/report's report-type: delivery-status for a bounce."""
    return _param(message, "report-type") if message.get_content_subtype() == "report" else ""


def _param(part: Message, name: str) -> str:
    value = part.get_param(name)
    if isinstance(value, tuple):
        value = value[2]
    return str(value or "").strip().lower()


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _raw(message: Message, name: str) -> str | None:
    """The header's first value as received (compat32 may wrap 8-bit values in a Header)."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    text = _unescape_8bit(value)
    found = re.findall(r"<[^<>\s]+>", text)
    if found:
        return list(dict.fromkeys(found))
    bare = text.strip()
    return [f"<{bare}>"] if bare and " " not in bare else []


def _addresses(message: Message, name: str) -> list[Address]:
    values = [
        _unescape_8bit(str(value))
        for key, value in message.raw_items()
        if key.lower() == name.lower()
    ]
    found = _parse_addresses(values)
    if not found and values:
        # Some clients encode the whole header, address included, as one encoded word.
        found = _parse_addresses([decode_header_value(value) for value in values])
    return found


def _parse_addresses(values: list[str]) -> list[Address]:
    found = []
    for display, address in getaddresses(values):
        address = address.strip().lower()
        if "@" not in address:
            continue
        found.append(Address(decode_header_value(display).strip(" \"'"), address))
    return found


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return disposition == "attachment" or (
        disposition != "inline" and part.get_param("name") is not None
    )


def _collect(part: Message, texts: list[tuple[str, str]], attachments: list[Part]) -> None:
    """Walk the MIME tree: readable text in order, everything else as attachments."""
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        attachments.append(_forwarded(part, len(attachments) + 1))
        return
    if part.is_multipart():
        children = [child for child in part.get_payload() if isinstance(child, Message)]
        if part.get_content_subtype() == "alternative":
            _collect_alternative(children, texts, attachments)
        else:
            for child in children:
                _collect(child, texts, attachments)
        return
    if content_type in ("text/plain", "text/html") and not _is_attachment(part):
        text = _part_text(part)
        if text.strip():
            texts.append(("html" if content_type == "text/html" else "plain", text))
        return
    if content_type in ("message/delivery-status", "message/disposition-notification"):
        return  # the machine-readable half of a bounce or a read receipt
    attachments.append(_attachment(part, len(attachments) + 1))


def _collect_alternative(
    children: list[Message], texts: list[tuple[str, str]], attachments: list[Part]
) -> None:
    """One of the alternatives: the plain text when it says something, else the HTML."""
    options = []
    for child in children:
        child_texts: list[tuple[str, str]] = []
        child_attachments: list[Part] = []
        _collect(child, child_texts, child_attachments)
        options.append((child_texts, child_attachments))
    plain = [option for option in options if any(kind == "plain" for kind, _t in option[0])]
    html = [option for option in options if any(kind == "html" for kind, _t in option[0])]
    chosen = (plain or html or options or [([], [])])[0]
    texts.extend(chosen[0])
    for _texts, found in options:
        attachments.extend(found)


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    label = part.get_content_charset()
    if label is None and part.get_content_type() == "text/html":
        sniffed = re.search(rb"charset\s*=\s*[\"']?([\w.:-]+)", data[:4096], re.IGNORECASE)
        label = sniffed.group(1).decode("ascii") if sniffed else None
    text = decode_bytes(data, label)
    if _param(part, "format") == "flowed":
        text = _unflow(text, delsp=_param(part, "delsp") == "yes")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676: a line ending in a space continues on the next one."""
    lines: list[str] = []
    joining = False
    for line in text.replace("\r\n", "\n").split("\n"):
        piece = line[:-1] if delsp and line.endswith(" ") and line != "-- " else line
        if joining and lines:
            lines[-1] += piece
        else:
            lines.append(piece)
        joining = line.endswith(" ") and line != "-- "
    return "\n".join(lines)


def _filename(part: Message) -> str:
    for header, name in (("content-disposition", "filename"), ("content-type", "name")):
        value = part.get_param(name, header=header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded text)
            charset, _language, text = value
            return decode_bytes(bytes(text, "raw-unicode-escape"), charset).strip()
        return decode_header_value(str(value)).strip()
    return ""


def _attachment(part: Message, number: int) -> Part:
    content_type = part.get_content_type()
    data = part.get_payload(decode=True)
    name = _filename(part).replace("/", "_").replace("\\", "_")
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{number}{extension}"
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return Part(
        name=name,
        content_type=content_type,
        data=data if isinstance(data, bytes) else b"",
        inline=disposition == "inline" or (not disposition and part.get("Content-ID") is not None),
    )


def _forwarded(part: Message, number: int) -> Part:
    """A message attached whole (a forward): kept as an .eml file named after its subject."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message):
        data = inner.as_bytes(policy=compat32)
        subject = decode_header_value(_raw(inner, "Subject"))
    else:
        data, subject = b"", ""
    name = _filename(part) or f"{subject or f'message-{number}'}.eml"
    return Part(name=name.replace("/", "_")[:200], content_type="message/rfc822", data=data)


# --- HTML to text ------------------------------------------------------------------------

BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
HIDDEN = frozenset({"head", "script", "style", "title", "template", "noscript", "xml"})
# Containers mail clients put the quoted history in.
QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
# Outlook puts a marker element before the quoted history, which follows as siblings.
HISTORY_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")


class _TextMaker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.line_depth = 0
        self.depth = 0  # blockquote nesting
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)
        self.hidden = 0
        self.pre = 0
        self.rest_quoted = False
        self.link: str | None = None
        self.link_text: list[str] = []

    def _quote_level(self) -> int:
        return self.depth + (1 if self.rest_quoted else 0)

    def newline(self) -> None:
        text = "".join(self.current)
        if not self.pre:
            text = re.sub(r"[ \t]+", " ", text).strip()
        prefix = "> " * self.line_depth
        self.lines.append(prefix + text if text else (prefix.rstrip() if prefix else ""))
        self.current = []
        self.line_depth = self._quote_level()

    def text(self, data: str) -> None:
        if not self.current:
            self.line_depth = self._quote_level()
        self.current.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if tag in HIDDEN:
            self.hidden += 1
            return
        classes = values.get("class", "").lower()
        quote = tag == "blockquote" or any(name in classes for name in QUOTE_CLASSES)
        if values.get("id", "").lower() in HISTORY_IDS:
            self.rest_quoted = True
        if tag == "br":
            self.newline()
            return
        if (tag in BLOCKS or quote) and self.current:
            self.newline()
        if tag == "hr":
            self.text("----")
            self.newline()
            return
        if tag in ("img", "meta", "link", "input", "wbr", "col", "area", "base"):
            return  # void elements never close
        if quote:
            self.depth += 1
        if tag == "pre":
            self.pre += 1
        if tag == "li":
            self.text("- ")
        if tag in ("td", "th") and self.current:
            self.text("  ")
        if tag == "a":
            self.link, self.link_text = values.get("href", ""), []
        self.stack.append((tag, quote))
        if not self.current:
            self.line_depth = self._quote_level()

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if not any(open_tag == tag for open_tag, _q in self.stack):
            return
        while self.stack:
            open_tag, quote = self.stack.pop()
            if open_tag == "a":
                self._end_link()
            if open_tag == "pre":
                self.pre = max(0, self.pre - 1)
            if (open_tag in BLOCKS or quote) and self.current:
                self.newline()
            if quote:
                self.depth = max(0, self.depth - 1)
            if open_tag == tag:
                break

    def _end_link(self) -> None:
        href, shown = self.link or "", "".join(self.link_text).strip()
        if href.startswith(("http://", "https://")) and href not in shown and shown:
            self.text(f" ({href})")
        self.link, self.link_text = None, []

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        data = data.replace("\xa0", " ")
        if not self.pre:
            data = re.sub(r"[\r\n]+", " ", data)
        if self.pre and "\n" in data:
            pieces = data.split("\n")
            for piece in pieces[:-1]:
                self.text(piece)
                self.newline()
            data = pieces[-1]
        if self.link is not None:
            self.link_text.append(data)
        if data:
            self.text(data)

    def result(self) -> str:
        if self.current:
            self.newline()
        return _tidy("\n".join(self.lines))


def html_to_text(html: str) -> str:
    """Readable text from an HTML mail body: blocks as lines, quotes as "> " lines."""
    maker = _TextMaker()
    try:
        maker.feed(html)
        maker.close()
    except (AssertionError, ValueError):  # pragma: no cover - HTMLParser is forgiving
        return _tidy(re.sub(r"<[^>]+>", " ", unescape(html)))
    return maker.result()


def _tidy(text: str) -> str:
    """Trailing spaces off, runs of blank lines down to one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return tidy.strip("\n")


# --- quoted history ----------------------------------------------------------------------

SEPARATORS = re.compile(
    r"^\s*[-_=*]{2,}\s*(原始邮件|原始郵件|原邮件|Original Message|Forwarded message|"
    r"转发邮件|转发的邮件|轉寄郵件)\s*[-_=*]{2,}\s*$",
    re.IGNORECASE,
)
RULE = re.compile(r"^\s*_{10,}\s*$")  # Outlook's line above the header block
WROTE = re.compile(r"^\s*(On|Le|Am)\b.{0,300}\b(wrote|a écrit|schrieb)\s*:\s*$", re.IGNORECASE)
WROTE_ZH = re.compile(r"^.{0,300}(写道|寫道)\s*[:：]\s*$")
HEADER_START = re.compile(r"^\s*\**\s*(发件人|寄件者|寄件人|From)\s*\**\s*[:：]", re.IGNORECASE)
HEADER_NEXT = re.compile(
    r"^\s*\**\s*(发送时间|發送時間|时间|日期|发送日期|收件人|抄送|主题|主旨|"
    r"Sent|Date|To|Cc|Subject)\s*\**\s*[:：]",
    re.IGNORECASE,
)


def trim_quoted(text: str) -> str:
    """The new part of a reply: cut at the first reply marker, drop "> " quoted lines.

    Markers: "-----原始邮件-----" / "-----Original Message-----" separators, "On … wrote:"
    (also wrapped over two lines) and "… 写道：", an Outlook header block ("发件人:" or
    "From:" followed by "发送时间:", "Sent:", "收件人:", "To:", "主题:" …). A message that is
    all quote is returned as it was, so nothing the sender wrote disappears.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        if _is_marker(lines, index, line):
            cut = index
            break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    trimmed = _tidy("\n".join(kept)).strip()
    return trimmed or text.strip()


def _is_marker(lines: list[str], index: int, line: str) -> bool:
    if SEPARATORS.match(line) or WROTE.match(line) or WROTE_ZH.match(line):
        return True
    if re.match(r"^\s*(On|在)\b", line, re.IGNORECASE) or line.lstrip().startswith("在"):
        joined = " ".join(part.strip() for part in lines[index : index + 3])
        if re.match(r"^\s*On\b.{0,300}\bwrote\s*:", joined, re.IGNORECASE) or re.match(
            r"^\s*在.{0,300}(写道|寫道)\s*[:：]", joined
        ):
            return True
    following = [candidate for candidate in lines[index + 1 : index + 5] if candidate.strip()]
    if RULE.match(line):
        return bool(following) and bool(HEADER_START.match(following[0]))
    if HEADER_START.match(line):
        return any(HEADER_NEXT.match(candidate) for candidate in following[:3])
    return False


# --- subjects and threading --------------------------------------------------------------

REFERENCE = re.compile(r"[\[【［]\s*(C-\d{4}-\d{6,})\s*[\]】］]")
REPLY_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|sv|vs|回复|回覆|答复|转发|轉寄|转寄)\s*(\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)


def case_reference(subject: str) -> str:
    """The case reference tagged in a subject ("[C-2026-000123]"), or ""."""
    found = REFERENCE.search(subject or "")
    return found.group(1) if found else ""


def clean_subject(subject: str) -> str:
    """The subject without "Re:"/"回复:" prefixes and our own reference tag."""
    text = REFERENCE.sub(" ", subject or "")
    previous = None
    while previous != text:
        previous = text
        text = REPLY_PREFIX.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def reference_in_message_id(message_id: str, domain: str) -> str:
    """The case reference inside one of our own Message-IDs (see `outgoing.message_id`)."""
    found = re.fullmatch(r"<(C-\d{4}-\d{6,})\.[\w.-]+@([^<>\s]+)>", message_id or "")
    if not found or found.group(2).lower() != domain.lower():
        return ""
    return found.group(1)


# --- machine mail ------------------------------------------------------------------------

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "maildaemon"})
AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autogenerated", "x-mail-autoreply")


def automatic_reason(parsed: ParsedMail, own_addresses: set[str]) -> str:
    """Why a message must not become a case (a loop or a bounce), or "" when it may.

    Codes: "own-address" (our own From: a loop), "bounce" (mailer-daemon, postmaster,
    a delivery report, an empty return path), "auto-submitted" (RFC 3834), "auto-reply"
    (X-Autoreply and its cousins), "bulk" (Precedence bulk/junk/list, a List-Id).
    """
    sender = parsed.sender.address.lower()
    if sender and sender in own_addresses:
        return "own-address"
    local = sender.partition("@")[0]
    if (
        local in DAEMON_LOCAL_PARTS
        or parsed.report_type in ("delivery-status", "disposition-notification")
        or parsed.header("return-path").strip() == "<>"
        or parsed.header("x-failed-recipients")
    ):
        return "bounce"
    auto = parsed.header("auto-submitted").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return "auto-submitted"
    if any(parsed.header(name) for name in AUTOREPLY_HEADERS):
        return "auto-reply"
    if parsed.header("precedence").strip().lower() in BULK_PRECEDENCE or parsed.header("list-id"):
        return "bulk"
    if parsed.header("x-loop") and parsed.header("x-loop").strip().lower() in own_addresses:
        return "own-address"
    return ""
