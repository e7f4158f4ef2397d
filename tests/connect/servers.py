"""A webhook receiver on 127.0.0.1 that checks each request the way the docs tell
receivers to: the HMAC-SHA256 of "<timestamp>.<body>" keyed with the shared secret,
computed here independently of the code under test."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Seen:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Receiver:
    secret: str
    seen: list[Seen] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                expected = (
                    "sha256="
                    + hmac.new(
                        receiver.secret.encode(),
                        headers.get("x-assura-timestamp", "").encode() + b"." + body,
                        hashlib.sha256,
                    ).hexdigest()
                )
                ok = hmac.compare_digest(headers.get("x-assura-signature", ""), expected)
                receiver.seen.append(Seen(headers, body, ok))
                status = (
                    401 if not ok else (receiver.statuses.popleft() if receiver.statuses else 200)
                )
                answer = json.dumps({"status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/assura"
