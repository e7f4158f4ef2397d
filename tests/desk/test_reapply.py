"""Re-applying a policy's current version to open cases: on purpose, audited, clocks retargeted.

A case keeps the version it was opened under; only a manager's explicit decision moves the
open ones to a newer promise, and then each clock is measured against the new target from
its own start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from assura.commitments import services as commitments
from assura.commitments import standard
from assura.commitments.models import Policy
from assura.core.models import Organisation, Role, User
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Activity, ActivityKind, Case
from assura.sla.models import ClockEvent, EventKind
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


def slower_first_response(actor: User, minutes: int = 30) -> Policy:
    """Publish version 2 of the standard policy with a longer first-response target."""
    office, always = standard.calendars()
    spec = next(p for p in standard.policies(office, always) if p.code == "standard")
    targets = [
        dataclasses.replace(t, target=minutes * MINUTE) if t.metric == "first_response" else t
        for t in spec.targets
    ]
    policy = Policy.objects.get(code="standard")
    return commitments.save_policy(
        actor=actor,
        spec=dataclasses.replace(spec, targets=targets),
        policy=policy,
        reason="first response 30 min",
    )


def test_an_open_case_keeps_its_version_until_the_policy_is_re_applied(
    make_case: Callable[..., Case], quality: User
) -> None:
    case = make_case()
    policy = slower_first_response(quality)
    case.refresh_from_db()
    assert case.policy_version.number == 1
    assert clocks_of(case)["first_response"].target == 15 * MINUTE
    assert [(c.pk, v.number) for c, v in desk.cases_to_reapply(policy)] == [(case.pk, 2)]


def test_re_applying_moves_the_clocks_to_the_new_targets_and_records_who_did_it(
    make_case: Callable[..., Case], quality: User
) -> None:
    case = make_case()
    policy = slower_first_response(quality)

    moved = desk.reapply_policy(actor=quality, policy=policy, at=at(2026, 3, 2, 10, 5))

    assert moved == 1
    case.refresh_from_db()
    assert case.policy_version == policy.current_version
    clock = clocks_of(case)["first_response"]
    assert clock.target == 30 * MINUTE
    assert clock.due_at == at(2026, 3, 2, 10, 30)  # measured from the clock's start
    assert clock.policy_version == policy.current_version
    event = ClockEvent.objects.get(clock=clock, kind=EventKind.RETARGET)
    assert event.actor == quality
    assert event.target == 30 * MINUTE
    assert "re-applied" in event.reason
    activity = Activity.objects.get(case=case, kind=ActivityKind.POLICY, actor=quality)
    assert (activity.before, activity.after) == ("standard v1", "standard v2")
    entry = LogEntry.objects.get_for_object(case).filter(actor=quality).get()
    assert "policy_version" in entry.changes_dict
    policy_entry = LogEntry.objects.get_for_object(policy).filter(actor=quality).latest("pk")
    assert policy_entry.changes_dict == {"reapplied_to_open_cases": ["", "v2: 1"]}
    assert desk.reapply_policy(actor=quality, policy=policy) == 0  # nothing left to move


def test_closed_cases_and_other_policies_cases_stay_where_they_are(
    make_case: Callable[..., Case], quality: User, agent: User, contact: User
) -> None:
    complaint = make_case(case_type="complaint")
    closed = make_case(actor=agent)
    desk.reply(actor=agent, case=closed, body="Done.", at=at(2026, 3, 2, 10, 5))
    desk.classify(
        actor=agent, case=closed, case_type="inquiry", priority="normal", at=at(2026, 3, 2, 10, 6)
    )
    desk.resolve(actor=agent, case=closed, at=at(2026, 3, 2, 11))
    desk.close(actor=contact, case=closed, at=at(2026, 3, 2, 12))
    open_inquiry = make_case()
    policy = slower_first_response(quality)

    assert desk.reapply_policy(actor=quality, policy=policy) == 1

    for case, number in ((complaint, 1), (closed, 1), (open_inquiry, 2)):
        case.refresh_from_db()
        assert case.policy_version.number == number, case.reference
    assert complaint.policy_version.policy.code == "complaint"


def test_a_new_policy_takes_the_open_cases_it_matches_now(
    make_case: Callable[..., Case], quality: User, customer: Organisation
) -> None:
    case = make_case()
    office, _always = standard.calendars()
    vip = commitments.save_policy(
        actor=quality,
        spec=commitments.PolicyInput(
            code="vip",
            name="VIP",
            position=1,
            conditions={"customers": [customer]},
            targets=[commitments.TargetInput("first_response", 5 * MINUTE, office)],
        ),
    )
    assert desk.reapply_policy(actor=quality, policy=vip) == 1
    case.refresh_from_db()
    assert case.policy_version == vip.current_version
    clocks = clocks_of(case)
    assert clocks["first_response"].target == 5 * MINUTE
    assert clocks["resolution"].status == "cancelled"  # the VIP policy promises no resolution


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.AUDITOR])
def test_only_quality_managers_managers_and_administrators_may_re_apply(
    make_case: Callable[..., Case], make_staff: Callable[..., User], quality: User, role: Role
) -> None:
    case = make_case()
    policy = slower_first_response(quality)
    with pytest.raises(PermissionDenied):
        desk.reapply_policy(actor=make_staff(role), policy=policy)
    case.refresh_from_db()
    assert case.policy_version.number == 1
    assert desk.reapply_policy(actor=make_staff(Role.MANAGER), policy=policy) == 1


def test_the_confirmation_page_says_how_many_cases_move_before_anything_does(
    make_case: Callable[..., Case], quality: User, agent: User
) -> None:
    case = make_case()
    policy = slower_first_response(quality)
    client = Client(headers={"accept-language": "en"})
    client.force_login(quality)
    url = reverse("desk_config:reapply", args=["standard"])

    page = client.get(url)
    assert page.status_code == 200
    assert page.context["count"] == 1
    assert case.reference in page.content.decode()
    case.refresh_from_db()
    assert case.policy_version.number == 1

    done = client.post(url, follow=True)
    assert done.redirect_chain[-1][0] == reverse("commitments:policy", args=["standard"])
    assert "1 open case now follows version 2." in done.content.decode()
    case.refresh_from_db()
    assert case.policy_version == policy.current_version

    refused = Client()
    refused.force_login(agent)
    assert refused.get(url).status_code == 403
    assert refused.post(url).status_code == 403


def test_the_policy_page_offers_the_button_to_those_who_may_use_it(
    make_case: Callable[..., Case], quality: User, agent: User, make_staff: Callable[..., User]
) -> None:
    make_case()
    url = reverse("commitments:policy", args=["standard"])
    button = reverse("desk_config:reapply", args=["standard"])
    for person, shown in ((quality, True), (make_staff(Role.MANAGER), True), (agent, False)):
        client = Client()
        client.force_login(person)
        assert (button in client.get(url).content.decode()) is shown, person.role
