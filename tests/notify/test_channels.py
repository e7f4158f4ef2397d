"""Message formats and signatures of each channel kind, without a network or a database."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from assura.notify import channels
from assura.notify.channels import Endpoint, Kind, Message
from tests.notify.servers import (
    dingtalk_expected_sign,
    feishu_expected_sign,
    webhook_expected_signature,
)

NOW = 1_767_225_600.25  # 2026-01-01 00:00:00.25 UTC
NOTICE = Message(
    key="breach-notice:42:wecom:ops",
    subject="工单 C-2026-000042 超时",
    body="首次响应已超时 12 分钟。",
)


def body_of(request: channels.OutgoingRequest) -> dict[str, object]:
    return json.loads(request.body.decode("utf-8"))


def test_the_module_imports_nothing_from_django() -> None:
    source = Path(channels.__file__).read_text(encoding="utf-8")
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert not {root for root in roots if root.startswith("django") or root == "assura"}


def test_wecom_sends_text_with_the_subject_on_top() -> None:
    request = channels.build_request(Endpoint(Kind.WECOM, "https://x/send?key=k"), NOTICE, now=NOW)
    assert request.url == "https://x/send?key=k"
    assert body_of(request) == {
        "msgtype": "text",
        "text": {"content": "工单 C-2026-000042 超时\n\n首次响应已超时 12 分钟。"},
    }
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


def test_wecom_sends_markdown_when_the_notice_has_some() -> None:
    notice = Message(key="k", subject="超时", body="plain", markdown="> 已超时 **12** 分钟")
    request = channels.build_request(Endpoint(Kind.WECOM, "https://x/send?key=k"), notice, now=NOW)
    assert body_of(request) == {
        "msgtype": "markdown",
        "markdown": {"content": "**超时**\n\n> 已超时 **12** 分钟"},
    }


def test_wecom_text_is_cut_to_the_documented_2048_bytes_without_breaking_a_character() -> None:
    notice = Message(key="k", subject="", body="超" * 1000)  # 3000 bytes
    request = channels.build_request(Endpoint(Kind.WECOM, "https://x/?key=k"), notice, now=NOW)
    content = body_of(request)["text"]["content"]  # type: ignore[index]
    assert len(content.encode("utf-8")) <= 2048
    assert content.endswith("…")
    assert set(content[:-1]) == {"超"}


def test_dingtalk_signs_with_timestamp_and_url_encoded_sign_in_the_query() -> None:
    secret = "SECabc+/=123"
    endpoint = Endpoint(Kind.DINGTALK, "https://oapi.example/robot/send?access_token=t", secret)
    request = channels.build_request(endpoint, NOTICE, now=NOW)
    query = urlsplit(request.url).query
    params = parse_qs(query)
    assert params["access_token"] == ["t"]
    assert params["timestamp"] == ["1767225600250"]  # milliseconds
    assert params["sign"] == [dingtalk_expected_sign(secret, "1767225600250")]
    assert "%" in query.split("sign=")[1]  # base64's + / = arrive URL-encoded
    assert body_of(request) == {
        "msgtype": "text",
        "text": {"content": "工单 C-2026-000042 超时\n\n首次响应已超时 12 分钟。"},
    }


def test_dingtalk_without_a_secret_posts_to_the_address_as_given() -> None:
    endpoint = Endpoint(Kind.DINGTALK, "https://oapi.example/robot/send?access_token=t")
    assert channels.build_request(endpoint, NOTICE, now=NOW).url == endpoint.url


def test_dingtalk_markdown_has_a_title_for_the_chat_preview() -> None:
    notice = Message(key="k", subject="超时", body="b", markdown="### 详情\n- 12 分钟")
    endpoint = Endpoint(Kind.DINGTALK, "https://d/robot/send?access_token=t")
    assert body_of(channels.build_request(endpoint, notice, now=NOW)) == {
        "msgtype": "markdown",
        "markdown": {"title": "超时", "text": "**超时**\n\n### 详情\n- 12 分钟"},
    }


def test_feishu_puts_timestamp_and_sign_in_the_body() -> None:
    secret = "feishu-secret"
    endpoint = Endpoint(Kind.FEISHU, "https://open.example/open-apis/bot/v2/hook/abc", secret)
    document = body_of(channels.build_request(endpoint, NOTICE, now=NOW))
    assert document == {
        "timestamp": "1767225600",  # seconds
        "sign": feishu_expected_sign(secret, "1767225600"),
        "msg_type": "text",
        "content": {"text": "工单 C-2026-000042 超时\n\n首次响应已超时 12 分钟。"},
    }


def test_feishu_and_dingtalk_signatures_differ_for_the_same_secret_and_time() -> None:
    assert channels.feishu_sign("s", "1") != channels.dingtalk_sign("s", "1")


def test_feishu_markdown_goes_in_a_card_headed_by_the_subject() -> None:
    notice = Message(key="k", subject="超时", body="b", markdown="**12** 分钟")
    endpoint = Endpoint(Kind.FEISHU, "https://open.example/hook/abc")
    assert body_of(channels.build_request(endpoint, notice, now=NOW)) == {
        "msg_type": "interactive",
        "card": {
            "elements": [{"tag": "markdown", "content": "**12** 分钟"}],
            "header": {"title": {"tag": "plain_text", "content": "超时"}},
        },
    }


def test_the_webhook_body_carries_the_notice_and_a_signature_over_timestamp_and_body() -> None:
    notice = Message(key="breach:7", subject="s", body="b", payload={"case": "C-2026-000007"})
    endpoint = Endpoint(Kind.WEBHOOK, "https://hooks.example/in", "hook-secret")
    request = channels.build_request(endpoint, notice, now=NOW)
    assert body_of(request) == {
        "id": "breach:7",
        "subject": "s",
        "body": "b",
        "markdown": "",
        "payload": {"case": "C-2026-000007"},
    }
    assert request.headers["X-Assura-Delivery"] == "breach:7"
    assert request.headers["X-Assura-Timestamp"] == "1767225600"
    assert request.headers["X-Assura-Signature"] == webhook_expected_signature(
        "hook-secret", "1767225600", request.body
    )


def test_an_unsigned_webhook_has_no_signature_header() -> None:
    request = channels.build_request(Endpoint(Kind.WEBHOOK, "https://h/in"), NOTICE, now=NOW)
    assert "X-Assura-Signature" not in request.headers


def test_email_is_not_an_http_kind() -> None:
    with pytest.raises(ValueError, match="not sent over HTTP"):
        channels.build_request(Endpoint(Kind.EMAIL, ""), NOTICE, now=NOW)


@pytest.mark.parametrize(
    ("kind", "status", "answer", "problem"),
    [
        (Kind.WECOM, 200, {"errcode": 0, "errmsg": "ok"}, None),
        (Kind.WECOM, 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "error 93000"),
        (Kind.DINGTALK, 200, {"errcode": 310000, "errmsg": "sign not match"}, "error 310000"),
        (Kind.FEISHU, 200, {"code": 0, "msg": "success", "data": {}}, None),
        (Kind.FEISHU, 200, {"StatusCode": 0, "StatusMessage": "success"}, None),
        (Kind.FEISHU, 200, {"code": 19021, "msg": "sign match fail"}, "error 19021"),
        (Kind.FEISHU, 200, {"unexpected": True}, "no error code"),
        (Kind.DINGTALK, 502, {"errcode": 0}, "HTTP 502"),
        (Kind.WEBHOOK, 204, None, None),
        (Kind.WEBHOOK, 404, None, "HTTP 404"),
    ],
)
def test_a_robot_answer_counts_as_sent_only_with_error_code_zero(
    kind: Kind, status: int, answer: object, problem: str | None
) -> None:
    body = json.dumps(answer).encode() if answer is not None else b""
    found = channels.answer_problem(kind, status, body)
    assert found == problem if problem is None else problem in (found or "")


def test_a_robot_answer_that_is_not_json_is_a_failure() -> None:
    assert channels.answer_problem(Kind.WECOM, 200, b"<html>proxy</html>") == (
        "the answer is not JSON"
    )


def test_robot_tokens_in_addresses_are_masked() -> None:
    assert channels.mask_url("https://qyapi.example/cgi-bin/webhook/send?key=693a91f6-7xxx") == (
        "https://qyapi.example/cgi-bin/webhook/send?key=693a…"
    )
    assert channels.mask_url(
        "https://open.example/open-apis/bot/v2/hook/0d5c7a4e-1234-5678-9abc-def012345678"
    ) == ("https://open.example/open-apis/bot/v2/hook/0d5c…")


def test_a_secret_is_shown_as_dots_with_at_most_its_last_four_characters() -> None:
    assert channels.mask_secret("") == ""
    assert channels.mask_secret("short") == "••••••••"
    assert channels.mask_secret("SEC0123456789abcdef") == "••••••••cdef"
