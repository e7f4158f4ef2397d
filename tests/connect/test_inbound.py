"""Inbound callbacks over HTTP: each platform's documented signature and encryption, built
in the test by `platforms` (independently of the code under test)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assura.connect import services
from assura.connect.models import (
    ChatApp,
    ChatIdentity,
    InboundEvent,
    InboundSource,
    Outcome,
    Platform,
    UnknownSenders,
)
from assura.core.models import Organisation, User
from assura.desk.models import Case, Message
from tests.connect import platforms as p

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int]:
    return Case.objects.count(), Message.objects.count(), User.objects.count()


def last_event() -> InboundEvent:
    return InboundEvent.objects.order_by("-pk").first()  # type: ignore[return-value]


# --- WeCom -------------------------------------------------------------------------------


@pytest.fixture
def wecom(customer: Organisation, guarantee: Any) -> ChatApp:
    return services.save_chat_app(
        actor=None,
        platform=Platform.WECOM,
        name="企业微信服务台",
        organisation=customer,
        case_type="inquiry",
        unknown_senders=UnknownSenders.CREATE_CONTACT,
        app_id=p.CORP_ID,
        token=p.WECOM_TOKEN,
        encryption_key=p.WECOM_KEY,
        app_secret="",
        is_active=True,
    )


def post_wecom(
    client: Client,
    app: ChatApp,
    body: bytes,
    *,
    timestamp: str | None = None,
    nonce: str = "n1",
    signature: str | None = None,
) -> Any:
    timestamp = timestamp or str(int(time.time()))
    encrypted = body.decode().split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = signature or p.wecom_signature(timestamp, nonce, encrypted)
    url = reverse("connect:in_wecom", args=[app.key])
    query = f"?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
    return client.post(url + query, body, content_type="text/xml")


def wecom_body(text: str, msg_id: str, sender: str = "zhangsan") -> bytes:
    message = p.wecom_text(sender, text, msg_id, int(time.time()))
    return p.wecom_envelope(p.wecom_encrypt(message))


def test_it_answers_wecoms_address_check_with_the_decrypted_echostr(
    callbacks: Client, wecom: ChatApp
) -> None:
    timestamp, nonce = str(int(time.time())), "echo-1"
    echostr = p.wecom_encrypt(b"1616140317555161061")
    signature = p.wecom_signature(timestamp, nonce, echostr)
    response = callbacks.get(
        reverse("connect:in_wecom", args=[wecom.key]),
        {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr},
    )
    assert response.status_code == 200
    assert response.content == b"1616140317555161061"
    assert last_event().outcome == Outcome.CHALLENGE


def test_a_wecom_message_opens_a_case_and_the_next_one_joins_it(
    callbacks: Client, wecom: ChatApp
) -> None:
    response = post_wecom(callbacks, wecom, wecom_body("打印机无法连接\n三楼的打印机", "m-1"))
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.channel == "chat"
    assert case.subject == "打印机无法连接"
    assert case.organisation == wecom.organisation
    assert case.contact is not None
    assert case.contact.is_customer
    assert ChatIdentity.objects.get(app=wecom, user_id="zhangsan").person == case.contact
    assert last_event().outcome == Outcome.CREATED
    assert last_event().case == case

    response = post_wecom(callbacks, wecom, wecom_body("还是不行", "m-2"), nonce="n2")
    assert response.status_code == 200
    assert Case.objects.count() == 1
    assert case.messages.filter(kind="customer", body="还是不行", channel="chat").exists()
    assert last_event().outcome == Outcome.REPLIED


@pytest.mark.parametrize(
    "tamper",
    ["signature", "stale", "replayed nonce", "ciphertext", "receiver", "event id"],
)
def test_a_forged_wecom_request_is_rejected_logged_and_changes_nothing(
    callbacks: Client, wecom: ChatApp, tamper: str
) -> None:
    post_wecom(callbacks, wecom, wecom_body("第一条", "m-1"), nonce="first")
    before = counts()
    body = wecom_body("伪造的消息", "m-9")
    kwargs: dict[str, Any] = {"nonce": "n-9"}
    if tamper == "signature":
        kwargs["signature"] = "0" * 40
    elif tamper == "stale":
        kwargs["timestamp"] = str(int(time.time()) - 3600)
    elif tamper == "replayed nonce":
        kwargs["nonce"] = "first"
        timestamp = InboundEvent.objects.get(outcome=Outcome.CREATED).nonce.split(":")[0]
        kwargs["timestamp"] = timestamp
    elif tamper == "ciphertext":
        encrypted = body.decode().split("CDATA[")[-1].split("]]>")[0]
        flipped = ("A" if encrypted[40] != "A" else "B").join([encrypted[:40], encrypted[41:]])
        body = p.wecom_envelope(flipped)
    elif tamper == "receiver":
        message = p.wecom_text("zhangsan", "x", "m-9", int(time.time()))
        body = p.wecom_envelope(p.wecom_encrypt(message, receive_id="another-corp"))
    elif tamper == "event id":
        body = wecom_body("同一条消息再来一次", "m-1")
    response = post_wecom(callbacks, wecom, body, **kwargs)
    event = last_event()
    assert event.status == "rejected", event.detail
    assert event.detail
    assert counts() == before
    expected = {
        "signature": (401, Outcome.BAD_SIGNATURE),
        "stale": (401, Outcome.STALE),
        "replayed nonce": (200, Outcome.REPLAYED),
        "ciphertext": (400, Outcome.UNDECRYPTABLE),
        "receiver": (403, Outcome.WRONG_RECEIVER),
        "event id": (200, Outcome.REPLAYED),
    }[tamper]
    assert (response.status_code, event.outcome) == expected


def test_unknown_senders_are_refused_when_the_app_says_so(
    callbacks: Client, wecom: ChatApp
) -> None:
    wecom.unknown_senders = UnknownSenders.REJECT
    wecom.save()
    before = counts()
    response = post_wecom(callbacks, wecom, wecom_body("你好", "m-1", sender="stranger"))
    assert response.status_code == 200  # authentic: the platform must not retry it
    assert last_event().outcome == Outcome.UNKNOWN_SENDER
    assert counts() == before


def test_a_known_sender_writes_as_its_contact(
    callbacks: Client, wecom: ChatApp, contact: User
) -> None:
    services.link_identity(actor=None, app=wecom, user_id="zhangsan", person=contact)
    post_wecom(callbacks, wecom, wecom_body("账号被锁定", "m-1"))
    assert Case.objects.get().contact == contact


def test_unknown_and_switched_off_addresses_are_refused(callbacks: Client, wecom: ChatApp) -> None:
    response = callbacks.post(reverse("connect:in_wecom", args=["nope"]), b"<xml/>", "text/xml")
    assert response.status_code == 404
    assert last_event().outcome == Outcome.UNKNOWN_APP
    wecom.is_active = False
    wecom.save()
    response = post_wecom(callbacks, wecom, wecom_body("x", "m-1"))
    assert response.status_code == 403
    assert last_event().outcome == Outcome.INACTIVE
    assert Case.objects.count() == 0


# --- DingTalk ----------------------------------------------------------------------------


@pytest.fixture
def dingtalk(customer: Organisation, guarantee: Any) -> ChatApp:
    return services.save_chat_app(
        actor=None,
        platform=Platform.DINGTALK,
        name="钉钉机器人",
        organisation=customer,
        case_type="fault",
        unknown_senders=UnknownSenders.CREATE_CONTACT,
        app_id="ding-robot",
        token="",
        encryption_key="",
        app_secret=p.DINGTALK_SECRET,
        is_active=True,
    )


def post_dingtalk(
    client: Client,
    app: ChatApp,
    document: dict[str, Any],
    *,
    timestamp: str | None = None,
    sign: str | None = None,
) -> Any:
    timestamp = timestamp or str(int(time.time() * 1000))
    return client.post(
        reverse("connect:in_dingtalk", args=[app.key]),
        json.dumps(document, ensure_ascii=False),
        content_type="application/json",
        headers={"timestamp": timestamp, "sign": sign or p.dingtalk_sign(timestamp)},
    )


def test_a_dingtalk_message_opens_a_case_and_the_robot_answers(
    callbacks: Client, dingtalk: ChatApp
) -> None:
    document = p.dingtalk_message(
        "msg-1", "user123", "ERP 登录报 500 错误", int(time.time() * 1000)
    )
    response = post_dingtalk(callbacks, dingtalk, document)
    assert response.status_code == 200
    case = Case.objects.get()
    assert (case.case_type, case.subject, case.contact.display_name) == (
        "fault",
        "ERP 登录报 500 错误",
        "张经理",
    )
    answer = response.json()
    assert answer["msgtype"] == "text"
    assert case.reference in answer["text"]["content"]


@pytest.mark.parametrize("tamper", ["sign", "stale", "replayed msgId", "body"])
def test_a_forged_dingtalk_request_is_rejected(
    callbacks: Client, dingtalk: ChatApp, tamper: str
) -> None:
    now_ms = int(time.time() * 1000)
    post_dingtalk(callbacks, dingtalk, p.dingtalk_message("msg-1", "user123", "第一条", now_ms))
    before = counts()
    document = p.dingtalk_message("msg-2", "user123", "第二条", now_ms)
    kwargs: dict[str, Any] = {}
    if tamper == "sign":
        kwargs["sign"] = p.dingtalk_sign(str(now_ms), secret="not-the-secret")
    elif tamper == "stale":
        old = str(now_ms - 2 * 3600 * 1000)
        kwargs = {"timestamp": old, "sign": p.dingtalk_sign(old)}
    elif tamper == "replayed msgId":
        document["msgId"] = "msg-1"
    elif tamper == "body":
        kwargs = {"timestamp": "abc", "sign": "x"}
    response = post_dingtalk(callbacks, dingtalk, document, **kwargs)
    assert last_event().status == "rejected"
    assert counts() == before
    expected = {
        "sign": (401, Outcome.BAD_SIGNATURE),
        "stale": (401, Outcome.STALE),
        "replayed msgId": (200, Outcome.REPLAYED),
        "body": (400, Outcome.BAD_REQUEST),
    }[tamper]
    assert (response.status_code, last_event().outcome) == expected


# --- Feishu ------------------------------------------------------------------------------


@pytest.fixture
def feishu(customer: Organisation, guarantee: Any) -> ChatApp:
    return services.save_chat_app(
        actor=None,
        platform=Platform.FEISHU,
        name="飞书应用",
        organisation=customer,
        case_type="inquiry",
        unknown_senders=UnknownSenders.CREATE_CONTACT,
        app_id="cli_a1b2c3",
        token=p.FEISHU_TOKEN,
        encryption_key=p.FEISHU_ENCRYPT_KEY,
        app_secret="",
        is_active=True,
    )


def post_feishu(
    client: Client,
    app: ChatApp,
    document: dict[str, Any],
    *,
    encrypt: bool = True,
    sign: bool = True,
    nonce: str = "nonce-1",
    timestamp: str | None = None,
    mangle: Any = None,
) -> Any:
    body = json.dumps({"encrypt": p.feishu_encrypt(document)} if encrypt else document).encode()
    timestamp = timestamp or str(int(time.time()))
    headers = {}
    if sign:
        headers = {
            "X-Lark-Request-Timestamp": timestamp,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": p.feishu_signature(timestamp, nonce, body),
        }
    if mangle is not None:
        body = mangle(body)
    return client.post(
        reverse("connect:in_feishu", args=[app.key]),
        body,
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.parametrize("encrypt", [False, True])
def test_feishus_url_verification_gets_its_challenge_back(
    callbacks: Client, feishu: ChatApp, encrypt: bool
) -> None:
    challenge = {
        "challenge": "ajls384kdjx98XX",
        "token": p.FEISHU_TOKEN,
        "type": "url_verification",
    }
    response = post_feishu(callbacks, feishu, challenge, encrypt=encrypt, sign=False)
    assert response.status_code == 200
    assert response.json() == {"challenge": "ajls384kdjx98XX"}
    assert last_event().outcome == Outcome.CHALLENGE


def test_a_challenge_with_the_wrong_token_is_refused(callbacks: Client, feishu: ChatApp) -> None:
    challenge = {"challenge": "c", "token": "guess", "type": "url_verification"}
    response = post_feishu(callbacks, feishu, challenge, encrypt=False, sign=False)
    assert response.status_code == 401
    assert last_event().outcome == Outcome.BAD_TOKEN


def test_an_encrypted_signed_feishu_message_opens_a_case(
    callbacks: Client, feishu: ChatApp
) -> None:
    event = p.feishu_message_event("ev-1", "ou_7d8a", "发票抬头如何修改", int(time.time() * 1000))
    response = post_feishu(callbacks, feishu, event)
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.subject == "发票抬头如何修改"  # the @-mention is not part of the text
    assert last_event().event_id == "ev-1"


@pytest.mark.parametrize(
    "tamper", ["signature", "unsigned", "stale", "replayed event", "token", "ciphertext"]
)
def test_a_forged_feishu_event_is_rejected(callbacks: Client, feishu: ChatApp, tamper: str) -> None:
    now_ms = int(time.time() * 1000)
    post_feishu(callbacks, feishu, p.feishu_message_event("ev-1", "ou_1", "第一条", now_ms))
    before = counts()
    event = p.feishu_message_event("ev-2", "ou_1", "第二条", now_ms)
    kwargs: dict[str, Any] = {"nonce": "nonce-2"}
    if tamper == "signature":
        kwargs["mangle"] = lambda body: body.replace(b'"}', b' "}')
    elif tamper == "unsigned":
        kwargs["sign"] = False
    elif tamper == "stale":
        kwargs["timestamp"] = str(int(time.time()) - 3600)
    elif tamper == "replayed event":
        event["header"]["event_id"] = "ev-1"
    elif tamper == "token":
        event["header"]["token"] = "guess"
    elif tamper == "ciphertext":
        kwargs["mangle"] = None
        encrypted = p.feishu_encrypt(event)
        broken = encrypted[:30] + ("A" if encrypted[30] != "A" else "B") + encrypted[31:]
        body = json.dumps({"encrypt": broken}).encode()
        timestamp = str(int(time.time()))
        response = callbacks.post(
            reverse("connect:in_feishu", args=[feishu.key]),
            body,
            content_type="application/json",
            headers={
                "X-Lark-Request-Timestamp": timestamp,
                "X-Lark-Request-Nonce": "nonce-2",
                "X-Lark-Signature": p.feishu_signature(timestamp, "nonce-2", body),
            },
        )
    if tamper != "ciphertext":
        response = post_feishu(callbacks, feishu, event, **kwargs)
    assert last_event().status == "rejected"
    assert counts() == before
    expected = {
        "signature": (401, Outcome.BAD_SIGNATURE),
        "unsigned": (401, Outcome.BAD_SIGNATURE),
        "stale": (401, Outcome.STALE),
        "replayed event": (200, Outcome.REPLAYED),
        "token": (401, Outcome.BAD_TOKEN),
        "ciphertext": (400, Outcome.UNDECRYPTABLE),
    }[tamper]
    assert (response.status_code, last_event().outcome) == expected


def test_feishu_events_other_than_messages_are_accepted_and_ignored(
    callbacks: Client, feishu: ChatApp
) -> None:
    event = p.feishu_message_event("ev-5", "ou_1", "x", int(time.time() * 1000))
    event["header"]["event_type"] = "im.chat.member.bot.added_v1"
    assert post_feishu(callbacks, feishu, event).status_code == 200
    assert (last_event().status, last_event().outcome) == ("accepted", Outcome.IGNORED)
    assert Case.objects.count() == 0


# --- signed JSON -------------------------------------------------------------------------


@pytest.fixture
def monitoring(customer: Organisation, guarantee: Any) -> tuple[InboundSource, str]:
    return services.save_source(actor=None, name="Zabbix", organisation=customer)


def post_signed(
    client: Client, source: InboundSource, secret: str, document: dict[str, Any], **overrides: str
) -> Any:
    body = json.dumps(document).encode()
    timestamp = overrides.pop("timestamp", str(int(time.time())))
    headers = p.signed_headers(secret, timestamp, body)
    headers.update(overrides)
    return client.post(
        reverse("connect:in_signed", args=[source.key]),
        body,
        content_type="application/json",
        **headers,
    )


ALERT = {
    "event_id": "zbx-4711",
    "subject": "Core switch down in Building B",
    "description": "ICMP ping lost for 3 minutes",
    "priority": "urgent",
}


def test_a_signed_event_opens_a_fault_case_once_per_event_id(
    callbacks: Client, monitoring: tuple[InboundSource, str]
) -> None:
    source, secret = monitoring
    first = post_signed(callbacks, source, secret, ALERT)
    assert first.status_code == 201
    case = Case.objects.get()
    assert (case.case_type, case.priority, case.channel) == ("fault", "urgent", "api")
    assert first.json()["case"] == case.reference

    again = post_signed(callbacks, source, secret, ALERT)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "status": "duplicate"}
    assert Case.objects.count() == 1
    assert (last_event().status, last_event().outcome) == ("rejected", Outcome.REPLAYED)


@pytest.mark.parametrize(
    ("tamper", "status", "outcome"),
    [
        ("signature", 401, Outcome.BAD_SIGNATURE),
        ("stale", 401, Outcome.STALE),
        ("no event id", 400, Outcome.BAD_REQUEST),
        ("unknown customer", 400, Outcome.BAD_REQUEST),
        ("bad type", 422, Outcome.REFUSED),
    ],
)
def test_a_bad_signed_event_is_rejected_and_changes_nothing(
    callbacks: Client,
    monitoring: tuple[InboundSource, str],
    tamper: str,
    status: int,
    outcome: str,
) -> None:
    source, secret = monitoring
    document, overrides = dict(ALERT), {}
    if tamper == "signature":
        overrides["HTTP_X_ASSURA_SIGNATURE"] = "sha256=" + "0" * 64
    elif tamper == "stale":
        overrides["timestamp"] = str(int(time.time()) - 900)
    elif tamper == "no event id":
        del document["event_id"]
    elif tamper == "unknown customer":
        document["customer"] = "NOPE"
    elif tamper == "bad type":
        document["type"] = "gossip"
    before = counts()
    response = post_signed(callbacks, source, secret, document, **overrides)
    assert (response.status_code, last_event().outcome) == (status, outcome)
    assert last_event().status == "rejected"
    assert last_event().detail
    assert counts() == before
