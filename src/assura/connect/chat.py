"""What each chat platform documents for its callbacks: signatures, encryption, messages.

Pure functions, free of Django, so every byte a platform sends can be checked on its
own and the tests can build requests exactly as the platforms do (the `seal` and
`encrypt` functions are the inverses the platforms apply before sending).

- WeCom (企业微信) application callbacks: `msg_signature` is the SHA-1 of the sorted
  token, timestamp, nonce and ciphertext; the message is AES-256-CBC with the key decoded
  from the 43-character EncodingAESKey, IV = the key's first 16 bytes, PKCS#7 padding to
  a multiple of 32 bytes, and the plain text laid out as random(16) + length(4, network
  order) + message + receive id (the corp id).
- DingTalk (钉钉) robots receiving messages: headers `timestamp` (ms) and `sign` =
  Base64(HMAC-SHA256(appSecret, timestamp + "\\n" + appSecret)); a timestamp more than
  an hour from our clock is refused.
- Feishu (飞书) event subscriptions: `X-Lark-Signature` = hex SHA-256 of timestamp +
  nonce + Encrypt Key + raw body when an Encrypt Key is set; the body may be
  `{"encrypt": …}`, AES-256-CBC with key SHA-256(Encrypt Key), a random IV in the first 16
  bytes, PKCS#7 padding; the Verification Token is in the event; `url_verification`
  asks us to echo a challenge.
- Our own signed JSON endpoint: `X-Assura-Signature: sha256=<hex HMAC-SHA256 of
  "<timestamp>.<raw body>">` with `X-Assura-Timestamp`, the scheme of our outgoing
  webhooks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from assura.notify.channels import dingtalk_sign, webhook_signature

#: DingTalk refuses, and asks its receivers to refuse, timestamps an hour away.
DINGTALK_TOLERANCE_SECONDS = 3600
WECOM_BLOCK = 32  # WeCom pads to 32 bytes, not to the AES block of 16
AES_BLOCK = 16
_MENTION = re.compile(r"@_user_\d+\s*")
_ENCODING_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")


class Reason(StrEnum):
    """Why a callback was refused (stored with the logged request)."""

    BAD_REQUEST = "bad_request"
    BAD_SIGNATURE = "bad_signature"
    STALE = "stale_timestamp"
    UNDECRYPTABLE = "undecryptable"
    WRONG_RECEIVER = "wrong_receiver"
    BAD_TOKEN = "bad_token"  # noqa: S105 - a reason code, not a secret


class RejectedError(Exception):
    """A callback that is not what the platform would send; nothing may change."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ChatMessage:
    """A message a person wrote to the application, as every platform tells it."""

    message_id: str
    sender_id: str
    sender_name: str
    conversation_id: str
    text: str
    kind: str = "text"
    sent_at: float | None = None  # Unix seconds


@dataclass(frozen=True)
class Opened:
    """What a verified callback carried: a message, a challenge, or another event."""

    message: ChatMessage | None = None
    challenge: str | None = None
    event_id: str = ""
    event_type: str = ""
    nonce: str = ""


def check_timestamp(timestamp: str, now: float, tolerance: float, *, millis: bool = False) -> None:
    """Refuse a missing timestamp, or one further than `tolerance` seconds from `now`."""
    try:
        value = float(timestamp)
    except (TypeError, ValueError):
        raise RejectedError(Reason.BAD_REQUEST, "missing or malformed timestamp") from None
    seconds = value / 1000 if millis else value
    if abs(now - seconds) > tolerance:
        raise RejectedError(
            Reason.STALE,
            f"timestamp {timestamp} is {abs(now - seconds):.0f} s from our clock"
            f" (at most {tolerance:.0f} s)",
        )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _aes_cbc(key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def _unpad(data: bytes, block: int) -> bytes:
    if not data:
        raise RejectedError(Reason.UNDECRYPTABLE, "empty plain text")
    pad = data[-1]
    if not 1 <= pad <= block or data[-pad:] != bytes([pad]) * pad:
        raise RejectedError(Reason.UNDECRYPTABLE, "bad padding: wrong key or altered ciphertext")
    return data[:-pad]


def _pad(data: bytes, block: int) -> bytes:
    pad = block - len(data) % block
    return data + bytes([pad]) * pad


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RejectedError(Reason.UNDECRYPTABLE, "the ciphertext is not Base64") from None


# --- WeCom -------------------------------------------------------------------------------


def valid_encoding_aes_key(encoding_aes_key: str) -> bool:
    return bool(_ENCODING_AES_KEY.match(encoding_aes_key or ""))


def wecom_aes_key(encoding_aes_key: str) -> bytes:
    """AESKey = Base64_Decode(EncodingAESKey + "="): 32 bytes."""
    if not valid_encoding_aes_key(encoding_aes_key):
        raise ValueError("an EncodingAESKey is 43 letters and digits")
    return base64.b64decode(encoding_aes_key + "=")


def wecom_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """msg_signature: SHA-1 (lower-case hex) of the four values sorted and joined."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()  # noqa: S324 - WeCom's scheme


def wecom_decrypt(encoding_aes_key: str, encrypted: str, receive_id: str) -> bytes:
    """The message inside a WeCom ciphertext, after checking it was meant for `receive_id`."""
    key = wecom_aes_key(encoding_aes_key)
    data = _b64decode(encrypted)
    if not data or len(data) % AES_BLOCK:
        raise RejectedError(Reason.UNDECRYPTABLE, "the ciphertext is not whole AES blocks")
    decryptor = _aes_cbc(key, key[:16]).decryptor()
    plain = _unpad(decryptor.update(data) + decryptor.finalize(), WECOM_BLOCK)
    if len(plain) < 20:
        raise RejectedError(Reason.UNDECRYPTABLE, "the plain text is too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, receiver = plain[20 : 20 + length], plain[20 + length :]
    if len(message) != length:
        raise RejectedError(Reason.UNDECRYPTABLE, "the message length does not match")
    if not hmac.compare_digest(receiver, receive_id.encode("utf-8")):
        raise RejectedError(Reason.WRONG_RECEIVER, "the message was encrypted for another receiver")
    return message


def wecom_encrypt(
    encoding_aes_key: str, message: bytes, receive_id: str, *, random_prefix: bytes | None = None
) -> str:
    """What WeCom does before sending (and what a passive encrypted reply does)."""
    key = wecom_aes_key(encoding_aes_key)
    prefix = random_prefix if random_prefix is not None else os.urandom(16)
    if len(prefix) != 16:
        raise ValueError("the random prefix is 16 bytes")
    plain = prefix + struct.pack(">I", len(message)) + message + receive_id.encode("utf-8")
    encryptor = _aes_cbc(key, key[:16]).encryptor()
    data = encryptor.update(_pad(plain, WECOM_BLOCK)) + encryptor.finalize()
    return base64.b64encode(data).decode("ascii")


def wecom_seal(
    *,
    token: str,
    encoding_aes_key: str,
    receive_id: str,
    message: bytes,
    timestamp: str,
    nonce: str,
) -> tuple[str, bytes]:
    """The `msg_signature` and XML body WeCom posts for `message` (its inverse of `wecom_open`)."""
    encrypted = wecom_encrypt(encoding_aes_key, message, receive_id)
    body = (
        f"<xml><ToUserName><![CDATA[{receive_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
    ).encode()
    return wecom_signature(token, timestamp, nonce, encrypted), body


def _wecom_check(token: str, msg_signature: str, timestamp: str, nonce: str, text: str) -> None:
    if not msg_signature or not nonce:
        raise RejectedError(Reason.BAD_REQUEST, "msg_signature, timestamp and nonce are required")
    if not _same(msg_signature.lower(), wecom_signature(token, timestamp, nonce, text)):
        raise RejectedError(Reason.BAD_SIGNATURE, "msg_signature does not match")


def wecom_verify_url(
    *,
    token: str,
    encoding_aes_key: str,
    receive_id: str,
    msg_signature: str,
    timestamp: str,
    nonce: str,
    echostr: str,
    now: float,
    tolerance: float,
) -> str:
    """The answer to WeCom's URL check (GET): the decrypted `echostr`, verbatim."""
    check_timestamp(timestamp, now, tolerance)
    _wecom_check(token, msg_signature, timestamp, nonce, echostr)
    return wecom_decrypt(encoding_aes_key, echostr, receive_id).decode("utf-8", "replace")


def parse_xml(body: bytes) -> dict[str, str]:
    """The children of a flat `<xml>` document as text; entity declarations are refused."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise RejectedError(Reason.BAD_REQUEST, "XML with declarations is not accepted")
    try:
        root = ET.fromstring(body)  # noqa: S314 - declarations refused above
    except ET.ParseError:
        raise RejectedError(Reason.BAD_REQUEST, "the body is not XML") from None
    return {child.tag: (child.text or "") for child in root}


def wecom_open(
    *,
    token: str,
    encoding_aes_key: str,
    receive_id: str,
    msg_signature: str,
    timestamp: str,
    nonce: str,
    body: bytes,
    now: float,
    tolerance: float,
) -> Opened:
    """Verify and decrypt a WeCom callback (POST) and read the message in it."""
    check_timestamp(timestamp, now, tolerance)
    encrypted = parse_xml(body).get("Encrypt", "").strip()
    if not encrypted:
        raise RejectedError(Reason.BAD_REQUEST, "the body has no Encrypt element")
    _wecom_check(token, msg_signature, timestamp, nonce, encrypted)
    plain = wecom_decrypt(encoding_aes_key, encrypted, receive_id)
    try:
        fields = parse_xml(plain)
    except RejectedError:
        raise RejectedError(
            Reason.UNDECRYPTABLE, "the decrypted text is not XML: wrong key or altered"
        ) from None
    replay_key = f"{timestamp}:{nonce}"
    kind = fields.get("MsgType", "")
    message_id = fields.get("MsgId", "")
    if kind == "event":
        return Opened(event_type=f"event:{fields.get('Event', '')}", nonce=replay_key)
    created = fields.get("CreateTime", "")
    message = ChatMessage(
        message_id=message_id,
        sender_id=fields.get("FromUserName", ""),
        sender_name="",
        conversation_id=f"agent:{fields.get('AgentID', '')}",
        text=fields.get("Content", "") if kind == "text" else "",
        kind=kind,
        sent_at=float(created) if created.isdigit() else None,
    )
    if not message.sender_id:
        raise RejectedError(Reason.BAD_REQUEST, "the message has no sender")
    return Opened(
        message=message, event_id=message_id, event_type=f"message:{kind}", nonce=replay_key
    )


# --- DingTalk ----------------------------------------------------------------------------


def dingtalk_open(*, app_secret: str, timestamp: str, sign: str, body: bytes, now: float) -> Opened:
    """Verify a message DingTalk's robot forwards (`timestamp` and `sign` headers)."""
    if not timestamp or not sign:
        raise RejectedError(Reason.BAD_REQUEST, "the timestamp and sign headers are required")
    check_timestamp(timestamp, now, DINGTALK_TOLERANCE_SECONDS, millis=True)
    if not _same(sign, dingtalk_sign(app_secret, timestamp)):
        raise RejectedError(Reason.BAD_SIGNATURE, "sign does not match")
    document = _json_object(body)
    kind = str(document.get("msgtype", ""))
    text = document.get("text") if isinstance(document.get("text"), dict) else {}
    created = document.get("createAt")
    message = ChatMessage(
        message_id=str(document.get("msgId", "")),
        sender_id=str(document.get("senderStaffId") or document.get("senderId") or ""),
        sender_name=str(document.get("senderNick", "")),
        conversation_id=str(document.get("conversationId", "")),
        text=str(text.get("content", "")).strip() if kind == "text" else "",  # type: ignore[union-attr]
        kind=kind,
        sent_at=_millis(created),
    )
    if not message.message_id or not message.sender_id:
        raise RejectedError(Reason.BAD_REQUEST, "the message has no msgId or sender")
    return Opened(message=message, event_id=message.message_id, event_type=f"message:{kind}")


# --- Feishu ------------------------------------------------------------------------------


def feishu_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """X-Lark-Signature: hex SHA-256 of timestamp + nonce + Encrypt Key + the raw body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def feishu_decrypt(encrypt_key: str, encrypted: str) -> bytes:
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    data = _b64decode(encrypted)
    if len(data) < 2 * AES_BLOCK or len(data) % AES_BLOCK:
        raise RejectedError(Reason.UNDECRYPTABLE, "the ciphertext is not whole AES blocks")
    decryptor = _aes_cbc(key, data[:16]).decryptor()
    return _unpad(decryptor.update(data[16:]) + decryptor.finalize(), AES_BLOCK)


def feishu_encrypt(encrypt_key: str, plain: bytes, *, iv: bytes | None = None) -> str:
    """What Feishu does before posting an event: Base64(IV + AES-256-CBC(plain))."""
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    iv = iv if iv is not None else os.urandom(16)
    encryptor = _aes_cbc(key, iv).encryptor()
    data = encryptor.update(_pad(plain, AES_BLOCK)) + encryptor.finalize()
    return base64.b64encode(iv + data).decode("ascii")


def feishu_open(
    *,
    verification_token: str,
    encrypt_key: str,
    timestamp: str,
    nonce: str,
    signature: str,
    body: bytes,
    now: float,
    tolerance: float,
) -> Opened:
    """Verify (and decrypt) a Feishu callback; a `url_verification` yields its challenge.

    With an Encrypt Key set, every event must carry a valid signature over the raw body
    (Feishu signs everything but the URL check), checked before anything is decrypted.
    The Verification Token, when set, must match the one in the event.
    """
    signed = bool(signature)
    replay_key = f"{timestamp}:{nonce}" if nonce else ""
    if signed:
        if not encrypt_key:
            raise RejectedError(Reason.BAD_SIGNATURE, "signed, but no Encrypt Key is configured")
        check_timestamp(timestamp, now, tolerance)
        if not _same(signature.lower(), feishu_signature(timestamp, nonce, encrypt_key, body)):
            raise RejectedError(Reason.BAD_SIGNATURE, "X-Lark-Signature does not match")
    document = _json_object(body)
    if "encrypt" in document:
        if not encrypt_key:
            raise RejectedError(Reason.UNDECRYPTABLE, "encrypted, but no Encrypt Key is configured")
        plain = feishu_decrypt(encrypt_key, str(document["encrypt"]))
        try:
            document = _json_object(plain)
        except RejectedError:
            raise RejectedError(
                Reason.UNDECRYPTABLE, "the decrypted text is not JSON: wrong key or altered"
            ) from None
    header = document.get("header") if isinstance(document.get("header"), dict) else None
    token = str((header or document).get("token", ""))
    if verification_token and not _same(token, verification_token):
        raise RejectedError(Reason.BAD_TOKEN, "the verification token does not match")
    if document.get("type") == "url_verification":
        return Opened(challenge=str(document.get("challenge", "")), event_type="url_verification")
    if encrypt_key and not signed:
        raise RejectedError(Reason.BAD_SIGNATURE, "the X-Lark-Signature header is missing")
    if not encrypt_key and not verification_token:
        raise RejectedError(Reason.BAD_TOKEN, "neither a token nor an Encrypt Key is configured")
    if header is None:
        event_id = str(document.get("uuid", ""))
        return Opened(event_id=event_id, event_type=str(document.get("type", "")), nonce=replay_key)
    event_type = str(header.get("event_type", ""))
    event_id = str(header.get("event_id", ""))
    if event_type != "im.message.receive_v1":
        return Opened(event_id=event_id, event_type=event_type, nonce=replay_key)
    return Opened(
        message=_feishu_message(document.get("event") or {}),
        event_id=event_id,
        event_type=event_type,
        nonce=replay_key,
    )


def _feishu_message(event: Mapping[str, Any]) -> ChatMessage:
    sender = event.get("sender") or {}
    ids = sender.get("sender_id") or {}
    message = event.get("message") or {}
    kind = str(message.get("message_type", ""))
    text = ""
    if kind == "text":
        try:
            content = json.loads(str(message.get("content", "")) or "{}")
        except ValueError:
            raise RejectedError(Reason.BAD_REQUEST, "the message content is not JSON") from None
        text = _MENTION.sub("", str(content.get("text", ""))).strip()
    created = str(message.get("create_time", ""))
    opened = ChatMessage(
        message_id=str(message.get("message_id", "")),
        sender_id=str(ids.get("open_id") or ids.get("user_id") or ids.get("union_id") or ""),
        sender_name="",
        conversation_id=str(message.get("chat_id", "")),
        text=text,
        kind=kind,
        sent_at=_millis(created),
    )
    if not opened.message_id or not opened.sender_id:
        raise RejectedError(Reason.BAD_REQUEST, "the message has no id or sender")
    return opened


# --- our signed JSON endpoint ------------------------------------------------------------


def verify_signed(
    *, secret: str, timestamp: str, signature: str, body: bytes, now: float, tolerance: float
) -> dict[str, Any]:
    """Check `X-Assura-Timestamp` / `X-Assura-Signature` and return the JSON object."""
    if not timestamp or not signature:
        raise RejectedError(
            Reason.BAD_REQUEST, "X-Assura-Timestamp and X-Assura-Signature are required"
        )
    check_timestamp(timestamp, now, tolerance)
    if not _same(signature.strip().lower(), webhook_signature(secret, timestamp, body)):
        raise RejectedError(Reason.BAD_SIGNATURE, "X-Assura-Signature does not match")
    return _json_object(body)


def _millis(value: object) -> float | None:
    """Unix seconds from a platform's millisecond timestamp (a number or digits)."""
    text = str(value) if isinstance(value, int | str) else ""
    return int(text) / 1000 if text.isdigit() else None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RejectedError(Reason.BAD_REQUEST, "the body is not JSON") from None
    if not isinstance(document, dict):
        raise RejectedError(Reason.BAD_REQUEST, "the body is not a JSON object")
    return document
