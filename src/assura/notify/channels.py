"""What each channel kind puts on the wire: message formats and request signing.

Pure functions, free of Django, so every byte a robot platform checks can be tested
on its own: the JSON body of each platform's documented message types, and the
signatures DingTalk, Feishu and the generic webhook carry. Sending (sockets, SMTP,
retries) lives in `senders` and `outbox`; this module only decides what to send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class Kind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"


# The kinds whose requests can carry a signature, and the chat robots.
SIGNING_KINDS = frozenset({Kind.WEBHOOK, Kind.DINGTALK, Kind.FEISHU})
ROBOT_KINDS = frozenset({Kind.WECOM, Kind.DINGTALK, Kind.FEISHU})

# Size limits in UTF-8 bytes. WeCom documents 2048 for text and 4096 for markdown; DingTalk
# and Feishu refuse bodies of about 20 KB, so their text stays below that with room for the
# JSON around it. A longer message is cut with an ellipsis rather than refused outright.
LIMITS: Mapping[tuple[Kind, str], int] = {
    (Kind.WECOM, "text"): 2048,
    (Kind.WECOM, "markdown"): 4096,
    (Kind.DINGTALK, "text"): 18_000,
    (Kind.DINGTALK, "markdown"): 18_000,
    (Kind.FEISHU, "text"): 18_000,
    (Kind.FEISHU, "markdown"): 18_000,
}
ELLIPSIS = "…"

# Headers of the generic webhook: the receiver checks the signature and may drop a
# delivery id it has already seen (the defence against the at-least-once window).
SIGNATURE_HEADER = "X-Assura-Signature"
TIMESTAMP_HEADER = "X-Assura-Timestamp"
DELIVERY_HEADER = "X-Assura-Delivery"
USER_AGENT = "assura-notify/1"


@dataclass(frozen=True)
class Message:
    """One notice, as the outbox holds it."""

    key: str  # the dedup key: stable across retries, so receivers can recognise a repeat
    subject: str
    body: str
    markdown: str = ""
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where an HTTP channel posts; an empty secret means the requests are not signed."""

    kind: Kind
    url: str
    secret: str = ""


@dataclass(frozen=True)
class OutgoingRequest:
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def build_request(endpoint: Endpoint, message: Message, *, now: float) -> OutgoingRequest:
    """The POST that delivers `message` to `endpoint`, signed with `now` (Unix seconds).

    `now` is the wall-clock time of the send: DingTalk and Feishu refuse a signature whose
    timestamp is more than an hour away from their own clock.
    """
    builders = {
        Kind.WEBHOOK: webhook_request,
        Kind.WECOM: wecom_request,
        Kind.DINGTALK: dingtalk_request,
        Kind.FEISHU: feishu_request,
    }
    if endpoint.kind not in builders:
        raise ValueError(f"{endpoint.kind} is not sent over HTTP")
    return builders[endpoint.kind](endpoint, message, now)


# --- the generic webhook -----------------------------------------------------------------


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret.

    The timestamp is inside the signed text so that a captured request cannot be replayed
    later under a fresh timestamp; receivers reject timestamps far from their clock.
    """
    signed = timestamp.encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_request(endpoint: Endpoint, message: Message, now: float) -> OutgoingRequest:
    document = {
        "id": message.key,
        "subject": message.subject,
        "body": message.body,
        "markdown": message.markdown,
        "payload": dict(message.payload or {}),
    }
    body = to_json(document)
    timestamp = str(int(now))
    headers = {
        **json_headers(),
        DELIVERY_HEADER: message.key,
        TIMESTAMP_HEADER: timestamp,
    }
    if endpoint.secret:
        headers[SIGNATURE_HEADER] = webhook_signature(endpoint.secret, timestamp, body)
    return OutgoingRequest(endpoint.url, body, headers)


# --- WeCom group robot -------------------------------------------------------------------


def wecom_request(endpoint: Endpoint, message: Message, now: float) -> OutgoingRequest:
    """WeCom's group robot: a plain POST to its key URL; the key in the URL is the secret."""
    if message.markdown:
        content = truncate_utf8(headed_markdown(message), LIMITS[(Kind.WECOM, "markdown")])
        document: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": content}}
    else:
        content = truncate_utf8(plain_text(message), LIMITS[(Kind.WECOM, "text")])
        document = {"msgtype": "text", "text": {"content": content}}
    return OutgoingRequest(endpoint.url, to_json(document), json_headers())


# --- DingTalk custom robot ---------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """Base64 of HMAC-SHA256 over "<timestamp>\\n<secret>", keyed with the secret.

    The caller URL-encodes it into the `sign` query parameter, next to `timestamp`
    (milliseconds).
    """
    text = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), text, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_request(endpoint: Endpoint, message: Message, now: float) -> OutgoingRequest:
    if message.markdown:
        text = truncate_utf8(headed_markdown(message), LIMITS[(Kind.DINGTALK, "markdown")])
        # The title is what the chat list previews; the text is the message itself.
        title = message.subject or first_line(message.markdown)
        document: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": text},
        }
    else:
        content = truncate_utf8(plain_text(message), LIMITS[(Kind.DINGTALK, "text")])
        document = {"msgtype": "text", "text": {"content": content}}
    url = endpoint.url
    if endpoint.secret:
        timestamp = str(int(now * 1000))
        sign = dingtalk_sign(endpoint.secret, timestamp)
        query = urlencode({"timestamp": timestamp, "sign": sign})
        url = f"{url}{'&' if '?' in url else '?'}{query}"
    return OutgoingRequest(url, to_json(document), json_headers())


# --- Feishu custom bot -------------------------------------------------------------------


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Base64 of HMAC-SHA256 keyed with "<timestamp>\\n<secret>" over an empty message.

    Unlike DingTalk, the joined string is the key and the hashed message is empty; mixing
    the two schemes up is what Feishu's error 19021 usually means. The signature and
    `timestamp` (seconds) travel in the JSON body, not in the URL.
    """
    key = f"{timestamp_s}\n{secret}".encode()
    digest = hmac.new(key, b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_request(endpoint: Endpoint, message: Message, now: float) -> OutgoingRequest:
    document: dict[str, Any] = {}
    if endpoint.secret:
        timestamp = str(int(now))
        document |= {"timestamp": timestamp, "sign": feishu_sign(endpoint.secret, timestamp)}
    if message.markdown:
        # Markdown is shown by a message card; its header carries the subject.
        text = truncate_utf8(message.markdown, LIMITS[(Kind.FEISHU, "markdown")])
        card: dict[str, Any] = {"elements": [{"tag": "markdown", "content": text}]}
        if message.subject:
            card["header"] = {"title": {"tag": "plain_text", "content": message.subject}}
        document |= {"msg_type": "interactive", "card": card}
    else:
        text = truncate_utf8(plain_text(message), LIMITS[(Kind.FEISHU, "text")])
        document |= {"msg_type": "text", "content": {"text": text}}
    return OutgoingRequest(endpoint.url, to_json(document), json_headers())


# --- reading the answer ------------------------------------------------------------------


def answer_problem(kind: Kind, status: int, body: bytes) -> str | None:
    """Why the platform's answer means the message did not go out; None when it did.

    Robots answer HTTP 200 even when they refuse a message, with an error code in the
    JSON (`errcode` for WeCom and DingTalk, `code` or the older `StatusCode` for Feishu),
    so a 200 alone is not success. The generic webhook succeeds with any 2xx.
    """
    if not 200 <= status < 300:
        return f"HTTP {status}"
    if kind not in ROBOT_KINDS:
        return None
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "the answer is not JSON"
    if not isinstance(answer, dict):
        return "the answer is not a JSON object"
    if kind is Kind.FEISHU:
        code = answer.get("code", answer.get("StatusCode"))
        text = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code, text = answer.get("errcode"), answer.get("errmsg", "")
    if code == 0:
        return None
    if code is None:
        return "the answer has no error code"
    return f"error {code}: {text}".strip()


# --- text helpers ------------------------------------------------------------------------


def plain_text(message: Message) -> str:
    """Subject, a blank line, body: how a notice reads in a chat without formatting."""
    if not message.subject:
        return message.body
    return f"{message.subject}\n\n{message.body}" if message.body else message.subject


def headed_markdown(message: Message) -> str:
    """The markdown with the subject as a bold first line (the platform has no title slot)."""
    if not message.subject:
        return message.markdown
    return f"**{message.subject}**\n\n{message.markdown}"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0].lstrip("# ").strip() if text.strip() else ""


def truncate_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, never inside a character, marked with …."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + ELLIPSIS


def mask_secret(secret: str) -> str:
    """How a stored secret is shown: that one is set, and its last characters at most."""
    if not secret:
        return ""
    shown = secret[-4:] if len(secret) >= 16 else ""
    return "••••••••" + shown


def mask_url(url: str) -> str:
    """A robot address with its token hidden: the token alone lets anyone post to the group.

    Query values and a long last path segment (Feishu's hook id) keep their first four
    characters, enough to tell two robots apart.
    """
    if not url:
        return ""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if segments and len(segments[-1]) > 16:
        segments[-1] = _hide(segments[-1])
    query = "&".join(f"{name}={_hide(value)}" for name, value in parse_qsl(parts.query))
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), query, ""))


def _hide(value: str) -> str:
    return value[:4] + "…" if len(value) > 4 else "…"


def to_json(document: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON: Chinese stays readable and the signed bytes are the sent bytes."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
