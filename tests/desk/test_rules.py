"""The desk's rules: root causes before closing, permissions, and bad input refused whole."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from assura.commitments import services as commitments
from assura.commitments.models import Policy
from assura.commitments.services import PolicyInput, TargetInput
from assura.core.models import User
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Attachment, Case, Message, Status
from assura.sla import services as sla
from assura.sla.models import Breach, CauseCategory, RootCauseAnalysis
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db


def test_a_breached_case_cannot_close_until_each_breach_has_its_root_cause(
    make_case: Callable[..., Case], agent: User
) -> None:
    case = make_case(actor=agent, case_type="request", at=at(2026, 3, 2, 9))
    desk.reply(actor=agent, case=case, body="Late answer", at=at(2026, 3, 2, 11))
    desk.classify(
        actor=agent, case=case, case_type="request", priority="normal", at=at(2026, 3, 2, 10)
    )
    desk.resolve(actor=agent, case=case, at=at(2026, 3, 2, 12))
    with pytest.raises(ValidationError, match="first_response"):
        desk.close(actor=agent, case=case, at=at(2026, 3, 2, 13))
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    breach = Breach.objects.get(clock__metric="first_response", clock__subject_id=case.pk)
    sla.write_root_cause(
        actor=agent,
        breach=breach,
        category=CauseCategory.objects.get(code="staffing"),
        description="Only one agent on shift",
        corrective_action="Two agents before 10:00",
    )
    desk.close(actor=agent, case=case, at=at(2026, 3, 2, 13))
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_a_root_cause_needs_a_description_and_an_action(
    make_case: Callable[..., Case], agent: User
) -> None:
    case = make_case(actor=agent, case_type="request", at=at(2026, 3, 2, 9))
    desk.reply(actor=agent, case=case, body="Late", at=at(2026, 3, 2, 11))
    breach = Breach.objects.get(clock__metric="first_response")
    with pytest.raises(ValidationError) as error:
        sla.write_root_cause(
            actor=agent,
            breach=breach,
            category=CauseCategory.objects.first(),
            description=" ",
            corrective_action="",
        )
    assert set(error.value.message_dict) == {"description", "corrective_action"}
    assert not RootCauseAnalysis.objects.exists()


def test_a_customer_cannot_raise_a_case_for_another_organisation(
    guarantee: list[Policy], contact: User, other_contact: User
) -> None:
    with pytest.raises(PermissionDenied):
        desk.open_case(
            actor=contact,
            organisation=other_contact.organisation,
            case_type="inquiry",
            subject="x",
            channel="portal",
        )
    assert not Case.objects.exists()


def test_an_agent_of_another_team_cannot_work_the_case(
    make_case: Callable[..., Case], other_team_agent: User
) -> None:
    case = make_case()
    with pytest.raises(PermissionDenied):
        desk.reply(actor=other_team_agent, case=case, body="Hi")
    assert not Message.objects.exists()


def test_an_auditor_changes_nothing(make_case: Callable[..., Case], auditor: User) -> None:
    case = make_case()
    with pytest.raises(PermissionDenied):
        desk.change_status(actor=auditor, case=case, status="open")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"case_type": "wish"}, "case_type"),
        ({"priority": "asap"}, "priority"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_bad_intake_is_refused_with_the_field_and_nothing_is_written(
    make_case: Callable[..., Case], fields: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        make_case(**fields)
    assert field in error.value.message_dict
    assert not Case.objects.exists()


def test_attachments_over_the_limit_or_of_a_refused_type_change_nothing(
    make_case: Callable[..., Case],
    agent: User,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    case = make_case()
    settings.ASSURA_ATTACHMENT_MAX_BYTES = 10
    big = SimpleUploadedFile("log.txt", b"x" * 11, content_type="text/plain")
    with pytest.raises(ValidationError, match="larger than"):
        desk.reply(actor=agent, case=case, body="see file", attachments=[big])
    script = SimpleUploadedFile("run.exe", b"MZ", content_type="image/png")
    with pytest.raises(ValidationError, match="not accepted"):
        desk.reply(actor=agent, case=case, body="see file", attachments=[script])
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()


def test_an_attachment_is_stored_under_its_content_hash(
    make_case: Callable[..., Case], agent: User
) -> None:
    case = make_case()
    upload = SimpleUploadedFile("../../etc/passwd.txt", b"hello", content_type="text/plain")
    message = desk.reply(actor=agent, case=case, body="log", attachments=[upload])
    attachment = message.attachments.get()
    assert attachment.name == "passwd.txt"
    assert ".." not in attachment.file.name
    assert attachment.file.name.endswith(attachment.sha256)
    assert attachment.file.read() == b"hello"


def test_reopening_after_the_window_is_refused(
    make_case: Callable[..., Case], agent: User, contact: User
) -> None:
    case = make_case(actor=agent)
    desk.resolve(actor=agent, case=case, at=at(2026, 3, 2, 12))
    with pytest.raises(ValidationError, match="open a new case"):
        desk.reopen(actor=contact, case=case, at=at(2026, 3, 2, 12) + timedelta(days=60))


def test_a_policy_edit_makes_a_version_and_open_cases_keep_theirs(
    make_case: Callable[..., Case], guarantee: list[Policy]
) -> None:
    before = make_case(case_type="request")
    standard = Policy.objects.get(code="standard")
    office = standard.targets.first().calendar
    commitments.save_policy(
        actor=None,
        policy=standard,
        spec=PolicyInput(
            code="standard",
            name=standard.name,
            is_default=True,
            targets=[TargetInput("first_response", timedelta(minutes=30), office)],
        ),
    )
    standard.refresh_from_db()
    assert standard.current_version.number == 2
    after = make_case(case_type="request")
    assert clocks_of(before)["first_response"].target == timedelta(minutes=15)
    assert clocks_of(after)["first_response"].target == timedelta(minutes=30)
    assert clocks_of(before)["first_response"].policy_version.number == 1


def test_the_first_matching_policy_wins_by_position(
    make_case: Callable[..., Case],
    guarantee: list[Policy],
    customer,  # type: ignore[no-untyped-def]
) -> None:
    office = Policy.objects.get(code="standard").targets.first().calendar
    commitments.save_policy(
        actor=None,
        spec=PolicyInput(
            code="vip",
            name="VIP",
            position=1,
            conditions={"customers": [customer.pk]},
            targets=[TargetInput("first_response", timedelta(minutes=5), office)],
        ),
    )
    assert make_case(case_type="complaint").policy_version.policy.code == "vip"
