"""Each person's request budget is counted once, in the database every server process shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from assura.api.models import RequestCount
from assura.api.throttling import count_request
from assura.core.models import User
from tests.api.conftest import Api
from tests.concurrency import side_by_side

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min"},
    }


def test_the_count_lives_in_the_shared_table_not_in_a_process(
    api: Callable[..., Api], agent: User, three_a_minute: None
) -> None:
    """Counted in memory, each gunicorn worker would grant the whole budget again."""
    client = api(agent)
    assert [client.get("/api/v1/ping/").status_code for _ in range(4)] == [200, 200, 200, 429]
    [row] = RequestCount.objects.all()
    assert (row.key, row.count) == (f"throttle_user_{agent.pk}", 4)

    RequestCount.objects.all().delete()  # what a new window looks like to every process
    assert client.get("/api/v1/ping/").status_code == 200


def test_each_person_has_a_budget_of_their_own(
    api: Callable[..., Api], agent: User, manager: User, three_a_minute: None
) -> None:
    first, second = api(agent), api(manager)
    assert [first.get("/api/v1/ping/").status_code for _ in range(4)][-1] == 429
    assert second.get("/api/v1/ping/").status_code == 200


def test_a_new_window_starts_from_one_and_forgets_every_old_count() -> None:
    """Else every address that ever called once would keep a row for good."""
    assert [count_request("someone", 600) for _ in range(3)] == [1, 2, 3]
    count_request("a scanner, once", 600)
    assert count_request("someone", 660) == 1
    assert count_request("someone else", 660) == 1
    assert sorted(RequestCount.objects.values_list("key", "window")) == [
        ("someone", 660),
        ("someone else", 660),
    ]


def test_an_anonymous_caller_cannot_dodge_the_budget_by_writing_x_forwarded_for(
    client: Any, three_a_minute: None
) -> None:
    statuses = [
        client.get("/api/docs/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert RequestCount.objects.get().key == "throttle_user_127.0.0.1"


def test_behind_a_proxy_each_client_address_the_proxy_saw_has_its_own_budget(
    client: Any, three_a_minute: None, settings: Any
) -> None:
    settings.ASSURA_PROXIES = 1

    def call(forwarded: str) -> int:
        return int(client.get("/api/docs/", HTTP_X_FORWARDED_FOR=forwarded).status_code)

    # The caller may prepend anything; the proxy appends the address it saw.
    assert [call(f"10.9.9.{n}, 198.51.100.7") for n in range(4)] == [200, 200, 200, 429]
    assert call("198.51.100.8") == 200
    assert sorted(RequestCount.objects.values_list("key", flat=True)) == [
        "throttle_user_198.51.100.7",
        "throttle_user_198.51.100.8",
    ]


def test_the_counts_table_skips_the_write_ahead_log_on_postgresql() -> None:
    """Counts are worthless after a crash; no API call should wait for a disk flush."""
    table = RequestCount._meta.db_table
    assert table in connection.introspection.table_names()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [table])
            assert cursor.fetchone() == ("u",)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_counting_one_person_at_once_lose_no_request() -> None:
    seen: list[int] = []

    def worker() -> None:
        seen.extend([count_request("busy person", 1_800) for _ in range(25)])

    side_by_side(worker, copies=4)
    assert sorted(seen) == list(range(1, 101))
