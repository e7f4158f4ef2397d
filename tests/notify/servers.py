"""Real servers on 127.0.0.1 for the notify tests: an SMTP server and the robot platforms.

The robot server plays WeCom, DingTalk, Feishu or a webhook receiver: it checks each
request's signature the way the platform documents it (computed here, independently of
the code under test) and answers as the platform would, success or its error code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.smtp import SMTP, Envelope, Session

# --- robots ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """DingTalk: base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret"))."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def feishu_expected_sign(secret: str, timestamp: str) -> str:
    """Feishu: base64(HMAC-SHA256(key="timestamp\\nsecret", msg=""))."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def webhook_expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


SUCCESS = {
    "wecom": {"errcode": 0, "errmsg": "ok"},
    "dingtalk": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "data": {}, "msg": "success"},
    "webhook": {"ok": True},
}


@dataclass
class RobotServer:
    """One platform's robot endpoint. `secret` set: requests must carry a valid signature."""

    platform: str
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, Any]] = field(default_factory=deque)
    on_request: Callable[[Received], None] | None = None
    _server: ThreadingHTTPServer | None = None

    def start(self) -> RobotServer:
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                parts = urlsplit(self.path)
                request = Received(
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                robot.received.append(request)
                if robot.on_request is not None:
                    robot.on_request(request)
                status, answer = robot.answer_for(request)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer_next(self, status: int, answer: Any, times: int = 1) -> None:
        self.answers.extend([(status, answer)] * times)

    def answer_for(self, request: Received) -> tuple[int, Any]:
        refusal = self.signature_refusal(request)
        if refusal is not None:
            return refusal
        if self.answers:
            return self.answers.popleft()
        return 200, SUCCESS[self.platform]

    def signature_refusal(self, request: Received) -> tuple[int, Any] | None:
        """The platform's answer to a missing or wrong signature, None when it is right."""
        if not self.secret:
            return None
        if self.platform == "dingtalk":
            timestamp = request.query.get("timestamp", [""])[0]
            sign = request.query.get("sign", [""])[0]  # parse_qs undid the URL encoding
            fresh = abs(time.time() * 1000 - int(timestamp or 0)) < 3_600_000
            if fresh and hmac.compare_digest(sign, dingtalk_expected_sign(self.secret, timestamp)):
                return None
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if self.platform == "feishu":
            document = request.json()
            timestamp, sign = str(document.get("timestamp", "")), document.get("sign", "")
            fresh = abs(time.time() - int(timestamp or 0)) < 3600
            if fresh and hmac.compare_digest(sign, feishu_expected_sign(self.secret, timestamp)):
                return None
            return 200, {"code": 19021, "data": {}, "msg": "sign match fail"}
        if self.platform == "webhook":
            timestamp = request.headers.get("x-assura-timestamp", "")
            given = request.headers.get("x-assura-signature", "")
            expected = webhook_expected_signature(self.secret, timestamp, request.body)
            if hmac.compare_digest(given, expected):
                return None
            return 401, {"error": "bad signature"}
        raise AssertionError(f"{self.platform} does not sign")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- SMTP --------------------------------------------------------------------------------


@dataclass
class SmtpHandler:
    """Accepts every message unless told to refuse: `data_replies` answer DATA in turn."""

    messages: list[Envelope] = field(default_factory=list)
    data_replies: deque[str] = field(default_factory=deque)
    refused: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.popleft()
        self.messages.append(envelope)
        return "250 2.0.0 queued as 4711"


@dataclass
class SmtpServer:
    """An aiosmtpd server on an ephemeral port, its event loop in a thread of its own."""

    handler: SmtpHandler = field(default_factory=SmtpHandler)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    _thread: threading.Thread | None = None

    def start(self) -> SmtpServer:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd narrates each line
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(listener.getsockname()[1])
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, daemon=True)
        self._thread.start()

        async def serve() -> asyncio.Server:
            return await loop.create_server(
                lambda: SMTP(self.handler, hostname="mail.test", loop=loop), sock=listener
            )

        self._server = asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=5)
        return self

    def stop(self) -> None:
        """Close the server from its own loop's thread (asyncio objects are not thread-safe)."""
        assert self._loop is not None
        assert self._server is not None
        assert self._thread is not None
        server = self._server

        async def shut() -> None:
            server.close()
            await asyncio.wait_for(server.wait_closed(), timeout=5)

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def mailer_settings(self) -> dict[str, Any]:
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5},
            }
        }

    def parsed(self) -> list[EmailMessage]:
        return [
            message_from_bytes(envelope.original_content or b"", policy=policy.default)  # type: ignore[misc]
            for envelope in self.handler.messages
        ]
