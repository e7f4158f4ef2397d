"""One error format everywhere, with messages per field in the client's language."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from assura.core.models import User
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db
CASES = "/api/v1/cases/"


def test_invalid_fields_are_named_with_their_messages_in_english(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    response = api(contact, language="en").post(CASES, {"case_type": "gossip"})
    assert response.status_code == 400
    assert response["Content-Language"] == "en"
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "The request has invalid fields."
    assert error["fields"] == {
        "case_type": ['"gossip" is not a valid choice.'],
        "subject": ["This field is required."],
    }


def test_the_same_error_in_simplified_chinese(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    response = api(contact, language="zh-hans").post(CASES, {"case_type": "gossip"})
    assert response.status_code == 400
    assert response["Content-Language"] == "zh-hans"
    fields = response.json()["error"]["fields"]
    assert fields["subject"] == ["该字段是必填项。"]
    assert fields["case_type"] == ["“gossip” 不是合法选项。"]


def test_a_conflict_speaks_the_clients_language(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    client = api(contact, language="zh-hans")
    client.post(CASES, {"case_type": "inquiry", "subject": "A"}, HTTP_IDEMPOTENCY_KEY="k")
    response = client.post(
        CASES, {"case_type": "inquiry", "subject": "B"}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "idempotency_conflict",
        "message": "此 Idempotency-Key 已用于另一个请求体。",
        "fields": {},
    }


def test_401_403_404_405_share_the_format(api: Callable[..., Api], contact: User) -> None:
    client = api(contact)
    answers = {
        401: Client().get(CASES, HTTP_ACCEPT_LANGUAGE="en"),
        403: client.get("/api/v1/audit-log/"),
        404: client.get(f"{CASES}C-1999-000001/"),
        405: client.client.delete(f"{CASES}", **client.headers),
    }
    for status, response in answers.items():
        assert response.status_code == status
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "fields"}
        assert body["error"]["message"]
    assert answers[401].json()["error"]["code"] == "not_authenticated"
    assert answers[405].json()["error"]["code"] == "method_not_allowed"


def test_an_unknown_api_path_is_a_json_404(api: Callable[..., Api], agent: User) -> None:
    for response in (
        api(agent).get("/api/v1/no-such-thing/"),
        api(agent).post("/api/v2/cases/", {}),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"


def test_a_json_body_that_does_not_parse_is_a_400(api: Callable[..., Api], agent: User) -> None:
    client = api(agent)
    response = client.client.post(
        CASES, "{not json", content_type="application/json", **client.headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_too_many_requests_is_a_429_with_retry_after(
    api: Callable[..., Api], agent: User, settings: object
) -> None:
    settings.REST_FRAMEWORK = {  # type: ignore[attr-defined]
        **settings.REST_FRAMEWORK,  # type: ignore[attr-defined]
        "DEFAULT_THROTTLE_RATES": {"user": "3/min"},
    }
    client = api(agent)
    statuses = [client.get("/api/v1/ping/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = client.get("/api/v1/ping/")
    assert throttled.json()["error"]["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60


def test_an_instant_outside_the_calendar_is_a_field_error(
    api: Callable[..., Api], agent: User
) -> None:
    response = api(agent).get(
        CASES, created_after="0001-01-01T00:00:00+08:00", created_before="2026-01-01T00:00+21:30"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"created_after"}
