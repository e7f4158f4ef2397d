"""Customer breach notices: the template's reason in the contact's language, edits, corrections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from assura.core.models import User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.notify.models import Notification
from assura.sla import handlers, notices, watcher
from assura.sla.models import Breach, BreachNotice, NoticeTemplate
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
OPENED = at(2026, 3, 2, 10)


@pytest.fixture
def breach_of(
    make_overdue_case: Callable[..., Case], agent: User, django_capture_on_commit_callbacks: object
) -> Callable[..., Breach]:
    """A case whose first response is missed; the watcher records it and the handler runs."""

    def make(opened: datetime = OPENED, **fields: object) -> Breach:
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            case = make_overdue_case(assignee=agent, at=opened, **fields)
            watcher.record_due(opened + HOUR)
        return Breach.objects.get(clock__subject_id=case.pk, metric="first_response")

    return make


def sent(key: str) -> Notification:
    return Notification.objects.get(dedup_key=key)


def test_the_contact_is_told_at_once_with_the_templates_reason_in_chinese(
    breach_of: Callable[..., Breach], contact: User
) -> None:
    contact.email, contact.language = "li@customer.cn", "zh-hans"
    contact.save()
    breach = breach_of()
    notice = BreachNotice.objects.get(breach=breach)
    template = NoticeTemplate.objects.get(metric="first_response", language="zh-hans")
    assert (notice.recipient, notice.language, notice.reason) == (
        contact,
        "zh-hans",
        template.reason,
    )
    assert notice.sent_at is not None
    message = sent(f"breach-notice:{breach.pk}")
    assert message.recipients == ["li@customer.cn"]
    assert "C-2026-000001" in message.subject
    assert template.reason in message.body
    assert "尊敬的客户" in message.body
    assert "2026-03-02 10:15" in message.body  # breached at, in the contact's zone
    assert notice.body == message.body  # what was sent is kept with the notice


def test_an_english_contact_gets_the_english_text(
    breach_of: Callable[..., Breach], contact: User
) -> None:
    contact.email, contact.language = "ann@customer.com", "en"
    contact.save()
    breach = breach_of()
    message = sent(f"breach-notice:{breach.pk}")
    assert message.body.startswith("Dear customer")
    assert "15 min" in message.body


def test_an_edit_after_sending_keeps_the_old_reason_and_sends_a_correction(
    breach_of: Callable[..., Breach], contact: User, agent: User
) -> None:
    contact.email = "li@customer.cn"
    contact.save()
    breach = breach_of()
    notice = BreachNotice.objects.get(breach=breach)
    first_reason = notice.reason

    notices.edit_reason(actor=agent, notice=notice, reason="系统升级导致工单延迟分派。")

    notice.refresh_from_db()
    assert notice.reason == "系统升级导致工单延迟分派。"
    assert notice.corrections == 1
    (revision,) = notice.revisions.all()
    assert (revision.reason, revision.edited_by, revision.after_sending) == (
        first_reason,
        agent,
        True,
    )
    correction = sent(f"breach-notice:{breach.pk}:correction:{revision.pk}")
    assert "系统升级导致工单延迟分派。" in correction.body
    assert (
        Notification.objects.filter(dedup_key__startswith=f"breach-notice:{breach.pk}").count() == 2
    )


def test_with_a_delay_the_agent_edits_first_and_the_edited_reason_goes_out_once(
    breach_of: Callable[..., Breach], contact: User, agent: User, settings: object
) -> None:
    settings.ASSURA_NOTICE_DELAY_MINUTES = 10  # type: ignore[attr-defined]
    contact.email = "li@customer.cn"
    contact.save()
    breach = breach_of()
    notice = BreachNotice.objects.get(breach=breach)
    assert notice.sent_at is None
    mine = Notification.objects.filter(dedup_key__startswith=f"breach-notice:{breach.pk}")
    assert not mine.exists()

    notices.edit_reason(actor=agent, notice=notice, reason="The on-call engineer was ill.")
    assert notice.revisions.get().after_sending is False

    follow_up = handlers.BreachFollowUp()
    follow_up.run_due(notice.send_at - timedelta(seconds=1))
    assert not mine.exists()
    follow_up.run_due(notice.send_at)
    follow_up.run_due(notice.send_at + HOUR)
    (message,) = mine
    assert "The on-call engineer was ill." in message.body
    notice.refresh_from_db()
    assert (notice.sent_at, notice.corrections) == (notice.send_at, 0)


def test_a_breach_withdrawn_before_its_delayed_notice_goes_out_is_never_told(
    make_overdue_case: Callable[..., Case],
    agent: User,
    contact: User,
    settings: object,
    django_capture_on_commit_callbacks: object,
) -> None:
    settings.ASSURA_NOTICE_DELAY_MINUTES = 10  # type: ignore[attr-defined]
    contact.email = "li@customer.cn"
    contact.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        case = make_overdue_case(
            assignee=agent, case_type="request", priority="urgent", at=at(2026, 3, 2, 9)
        )
        watcher.record_due(at(2026, 3, 2, 12))
        # The resolution, logged late, came before the 2 h were up.
        desk.resolve(actor=agent, case=case, at=at(2026, 3, 2, 10, 30))
    resolution = Breach.objects.get(metric="resolution")
    assert resolution.withdrawn_at is not None
    handlers.BreachFollowUp().run_due(timezone.now() + HOUR)
    assert not Notification.objects.filter(dedup_key=f"breach-notice:{resolution.pk}").exists()


def test_the_accountable_staff_hear_of_every_breach(
    breach_of: Callable[..., Breach], agent: User
) -> None:
    agent.email = "agent@provider.cn"
    agent.save()
    breach = breach_of()
    message = sent(f"breach:{breach.pk}:staff:{agent.pk}")
    assert message.recipients == ["agent@provider.cn"]
    assert "C-2026-000001" in message.subject


def test_handling_a_breach_again_changes_nothing(
    breach_of: Callable[..., Breach], contact: User
) -> None:
    contact.email = "li@customer.cn"
    contact.save()
    breach = breach_of()
    before = Notification.objects.count()
    assert handlers.handle_breach(breach.pk) is False
    assert BreachNotice.objects.filter(breach=breach).count() == 1
    assert Notification.objects.count() == before


def test_a_reason_is_required_and_only_staff_of_the_case_may_edit(
    breach_of: Callable[..., Breach], contact: User, other_team_agent: User
) -> None:
    notice = BreachNotice.objects.get(breach=breach_of())
    with pytest.raises(ValidationError):
        notices.edit_reason(
            actor=notice.breach.clock.team.members.first(), notice=notice, reason=" "
        )
    with pytest.raises(PermissionDenied):
        notices.edit_reason(actor=contact, notice=notice, reason="We forgot.")
    with pytest.raises(PermissionDenied):
        notices.edit_reason(actor=other_team_agent, notice=notice, reason="We forgot.")


def test_placeholders_are_filled_and_nothing_else_is_evaluated() -> None:
    text = "{reference} {reason.__class__} {unknown}"
    assert notices.render(text, {"reference": "C-1", "reason": "x"}) == (
        "C-1 {reason.__class__} {unknown}"
    )
    assert notices.unknown_placeholders(text) == ["unknown"]
