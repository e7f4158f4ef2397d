"""Taking mail from the channels' IMAP mailboxes, inside `assura worker`.

A timer (`MailFetcher`) claims each channel when its next fetch is due, with a
conditional UPDATE and a lease, so several workers never read one mailbox at once. A
fetch takes the messages with a UID above the last one taken (UNSEEN the first time, or
when the mailbox's UIDVALIDITY changed), stores and imports each through
`services.receive`, marks it \\Seen once it is handled, and records the UID after every
message, so an interrupted fetch resumes where it stopped.

Channels in IDLE mode also get a watcher thread per worker that keeps an IMAP IDLE
session open and, when the server announces new mail, makes the channel due at once;
the polling interval then only serves as a safety net.

A server that cannot be reached is "disconnected": recorded, retried at the next
interval, not treated as a failure of assura. A server that answers but refuses the
login or the folder is "refused", which needs a person to fix the settings.
"""

from __future__ import annotations

import base64
import imaplib
import logging
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from assura.intake import services
from assura.intake.models import Connection, FetchMode, InboundStatus, MailChannel, Security

log = logging.getLogger("assura.intake")

IMAP_TIMEOUT = 15
LEASE = timedelta(minutes=5)
ROUND_LIMIT = 50
# RFC 2177: clients re-issue IDLE at least every 29 minutes.
IDLE_RENEW_SECONDS = 25 * 60
HANDLED = (InboundStatus.IMPORTED, InboundStatus.IGNORED, InboundStatus.REJECTED)


@dataclass(frozen=True)
class ImapAccount:
    """What it takes to open a channel's mailbox; a plain value, safe to hand to a thread."""

    host: str
    port: int
    security: str
    user: str
    password: str
    folder: str

    @classmethod
    def of(cls, channel: MailChannel) -> ImapAccount:
        return cls(
            host=channel.imap_host,
            port=channel.imap_port,
            security=channel.imap_security,
            user=channel.imap_user,
            password=channel.imap_password,
            folder=channel.imap_folder or "INBOX",
        )


def mailbox_name(folder: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    name = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}"'


def connect(account: ImapAccount) -> imaplib.IMAP4:
    """Log in to the mailbox (TLS unless the channel says otherwise)."""
    context = ssl.create_default_context()
    if account.security == Security.SSL:
        imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            account.host, account.port, ssl_context=context, timeout=IMAP_TIMEOUT
        )
    else:
        imap = imaplib.IMAP4(account.host, account.port, timeout=IMAP_TIMEOUT)
    try:
        if account.security == Security.STARTTLS:
            imap.starttls(context)
        if (account.user + account.password).isascii():
            imap.login(account.user, account.password)
        else:
            # LOGIN is ASCII only; SASL PLAIN carries UTF-8 (a Chinese password, say).
            secret = f"\0{account.user}\0{account.password}".encode()
            imap.authenticate("PLAIN", lambda _challenge: secret)
    except BaseException:
        imap.shutdown()
        raise
    return imap


def open_folder(imap: imaplib.IMAP4, folder: str, *, readonly: bool = False) -> None:
    status, data = imap.select(mailbox_name(folder), readonly=readonly)
    if status != "OK":
        detail = b" ".join(item for item in data if isinstance(item, bytes)).decode(
            "utf-8", "replace"
        )
        raise imaplib.IMAP4.error(f"cannot open folder {folder}: {detail}")


def _close(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        imap.shutdown()


def classify(error: BaseException) -> str:
    """A connection problem (retry later) or a refusal (settings to fix)."""
    if isinstance(error, imaplib.IMAP4.abort):
        return Connection.DISCONNECTED
    if isinstance(error, ssl.SSLError):
        return Connection.REFUSED  # a certificate or TLS mismatch: retrying will not help
    if isinstance(error, OSError):
        return Connection.DISCONNECTED
    return Connection.REFUSED


def _record(channel: MailChannel, state: str, detail: str, now: datetime) -> None:
    fields: dict[str, object] = {
        "connection": state,
        "connection_detail": detail[:500],
        "checked_at": now,
    }
    if state == Connection.CONNECTED:
        fields["connected_at"] = now
    MailChannel.objects.filter(pk=channel.pk).update(**fields)
    for name, value in fields.items():
        setattr(channel, name, value)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()


def check(channel: MailChannel, now: datetime | None = None) -> str:
    """Open the mailbox and its folder without taking anything; returns the state."""
    now = now or timezone.now()
    try:
        imap = connect(ImapAccount.of(channel))
        try:
            open_folder(imap, channel.imap_folder or "INBOX", readonly=True)
        finally:
            _close(imap)
    except (OSError, imaplib.IMAP4.error) as error:
        state = classify(error)
        _record(channel, state, _describe(error), now)
        return state
    _record(channel, Connection.CONNECTED, "", now)
    return Connection.CONNECTED


@dataclass
class FetchResult:
    state: str = Connection.UNKNOWN
    fetched: int = 0
    imported: int = 0
    failed: int = 0
    set_aside: int = 0
    more: bool = False
    detail: str = ""


def fetch(channel: MailChannel, now: datetime | None = None) -> FetchResult:
    """Take the new messages of one channel (the caller holds its claim)."""
    now = now or timezone.now()
    result = FetchResult()
    try:
        imap = connect(ImapAccount.of(channel))
        try:
            _take_new(imap, channel, result)
        finally:
            _close(imap)
    except (OSError, imaplib.IMAP4.error) as error:
        result.state, result.detail = classify(error), _describe(error)
        if result.state == Connection.DISCONNECTED:
            log.info("mail channel %s: server not reachable (%s)", channel, result.detail)
        else:
            log.warning("mail channel %s: %s", channel, result.detail)
    else:
        result.state = Connection.CONNECTED
    _record(channel, result.state, result.detail, now)
    services.retry_stale(channel, now)
    return result


def _take_new(imap: imaplib.IMAP4, channel: MailChannel, result: FetchResult) -> None:
    open_folder(imap, channel.imap_folder or "INBOX")
    validity = _number(imap, "UIDVALIDITY")
    uid_next = _number(imap, "UIDNEXT")
    in_sync = validity is not None and validity == channel.uidvalidity and channel.last_uid > 0
    if in_sync:
        status, data = imap.uid("SEARCH", "UID", f"{channel.last_uid + 1}:*")
    else:
        # First fetch, or the server renumbered the folder: the unread messages, and the
        # unique Message-IDs keep anything seen before from being imported again.
        status, data = imap.uid("SEARCH", "UNSEEN")
        channel.uidvalidity, channel.last_uid = validity, 0
        MailChannel.objects.filter(pk=channel.pk).update(uidvalidity=validity, last_uid=0)
    if status != "OK":
        raise imaplib.IMAP4.error(f"search failed: {data!r}")
    uids = sorted(int(uid) for uid in (data[0] or b"").split())
    if in_sync:  # "n:*" always matches the newest message, even below n
        uids = [uid for uid in uids if uid > channel.last_uid]
    batch, result.more = uids[:ROUND_LIMIT], len(uids) > ROUND_LIMIT
    for uid in batch:
        _take_one(imap, channel, uid, result)
    if not in_sync and not result.more and uid_next:
        _advance(channel, uid_next - 1)


def _take_one(imap: imaplib.IMAP4, channel: MailChannel, uid: int, result: FetchResult) -> None:
    status, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
    raw = next((item[1] for item in data or [] if isinstance(item, tuple)), None)
    if status == "OK" and isinstance(raw, bytes):
        result.fetched += 1
        inbound = services.receive(channel, raw, uid=uid, now=timezone.now())
        if inbound.status in HANDLED:
            imap.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        if inbound.status == InboundStatus.IMPORTED:
            result.imported += 1
        elif inbound.status == InboundStatus.FAILED:
            # Stored with its error, left unread in the mailbox: retried from the intake page.
            result.failed += 1
        else:
            result.set_aside += 1
    _advance(channel, uid)


def _advance(channel: MailChannel, uid: int) -> None:
    if uid > channel.last_uid:
        channel.last_uid = uid
        MailChannel.objects.filter(pk=channel.pk).update(last_uid=uid)


def _number(imap: imaplib.IMAP4, code: str) -> int | None:
    _name, data = imap.response(code)
    for item in data or []:
        if isinstance(item, bytes) and item.strip().isdigit():
            return int(item)
    return None


# --- the timer ---------------------------------------------------------------------------


def claim(channel: MailChannel, now: datetime) -> bool:
    """Take the channel for one fetch: only one worker's UPDATE matches."""
    return bool(
        MailChannel.objects.filter(pk=channel.pk, is_active=True, next_fetch_at__lte=now)
        .filter(Q(fetching_until__isnull=True) | Q(fetching_until__lte=now))
        .update(fetching_until=now + LEASE, next_fetch_at=now + channel.interval)
    )


def release(channel: MailChannel, *, again_now: bool = False) -> None:
    fields: dict[str, object] = {"fetching_until": None}
    if again_now:
        fields["next_fetch_at"] = timezone.now()
    MailChannel.objects.filter(pk=channel.pk).update(**fields)


def fetch_due(now: datetime) -> list[FetchResult]:
    """Fetch every active channel that is due and not being fetched elsewhere."""
    results = []
    due = MailChannel.objects.filter(is_active=True, next_fetch_at__lte=now).filter(
        Q(fetching_until__isnull=True) | Q(fetching_until__lte=now)
    )
    for channel in due.order_by("next_fetch_at", "pk"):
        if not claim(channel, now):
            continue
        result = FetchResult()
        try:
            result = fetch(channel, now)
        finally:
            release(channel, again_now=result.more)
        results.append(result)
    return results


def next_instant() -> datetime | None:
    """When a channel is next due; one being fetched elsewhere counts from its lease end."""
    instants = [
        max(next_at, until) if until else next_at
        for next_at, until in MailChannel.objects.filter(is_active=True).values_list(
            "next_fetch_at", "fetching_until"
        )
    ]
    return min(instants, default=None)


class MailFetcher:
    """The worker's timer for every mail channel (see `assura.core.timers`)."""

    name = "intake-fetcher"

    def run_due(self, now: datetime) -> datetime | None:
        sync_watchers()
        fetch_due(now)
        return next_instant()


# --- IMAP IDLE ---------------------------------------------------------------------------


def make_due(channel_id: int) -> None:
    """New mail announced: the channel is due now, for whichever worker comes first."""
    now = timezone.now()
    MailChannel.objects.filter(pk=channel_id, next_fetch_at__gt=now).update(next_fetch_at=now)


def _announce(channel_id: int) -> None:
    """`make_due` from a watcher thread, which must not keep a database connection open."""
    try:
        make_due(channel_id)
    finally:
        connection.close()


class _Lines:
    """Line reading straight from the socket with a timeout, for the IDLE conversation."""

    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.buffer = b""

    def read(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            pending = getattr(self.sock, "pending", lambda: 0)()
            left = deadline - time.monotonic()
            if not pending:
                if left <= 0:
                    return None
                readable, _w, _x = select.select([self.sock], [], [], left)
                if not readable:
                    return None
            chunk = self.sock.recv(65536)  # type: ignore[attr-defined]
            if not chunk:
                raise imaplib.IMAP4.abort("the server closed the connection")
            self.buffer += chunk
        line, _sep, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"


class IdleWatcher(threading.Thread):
    """Keeps one IDLE session open on a mailbox and calls `on_new` when mail arrives.

    It also calls `on_new` after each (re)connection, for what arrived while it was
    away. It reconnects after errors with a growing pause and ends when the server does
    not offer IDLE (the channel is then served by polling alone).
    """

    def __init__(
        self,
        account: ImapAccount,
        on_new: Callable[[], None],
        *,
        poll_seconds: float = 1.0,
        renew_seconds: float = IDLE_RENEW_SECONDS,
    ) -> None:
        super().__init__(daemon=True, name=f"imap-idle-{account.user}@{account.host}")
        self.account = account
        self.on_new = on_new
        self.poll_seconds = poll_seconds
        self.renew_seconds = renew_seconds
        self.stopping = threading.Event()
        self.idling = threading.Event()
        self.unsupported = False

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        pause = 5.0
        while not self.stopping.is_set():
            try:
                self._session()
                pause = 5.0
            except (OSError, imaplib.IMAP4.error) as error:
                log.info("IMAP IDLE on %s: %s", self.account.host, _describe(error))
            except Exception:  # a watcher must never die silently and leave the flag up
                log.exception("IMAP IDLE on %s failed", self.account.host)
            finally:
                self.idling.clear()
            if self.unsupported:
                return
            self.stopping.wait(pause)
            pause = min(pause * 2, 300.0)

    def _session(self) -> None:
        imap = connect(self.account)
        try:
            if "IDLE" not in imap.capabilities:
                log.warning("%s offers no IMAP IDLE: polling only", self.account.host)
                self.unsupported = True
                return
            open_folder(imap, self.account.folder, readonly=True)
            self.on_new()
            lines = _Lines(imap.sock)
            number = 0
            while not self.stopping.is_set():
                number += 1
                self._idle_once(imap, lines, f"IDLE{number}".encode())
        finally:
            _close(imap)

    def _idle_once(self, imap: imaplib.IMAP4, lines: _Lines, tag: bytes) -> None:
        imap.send(tag + b" IDLE\r\n")
        answer = lines.read(IMAP_TIMEOUT)
        if answer is None or not answer.startswith(b"+"):
            raise imaplib.IMAP4.error(f"IDLE refused: {answer!r}")
        self.idling.set()
        renew_at = time.monotonic() + self.renew_seconds
        while not self.stopping.is_set() and time.monotonic() < renew_at:
            line = lines.read(self.poll_seconds)
            if line is not None and line.startswith(b"*") and b"EXISTS" in line.upper():
                self.on_new()
        self.idling.clear()
        imap.send(b"DONE\r\n")
        deadline = time.monotonic() + IMAP_TIMEOUT
        while time.monotonic() < deadline:
            line = lines.read(max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                    raise imaplib.IMAP4.error(f"IDLE ended badly: {line!r}")
                return
            if line.startswith(b"*") and b"EXISTS" in line.upper():
                self.on_new()
        raise imaplib.IMAP4.abort("no answer to DONE")


_watchers: dict[int, IdleWatcher] = {}
_watchers_lock = threading.Lock()


def sync_watchers() -> None:
    """One watcher per active IDLE channel in this process, restarted when settings change."""
    wanted = {
        channel.pk: ImapAccount.of(channel)
        for channel in MailChannel.objects.filter(is_active=True, fetch_mode=FetchMode.IDLE)
    }
    with _watchers_lock:
        for pk, watcher in list(_watchers.items()):
            changed = wanted.get(pk) != watcher.account
            if changed or not watcher.is_alive():
                watcher.stop()
                if watcher.unsupported:
                    _no_idle[pk] = watcher.account
                del _watchers[pk]
        for pk, account in wanted.items():
            if pk not in _watchers and not _gave_up(pk, account):
                watcher = IdleWatcher(account, lambda pk=pk: _announce(pk))
                _watchers[pk] = watcher
                watcher.start()


_no_idle: dict[int, ImapAccount] = {}


def _gave_up(pk: int, account: ImapAccount) -> bool:
    """A server without IDLE is not asked again until the channel's settings change."""
    return _no_idle.get(pk) == account


def stop_watchers() -> None:
    with _watchers_lock:
        for pk, watcher in list(_watchers.items()):
            watcher.stop()
            if watcher.unsupported:
                _no_idle[pk] = watcher.account
            del _watchers[pk]
