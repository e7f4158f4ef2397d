"""The caller's address, as the audit log and the API's budgets record it, cannot be forged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.test import RequestFactory

from assura.core.http import client_address, client_port
from assura.core.models import User
from assura.desk.models import Case
from tests.api.conftest import Api

FORGED = "203.0.113.66"


def request(**meta: str) -> Any:
    return RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", REMOTE_PORT="50123", **meta)


def test_without_proxies_the_connection_decides_whatever_the_headers_say(settings: Any) -> None:
    settings.ASSURA_PROXIES = 0
    forged = request(HTTP_X_FORWARDED_FOR=FORGED, HTTP_X_FORWARDED_PORT="1")
    assert (client_address(forged), client_port(forged)) == ("10.0.0.5", 50123)


def test_behind_proxies_the_entry_the_outermost_proxy_appended_counts(settings: Any) -> None:
    settings.ASSURA_PROXIES = 2
    # The caller wrote the first entry; the CDN appended the caller's real address, and
    # nginx appended the CDN's.
    chain = request(HTTP_X_FORWARDED_FOR=f"{FORGED}, 198.51.100.7, 192.0.2.1")
    assert client_address(chain) == "198.51.100.7"
    settings.ASSURA_PROXIES = 1
    assert client_address(chain) == "192.0.2.1"
    assert client_address(request()) == "10.0.0.5"  # no header: the connection's


def test_a_forwarded_entry_that_is_no_address_falls_back_to_the_connection(
    settings: Any,
) -> None:
    settings.ASSURA_PROXIES = 3  # more than there are: the caller's own text comes first
    assert client_address(request(HTTP_X_FORWARDED_FOR="hello, 192.0.2.1")) == "10.0.0.5"


@pytest.mark.django_db
def test_an_audit_entry_records_the_connections_address_not_a_forged_one(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    caller = api(contact)
    response = caller.client.post(
        "/api/v1/cases/",
        {"case_type": "inquiry", "subject": "Forged address"},
        content_type="application/json",
        HTTP_X_FORWARDED_FOR=FORGED,
        **caller.headers,
    )
    assert response.status_code == 201
    case = Case.objects.get(reference=response.json()["reference"])
    entry = LogEntry.objects.get_for_object(case).get()
    assert entry.remote_addr == "127.0.0.1"
