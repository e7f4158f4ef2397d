"""Channel settings are checked per kind before anything is saved; secrets stay hidden."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from assura.core.models import User
from assura.notify import services
from assura.notify.models import NotificationChannel

pytestmark = pytest.mark.django_db

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=3f2a9c1d"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/0d5c7a4e-1234-5678-9abc-def012345678"


def refused(**settings: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        services.create_channel(actor=None, **settings)  # type: ignore[arg-type]
    assert not NotificationChannel.objects.exists()
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"kind": "webhook", "url": "ftp://files.example/in"}, "url", "https://"),
        ({"kind": "webhook", "url": "https://"}, "url", "not a valid web address"),
        ({"kind": "webhook", "url": ""}, "url", "Enter the address"),
        ({"kind": "wecom", "url": "https://qyapi.weixin.qq.com/send"}, "url", "key parameter"),
        (
            {"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send"},
            "url",
            "access_token",
        ),
        ({"kind": "dingtalk", "url": DINGTALK, "signed": True}, "secret", "enter the secret"),
        ({"kind": "feishu", "url": FEISHU, "signed": True, "secret": " "}, "secret", "secret"),
        ({"kind": "wecom", "url": WECOM, "signed": True, "secret": "x"}, "signed", "do not sign"),
        ({"kind": "email", "recipients": []}, "recipients", "at least one"),
        ({"kind": "email", "recipients": ["qa@x.test", "nope"]}, "recipients", "nope"),
        ({"kind": "pager", "url": WECOM}, "kind", "not a valid choice"),
    ],
)
def test_a_bad_setting_is_refused_with_a_field_error_and_nothing_is_saved(
    settings: dict[str, object], field: str, message: str
) -> None:
    errors = refused(name="ops", **settings)
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()


def test_a_duplicate_name_is_refused() -> None:
    services.create_channel(actor=None, kind="wecom", name="ops", url=WECOM)
    with pytest.raises(ValidationError) as caught:
        services.create_channel(actor=None, kind="feishu", name="ops", url=FEISHU)
    assert "name" in caught.value.message_dict


def test_each_kind_keeps_only_the_settings_it_uses() -> None:
    robot = services.create_channel(
        actor=None, kind="feishu", name="飞书群", url=FEISHU, signed=True, secret="s3cret"
    )
    mail = services.create_channel(
        actor=None, kind="email", name="QA", recipients=["qa@x.test"], url=FEISHU, secret="s"
    )
    assert robot.config == {"url": FEISHU, "signed": True}
    assert robot.endpoint().secret == "s3cret"
    assert mail.config == {"recipients": ["qa@x.test"]}
    assert mail.secret == ""


def test_an_unsigned_channel_posts_without_its_stored_secret() -> None:
    channel = services.create_channel(
        actor=None, kind="dingtalk", name="d", url=DINGTALK, signed=False, secret="kept"
    )
    assert channel.endpoint().secret == ""


def test_an_update_without_a_secret_keeps_the_stored_one(quality: User) -> None:
    channel = services.create_channel(
        actor=quality, kind="dingtalk", name="d", url=DINGTALK, signed=True, secret="SECold"
    )
    services.update_channel(
        actor=quality, channel=channel, name="钉钉 ops", url=DINGTALK, signed=True, secret=None
    )
    channel.refresh_from_db()
    assert (channel.name, channel.secret) == ("钉钉 ops", "SECold")
    services.update_channel(
        actor=quality, channel=channel, name="d", url=DINGTALK, signed=True, secret="SECnew"
    )
    channel.refresh_from_db()
    assert channel.secret == "SECnew"


def test_the_audit_log_records_a_changed_secret_without_revealing_it(quality: User) -> None:
    channel = services.create_channel(
        actor=quality, kind="feishu", name="f", url=FEISHU, signed=True, secret="first-secret"
    )
    services.update_channel(
        actor=quality, channel=channel, name="f", url=FEISHU, signed=True, secret="second-secret"
    )
    entries = LogEntry.objects.filter(object_repr="f").order_by("timestamp")
    assert [entry.actor for entry in entries] == [quality, quality]
    logged = " ".join(str(entry.changes) for entry in entries)
    assert "secret_fingerprint" in logged
    assert "first-secret" not in logged
    assert "second-secret" not in logged


def test_only_administrators_and_quality_managers_manage_channels(
    agent: User, auditor: User, quality: User, admin: User
) -> None:
    for person in (agent, auditor):
        with pytest.raises(PermissionDenied):
            services.create_channel(actor=person, kind="wecom", name="x", url=WECOM)
    for number, person in enumerate((quality, admin)):
        services.create_channel(actor=person, kind="wecom", name=f"x{number}", url=WECOM)
    assert NotificationChannel.objects.count() == 2
