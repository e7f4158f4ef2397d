"""Requests built the way each platform documents it, written here independently of the
code under test (only `cryptography` and the standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

WECOM_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # 43 characters
WECOM_TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
FEISHU_ENCRYPT_KEY = "kudryavka-encrypt-key"
FEISHU_TOKEN = "v-token-123"
DINGTALK_SECRET = "SEC-dingtalk-app-secret"


def _pad(data: bytes, block: int) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def wecom_encrypt(message: bytes, receive_id: str = CORP_ID, key: str = WECOM_KEY) -> str:
    aes_key = base64.b64decode(key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + receive_id.encode()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(_pad(plain, 32)) + encryptor.finalize()).decode()


def wecom_signature(timestamp: str, nonce: str, encrypted: str, token: str = WECOM_TOKEN) -> str:
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom documents SHA-1


def wecom_text(sender: str, content: str, msg_id: str, created: int) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    ).encode()


def wecom_envelope(encrypted: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    ).encode()


def dingtalk_sign(timestamp_ms: str, secret: str = DINGTALK_SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def dingtalk_message(msg_id: str, sender: str, text: str, created_ms: int) -> dict[str, Any]:
    return {
        "conversationId": "cid-group-1",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "msgId": msg_id,
        "senderNick": "张经理",
        "isAdmin": False,
        "senderStaffId": sender,
        "senderId": "$:LWCP_v1:$" + sender,
        "createAt": created_ms,
        "conversationType": "2",
        "conversationTitle": "华东制造 服务群",
        "isInAtList": True,
        "text": {"content": " " + text},
        "msgtype": "text",
    }


def feishu_encrypt(document: dict[str, Any], key: str = FEISHU_ENCRYPT_KEY) -> str:
    aes_key = hashlib.sha256(key.encode()).digest()
    iv = os.urandom(16)
    plain = _pad(json.dumps(document).encode(), 16)
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(plain) + encryptor.finalize()).decode()


def feishu_signature(timestamp: str, nonce: str, body: bytes, key: str = FEISHU_ENCRYPT_KEY) -> str:
    return hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()


def feishu_message_event(event_id: str, open_id: str, text: str, created_ms: int) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "token": FEISHU_TOKEN,
            "create_time": str(created_ms),
            "event_type": "im.message.receive_v1",
            "tenant_key": "tenant-1",
            "app_id": "cli_a1b2c3",
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": open_id, "user_id": "u-1", "union_id": "on_1"},
                "sender_type": "user",
                "tenant_key": "tenant-1",
            },
            "message": {
                "message_id": "om_" + event_id,
                "create_time": str(created_ms),
                "chat_id": "oc_group_1",
                "chat_type": "group",
                "message_type": "text",
                "content": json.dumps({"text": "@_user_1 " + text}),
            },
        },
    }


def signed_headers(secret: str, timestamp: str, body: bytes) -> dict[str, str]:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "HTTP_X_ASSURA_TIMESTAMP": timestamp,
        "HTTP_X_ASSURA_SIGNATURE": "sha256=" + mac.hexdigest(),
    }
