"""The pure verification functions, against requests built independently in `platforms`."""

from __future__ import annotations

import json
import time

import pytest

from assura.connect import chat
from tests.connect import platforms as p

NOW = time.time()


def test_wecom_decrypts_what_the_documented_scheme_encrypts() -> None:
    message = "<xml><Content><![CDATA[你好]]></Content></xml>".encode()
    assert chat.wecom_decrypt(p.WECOM_KEY, p.wecom_encrypt(message), p.CORP_ID) == message


def test_wecoms_own_encryption_is_the_inverse_and_pads_to_32_bytes() -> None:
    encrypted = chat.wecom_encrypt(p.WECOM_KEY, b"x" * 13, p.CORP_ID, random_prefix=b"0" * 16)
    import base64

    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert chat.wecom_decrypt(p.WECOM_KEY, encrypted, p.CORP_ID) == b"x" * 13


def test_wecoms_signature_sorts_the_four_values() -> None:
    assert chat.wecom_signature("t", "1", "n", "e") == p.wecom_signature("1", "n", "e", token="t")


def test_a_message_for_another_receiver_is_refused() -> None:
    encrypted = p.wecom_encrypt(b"<xml/>", receive_id="other")
    with pytest.raises(chat.RejectedError) as caught:
        chat.wecom_decrypt(p.WECOM_KEY, encrypted, p.CORP_ID)
    assert caught.value.reason == chat.Reason.WRONG_RECEIVER


def test_xml_with_entity_declarations_is_refused() -> None:
    body = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    with pytest.raises(chat.RejectedError) as caught:
        chat.parse_xml(body)
    assert caught.value.reason == chat.Reason.BAD_REQUEST


def test_wecom_events_are_opened_but_carry_no_message() -> None:
    timestamp, nonce = str(int(NOW)), "n"
    inner = b"<xml><MsgType>event</MsgType><Event>enter_agent</Event></xml>"
    encrypted = p.wecom_encrypt(inner)
    opened = chat.wecom_open(
        token=p.WECOM_TOKEN,
        encoding_aes_key=p.WECOM_KEY,
        receive_id=p.CORP_ID,
        msg_signature=p.wecom_signature(timestamp, nonce, encrypted),
        timestamp=timestamp,
        nonce=nonce,
        body=p.wecom_envelope(encrypted),
        now=NOW,
        tolerance=300,
    )
    assert opened.message is None
    assert opened.event_type == "event:enter_agent"


def test_feishu_decrypts_what_the_documented_scheme_encrypts() -> None:
    document = {"challenge": "c", "type": "url_verification"}
    plain = chat.feishu_decrypt(p.FEISHU_ENCRYPT_KEY, p.feishu_encrypt(document))
    assert json.loads(plain) == document
    again = chat.feishu_encrypt(p.FEISHU_ENCRYPT_KEY, b"{}", iv=b"1" * 16)
    assert chat.feishu_decrypt(p.FEISHU_ENCRYPT_KEY, again) == b"{}"


def test_feishus_signature_covers_the_raw_body() -> None:
    body = b'{"encrypt":"abc"}'
    assert chat.feishu_signature("1", "n", "k", body) == p.feishu_signature("1", "n", body, key="k")


def test_dingtalks_sign_is_the_documented_hmac() -> None:
    timestamp = str(int(NOW * 1000))
    document = p.dingtalk_message("m", "u", "hi", int(NOW * 1000))
    opened = chat.dingtalk_open(
        app_secret=p.DINGTALK_SECRET,
        timestamp=timestamp,
        sign=p.dingtalk_sign(timestamp),
        body=json.dumps(document).encode(),
        now=NOW,
    )
    assert opened.message is not None
    assert opened.message.text == "hi"


@pytest.mark.parametrize(("offset", "ok"), [(0, True), (299, True), (-299, True), (301, False)])
def test_timestamps_are_judged_against_the_tolerance(offset: int, ok: bool) -> None:
    if ok:
        chat.check_timestamp(str(int(NOW) + offset), NOW, 300)
    else:
        with pytest.raises(chat.RejectedError):
            chat.check_timestamp(str(int(NOW) + offset), NOW, 300)
