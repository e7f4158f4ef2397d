from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from pytest_django.fixtures import Settings

from assura.core.models import Role, User
from assura.notify import services
from assura.notify.models import NotificationChannel
from tests.notify.servers import RobotServer, SmtpServer


@pytest.fixture(autouse=True)
def postgres_only(request: pytest.FixtureRequest) -> None:
    """Skip, rather than fail, the PostgreSQL tests when the suite runs on SQLite."""
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (scripts/with-postgres)")


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def robot() -> Iterator[Callable[..., RobotServer]]:
    """Start a robot platform server: robot("dingtalk", secret="SEC…")."""
    started: list[RobotServer] = []

    def start(platform: str, secret: str = "") -> RobotServer:
        server = RobotServer(platform, secret).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp(settings: Settings) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1, made the default mailer for the test."""
    server = SmtpServer().start()
    settings.MAILERS = server.mailer_settings()
    settings.DEFAULT_FROM_EMAIL = "服务台 <service@assura.test>"
    yield server
    server.stop()


# The query parameter each platform's webhook address carries its token in.
TOKEN_QUERY = {
    "wecom": "?key=k-123",
    "dingtalk": "?access_token=t-123",
    "feishu": "",
    "webhook": "",
}


@pytest.fixture
def channel_for() -> Callable[..., NotificationChannel]:
    """A channel pointing at `server`, signed when a secret is given."""

    def make(server: RobotServer, secret: str = "", **fields: Any) -> NotificationChannel:
        path = "/open-apis/bot/v2/hook/0d5c7a4e-hook" if server.platform == "feishu" else "/hook"
        return services.create_channel(
            actor=None,
            kind=server.platform,
            name=fields.pop("name", f"{server.platform} {server.port}"),
            url=server.url(path) + TOKEN_QUERY[server.platform],
            signed=bool(secret),
            secret=secret,
            **fields,
        )

    return make
