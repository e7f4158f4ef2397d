"""Real mail servers for the intake tests, on 127.0.0.1 and private to the test run.

`Dovecot` runs Debian's dovecot with a configuration of its own in a temporary folder:
a free port, plaintext login allowed (it only listens on 127.0.0.1), a passwd-file with
the test users, maildirs in the folder. Nothing of the system's own dovecot setup is
read or changed. When dovecot is not installed it is installed with apt-get (CI runs as
root); when that is impossible the tests fail with the reason instead of skipping.

`SmtpServer` is an aiosmtpd server that keeps what it receives.
"""

from __future__ import annotations

import ctypes
import fcntl
import imaplib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from assura.intake.fetcher import ImapAccount
from assura.intake.models import Security

PASSWORD = "mail-secret"
# The third user's password is Chinese: logging in must not depend on ASCII.
USERS = {"support": PASSWORD, "sales": PASSWORD, "kefu": "客服密码"}
INSTALL_LOCK = Path(tempfile.gettempdir()) / "assura-apt-dovecot.lock"


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process dies without its teardown."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")


def ensure_dovecot() -> str:
    """The dovecot binary, installing Debian's dovecot-imapd when it is missing."""
    binary = dovecot_binary()
    if binary:
        return binary
    if os.geteuid() != 0:
        pytest.fail(
            "The intake tests need Debian's dovecot-imapd and installing it needs root: "
            "run `apt-get install dovecot-imapd` once."
        )
    # Two test workers may get here together; apt-get takes one at a time.
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        binary = dovecot_binary()
        if binary:
            return binary
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "dovecot-imapd"]
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
            done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        binary = dovecot_binary()
        if not binary:
            pytest.fail(
                "Could not install dovecot-imapd for the intake tests "
                f"(apt-get exit {done.returncode}): {done.stderr.strip()[-500:]}"
            )
        return binary


@dataclass
class Dovecot:
    """A private dovecot: start(), then account(user) for each test mailbox."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="assura-imap-")))
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        binary = ensure_dovecot()
        self.port = free_port()
        self.folder.chmod(0o755)
        uid, gid, internal = self._identity()
        for name in ("run", "state", "mail", "home"):
            (self.folder / name).mkdir()
        for name in ("mail", "home"):
            os.chown(self.folder / name, uid, gid)
        (self.folder / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{secret}::::::\n" for user, secret in USERS.items()),
            encoding="utf-8",
        )
        config = self.folder / "dovecot.conf"
        config.write_text(self._config(uid, gid, internal))
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        self._wait_until_ready()
        return self

    def _identity(self) -> tuple[int, int, str]:
        """Mail is owned by nobody when run as root (dovecot refuses uid 0 for mail);
        otherwise everything runs as the current user."""
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return nobody.pw_uid, nobody.pw_gid, "dovecot"
        me = pwd.getpwuid(os.geteuid())
        return me.pw_uid, me.pw_gid, me.pw_name

    def _config(self, uid: int, gid: int, internal: str) -> str:
        root = self.folder
        login_user = "dovenull" if os.geteuid() == 0 else internal
        return f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = assura-test-{self.port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with a wrong password on purpose: no growing delay for that.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
default_internal_user = {internal}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%n
mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                errors = self.process.stderr.read().decode() if self.process.stderr else ""
                log = self.folder / "dovecot.log"
                detail = log.read_text() if log.exists() else ""
                pytest.fail(f"dovecot did not start: {errors} {detail}"[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        pytest.fail("dovecot did not answer within 15 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)

    def account(self, user: str = "support", folder: str = "INBOX") -> ImapAccount:
        return ImapAccount(
            host="127.0.0.1",
            port=self.port,
            security=Security.NONE,
            user=user,
            password=USERS[user],
            folder=folder,
        )

    def login(self, user: str = "support") -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(user, USERS[user])
        return imap

    def empty(self, user: str = "support") -> None:
        """Remove every message and every folder but INBOX: each test starts clean."""
        imap = self.login(user)
        try:
            _status, listing = imap.list()
            for line in listing or []:
                if not isinstance(line, bytes):
                    continue
                name = line.rsplit(b' "', 1)[-1].rstrip(b'"').decode()
                if name.upper() != "INBOX":
                    imap.delete(f'"{name}"')
            _status, count = imap.select("INBOX")
            if count[0] != b"0":
                imap.store("1:*", "+FLAGS", "(\\Deleted)")
                imap.expunge()
        finally:
            imap.logout()

    def append(self, raw: bytes, user: str = "support", folder: str = '"INBOX"') -> None:
        imap = self.login(user)
        try:
            status, data = imap.append(folder, None, None, raw)
            assert status == "OK", data
        finally:
            imap.logout()

    def flags(self, user: str = "support", folder: str = '"INBOX"') -> list[bytes]:
        imap = self.login(user)
        try:
            _status, count = imap.select(folder, readonly=True)
            if count[0] == b"0":
                return []
            _status, data = imap.fetch("1:*", "(FLAGS)")
            return [item for item in data if isinstance(item, bytes)]
        finally:
            imap.logout()


class SmtpHandler:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.reply


@dataclass
class SmtpServer:
    handler: SmtpHandler = field(default_factory=SmtpHandler)
    port: int = 0
    controller: Controller | None = None

    def start(self) -> SmtpServer:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def received(self) -> list[EmailMessage]:
        return [
            message_from_bytes(envelope.original_content or b"", policy=policy.default)  # type: ignore[misc]
            for envelope in self.handler.envelopes
        ]
