"""The configuration pages: quality managers change, other staff read, customers see nothing.

Every write goes through a service; a failed one is shown beside its field with status 400
and leaves the data as it was. The checker's findings appear where the rows are edited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from assura.calendars.models import Calendar
from assura.commitments import services, standard
from assura.commitments.forms import parse_duration, parse_offset, spell_duration, spell_offset
from assura.commitments.models import Contract, Metric, Policy, Service
from assura.core.models import Organisation, Role, User
from assura.sla.models import CauseCategory
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)

# session, user, active policies with their customers / contracts / services / targets (with
# metric and calendar version) / escalations, metric names, the user's organisation (header),
# inactive policies, the tester's three choice lists: the same for 4 policies or 400
POLICY_LIST_QUERIES = 14


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def manager(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.MANAGER)


@pytest.fixture
def guarantee(db: None) -> list[Policy]:
    return standard.load()


@pytest.fixture
def service(db: None) -> Service:
    return services.create_service(actor=None, code="erp", name="ERP hosting")


@pytest.fixture
def customer(contact: User) -> Organisation:
    return contact.organisation


@pytest.fixture
def contract(customer: Organisation, service: Service) -> Contract:
    contract = services.create_contract(
        actor=None,
        code="K-1",
        name="ERP 2026",
        customer=customer,
        monthly_fee=Decimal("20000.00"),
        starts_on=date(2025, 1, 1),
        services=[service],
        compensation_cap=Decimal("3000.00"),
    )
    services.set_compensation_rule(
        actor=None,
        contract=contract,
        metric=Metric.objects.get(code="first_response"),
        percent_of_fee=Decimal(5),
    )
    return contract


def client_for(person: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(person)
    return client


def editor_data(policy: Policy | None = None, **changes: Any) -> dict[str, Any]:
    """What the editor posts: the policy's fields and rows as the page shows them."""
    if policy is not None:
        client_data = _from_policy(policy)
    else:
        client_data = {"name": "", "code": "", "position": "100"}
        client_data.update(_rows("targets", []))
        client_data.update(_rows("escalations", []))
    client_data.update(changes)
    return client_data


def _from_policy(policy: Policy) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": policy.name,
        "position": str(policy.position),
        "description": policy.description,
        "case_types": list(policy.case_types),
        "priorities": list(policy.priorities),
        "channels": list(policy.channels),
    }
    if policy.is_default:
        data["is_default"] = "on"
    targets = [
        {
            "metric": t.metric.code,
            "priority": t.priority,
            "target": spell_duration(t.target),
            "calendar": str(t.calendar_id),
            "warn_at": str((t.warning_fraction * 100).normalize()),
        }
        for t in policy.targets.select_related("metric").order_by("metric__pk", "priority")
    ]
    levels = [
        {
            "level": str(e.level),
            "offset": spell_offset(e.offset),
            "recipients": list(e.recipients),
            "raise_priority_to": e.raise_priority_to,
            **({"expedite": "on"} if e.expedite else {}),
        }
        for e in policy.escalations.order_by("level")
    ]
    data.update(_rows("targets", targets))
    data.update(_rows("escalations", levels))
    return data


def row_of(data: dict[str, Any], metric: str) -> int:
    """The index of the target row for `metric` in editor data."""
    return next(
        int(key.split("-")[1])
        for key, value in data.items()
        if key.startswith("targets-") and key.endswith("-metric") and value == metric
    )


def _rows(prefix: str, rows: list[dict[str, Any]], extra: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows) + extra),
        f"{prefix}-INITIAL_FORMS": str(len(rows)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    for index in range(len(rows), len(rows) + extra):  # a blank row as the browser sends it
        if prefix == "targets":
            data[f"{prefix}-{index}-warn_at"] = "75"
    return data


# ---------------------------------------------------------------------------- access

READ_PAGES = [
    ("commitments:index", ()),
    ("commitments:services", ()),
    ("commitments:contracts", ()),
    ("commitments:contract", ("K-1",)),
    ("commitments:policies", ()),
    ("commitments:policy", ("standard",)),
    ("commitments:policy_versions", ("standard",)),
    ("commitments:metrics", ()),
    ("sla_config:causes", ()),
]
EDIT_PAGES = [
    ("commitments:service_create", ()),
    ("commitments:service_edit", ("erp",)),
    ("commitments:contract_create", ()),
    ("commitments:contract_edit", ("K-1",)),
    ("commitments:policy_create", ()),
    ("commitments:metric_create", ()),
    ("sla_config:cause_edit", ("staffing",)),
]


@pytest.mark.usefixtures("guarantee", "contract")
@pytest.mark.parametrize(("name", "args"), READ_PAGES + EDIT_PAGES)
def test_a_quality_manager_opens_every_configuration_page(
    quality: User, name: str, args: tuple[str, ...]
) -> None:
    response = client_for(quality).get(reverse(name, args=args))
    assert response.status_code == 200
    assert b'type="submit"' in response.content or name.endswith(("versions", "metrics"))


@pytest.mark.usefixtures("guarantee", "contract")
@pytest.mark.parametrize(("name", "args"), READ_PAGES)
def test_an_agent_reads_every_configuration_page_without_a_form_to_change_it(
    agent: User, name: str, args: tuple[str, ...]
) -> None:
    response = client_for(agent).get(reverse(name, args=args))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'method="post"' not in content.replace('action="/logout/"', "").split("<main")[1]


@pytest.mark.usefixtures("guarantee", "contract")
@pytest.mark.parametrize(("name", "args"), EDIT_PAGES)
def test_an_agent_may_not_open_an_editor(agent: User, name: str, args: tuple[str, ...]) -> None:
    assert client_for(agent).get(reverse(name, args=args)).status_code == 403


@pytest.mark.usefixtures("guarantee", "contract")
@pytest.mark.parametrize(("name", "args"), READ_PAGES + EDIT_PAGES)
def test_a_customer_sees_no_configuration_page(
    contact: User, name: str, args: tuple[str, ...]
) -> None:
    assert client_for(contact).get(reverse(name, args=args)).status_code == 403


@pytest.mark.usefixtures("guarantee")
def test_an_agent_cannot_post_a_policy(agent: User) -> None:
    policy = Policy.objects.get(code="complaint")
    response = client_for(agent).post(
        reverse("commitments:policy", args=["complaint"]), editor_data(policy, name="Hijacked")
    )
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.name != "Hijacked"


@pytest.mark.usefixtures("guarantee")
def test_the_index_links_to_the_notification_channels_and_cause_categories(
    quality: User,
) -> None:
    content = client_for(quality).get(reverse("commitments:index")).content.decode()
    assert reverse("sla_config:causes") in content
    assert reverse("notify:channels") in content


# ---------------------------------------------------------------------------- policy editor


@pytest.mark.usefixtures("guarantee")
def test_saving_the_editor_publishes_version_2_with_the_new_targets(quality: User) -> None:
    policy = Policy.objects.get(code="complaint")
    data = editor_data(policy, reason="Faster complaint replies")
    data[f"targets-{row_of(data, 'complaint_reply')}-target"] = "4h"  # was 24h
    data[f"targets-{row_of(data, 'resolution')}-target"] = "2d 12h"  # was 72h
    client = client_for(quality)
    response = client.post(reverse("commitments:policy", args=["complaint"]), data)
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    assert policy.current_version.reason == "Faster complaint replies"
    assert policy.current_version.created_by == quality
    targets = {
        t["metric"]: t["target_seconds"] for t in policy.current_version.definition["targets"]
    }
    assert targets == {"complaint_reply": 4 * 3600, "resolution": 60 * 3600}
    page = client.get(response["Location"])
    assert "Saved as version 2." in page.content.decode()


@pytest.mark.usefixtures("guarantee")
def test_saving_without_a_change_keeps_the_version(quality: User) -> None:
    policy = Policy.objects.get(code="complaint")
    response = client_for(quality).post(
        reverse("commitments:policy", args=["complaint"]), editor_data(policy), follow=True
    )
    policy.refresh_from_db()
    assert policy.current_version.number == 1
    assert "Nothing changed; version 1 stays in force." in response.content.decode()


@pytest.mark.usefixtures("guarantee")
def test_a_bad_duration_is_a_field_error_and_nothing_is_saved(quality: User) -> None:
    policy = Policy.objects.get(code="complaint")
    data = editor_data(policy, name="Renamed while failing")
    index = row_of(data, "complaint_reply")
    data[f"targets-{index}-target"] = "2 hours-ish"
    response = client_for(quality).post(reverse("commitments:policy", args=["complaint"]), data)
    assert response.status_code == 400
    row = response.context["targets"].forms[index]
    assert row.errors["target"] == [
        "“2 hours-ish” is not a duration. Write a duration like 15m, 2h or 3d 4h "
        "(d days, h hours, m minutes)."
    ]
    assert "Nothing was saved" in response.content.decode()
    policy.refresh_from_db()
    assert policy.name != "Renamed while failing"
    assert policy.current_version.number == 1
    assert policy.targets.get(metric__code="complaint_reply").target == 24 * HOUR


@pytest.mark.usefixtures("guarantee")
def test_two_targets_for_the_same_metric_and_priority_are_refused_beside_the_row(
    quality: User,
) -> None:
    policy = Policy.objects.get(code="complaint")
    data = editor_data(policy)
    data[f"targets-{row_of(data, 'resolution')}-metric"] = "complaint_reply"
    response = client_for(quality).post(reverse("commitments:policy", args=["complaint"]), data)
    assert response.status_code == 400
    assert response.context["targets"].forms[1].errors["priority"] == [
        "This metric already has a target for this priority."
    ]


@pytest.mark.usefixtures("guarantee")
def test_a_service_error_lands_beside_its_field_and_saves_nothing(quality: User) -> None:
    """A second default policy: the model's constraint, reported by the service."""
    data = editor_data(None, name="Another default", code="default-2", is_default="on")
    data.update(
        _rows(
            "targets",
            [
                {
                    "metric": "first_response",
                    "target": "1h",
                    "calendar": str(Calendar.objects.get(code="24x7").pk),
                    "warn_at": "75",
                }
            ],
        )
    )
    response = client_for(quality).post(reverse("commitments:policy_create"), data)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not Policy.objects.filter(code="default-2").exists()


@pytest.mark.usefixtures("guarantee")
def test_a_policy_without_targets_is_refused_above_the_table(quality: User) -> None:
    response = client_for(quality).post(
        reverse("commitments:policy_create"), editor_data(None, name="Empty", code="empty")
    )
    assert response.status_code == 400
    assert response.context["targets"].non_form_errors() == ["A policy needs at least one target."]
    assert not Policy.objects.filter(code="empty").exists()


@pytest.mark.usefixtures("guarantee")
def test_a_new_policy_with_conditions_and_an_escalation_matrix(
    quality: User, manager: User, customer: Organisation, service: Service
) -> None:
    calendar = Policy.objects.get(code="standard").targets.first().calendar  # type: ignore[union-attr]
    data = editor_data(
        None,
        name="VIP",
        code="vip",
        position="5",
        customers=[str(customer.pk)],
        services=[str(service.pk)],
        channels=["phone", "email"],
        priorities=["urgent", "high"],
    )
    data.update(
        _rows(
            "targets",
            [
                {
                    "metric": "first_response",
                    "target": "10m",
                    "calendar": str(calendar.pk),
                    "warn_at": "50",
                },
                {
                    "metric": "resolution",
                    "priority": "urgent",
                    "target": "1h 30m",
                    "calendar": str(calendar.pk),
                    "warn_at": "80",
                },
            ],
            extra=1,
        )
    )
    data.update(
        _rows(
            "escalations",
            [
                {"level": "1", "offset": "-25", "recipients": ["assignee"]},
                {
                    "level": "2",
                    "offset": "+50",
                    "recipients": ["team_lead", "manager"],
                    "people": [str(manager.pk)],
                    "expedite": "on",
                    "raise_priority_to": "urgent",
                },
            ],
        )
    )
    response = client_for(quality).post(reverse("commitments:policy_create"), data)
    assert response.status_code == 302, (
        response.context["targets"].errors,
        response.context["escalations"].errors,
        response.context["form"].errors,
    )
    policy = Policy.objects.get(code="vip")
    definition = policy.current_version.definition
    assert definition["conditions"]["channels"] == ["email", "phone"]
    assert definition["conditions"]["customers"] == [customer.pk]
    assert [t["target_seconds"] for t in definition["targets"]] == [600, 5400]
    assert definition["targets"][0]["warning_fraction"] == 0.5
    assert [(e["level"], e["offset"]) for e in definition["escalations"]] == [(1, -0.25), (2, 0.5)]
    assert definition["escalations"][1]["people"] == [manager.pk]
    assert definition["escalations"][1]["expedite"] is True


@pytest.mark.usefixtures("guarantee")
def test_a_first_response_longer_than_the_resolution_shows_the_checkers_warning(
    quality: User,
) -> None:
    policy = Policy.objects.get(code="complaint")
    data = editor_data(policy)
    index = row_of(data, "complaint_reply")
    data[f"targets-{index}-metric"] = "first_response"
    data[f"targets-{index}-target"] = "4d"  # longer than the 72 h resolution
    response = client_for(quality).post(
        reverse("commitments:policy", args=["complaint"]), data, follow=True
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-code="response-after-resolution"' in content
    finding = next(f for f in response.context["findings"] if f.is_warning)
    assert finding.code == "response-after-resolution"
    assert finding.message == (
        "First response [any priority] (96 h on 中国标准工作日 9-18) is longer than Resolution "
        "[any priority] (72 h on 中国标准工作日 9-18)."
    )
    assert escape(finding.explanation) in content


@pytest.mark.usefixtures("guarantee")
def test_an_agent_reads_the_policy_and_its_findings(agent: User) -> None:
    response = client_for(agent).get(reverse("commitments:policy", args=["standard"]))
    content = response.content.decode()
    assert "Escalation matrix" in content
    assert 'data-testid="findings"' in content
    assert 'data-testid="policy-editor"' not in content


# ---------------------------------------------------------------- the list and the tester


@pytest.mark.usefixtures("guarantee")
def test_policies_are_listed_in_match_order_with_the_default_last(quality: User) -> None:
    response = client_for(quality).get(reverse("commitments:policies"))
    codes = [policy.code for policy, *_rest in response.context["policies"]]
    assert codes == ["urgent-fault", "feedback", "complaint", "standard"]


@pytest.mark.usefixtures("guarantee")
@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"case_type": "fault", "priority": "urgent"}, "urgent-fault"),
        ({"case_type": "fault", "priority": "high"}, "standard"),
        ({"case_type": "complaint", "priority": "urgent"}, "complaint"),
        ({"case_type": "suggestion", "priority": "low"}, "feedback"),
        ({"case_type": "inquiry", "priority": "normal"}, "standard"),
    ],
)
def test_the_tester_picks_the_policy_a_new_case_would_get(
    quality: User, facts: dict[str, str], expected: str
) -> None:
    response = client_for(quality).get(
        reverse("commitments:policies"), {"channel": "portal", **facts}
    )
    result = response.context["result"]
    assert result["policy"].code == expected
    assert result["trials"][-1].matched
    assert all(not trial.matched for trial in result["trials"][:-1])


@pytest.mark.usefixtures("guarantee")
def test_the_tester_honours_a_customer_condition_and_names_the_failed_ones(
    quality: User, customer: Organisation, contract: Contract
) -> None:
    office = Policy.objects.get(code="standard").targets.first().calendar  # type: ignore[union-attr]
    services.save_policy(
        actor=quality,
        spec=services.PolicyInput(
            code="vip",
            name="VIP",
            position=1,
            conditions={"customers": [customer]},
            targets=[services.TargetInput("first_response", 5 * MINUTE, office)],
        ),
    )
    client = client_for(quality)
    mine = client.get(
        reverse("commitments:policies"),
        {
            "channel": "portal",
            "case_type": "inquiry",
            "priority": "normal",
            "customer": customer.pk,
        },
    ).context["result"]
    assert mine["policy"].code == "vip"
    assert mine["contract"] == contract  # found as for a new case
    assert [t["target"] for t in mine["targets"]] == ["5 min"]
    other = client.get(
        reverse("commitments:policies"),
        {
            "channel": "portal",
            "case_type": "inquiry",
            "priority": "normal",
            "customer": CustomerFactory().pk,
        },
    ).context["result"]
    assert other["policy"].code == "standard"
    assert other["trials"][0].failed == ["customer"]


@pytest.mark.usefixtures("guarantee")
def test_the_policy_list_query_count_is_pinned(
    quality: User,
    customer: Organisation,
    service: Service,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    office = Policy.objects.get(code="standard").targets.first().calendar  # type: ignore[union-attr]
    for number in range(12):
        services.save_policy(
            actor=quality,
            spec=services.PolicyInput(
                code=f"p{number}",
                name=f"Policy {number}",
                position=200 + number,
                conditions={"customers": [customer], "services": [service]},
                targets=[
                    services.TargetInput("first_response", 30 * MINUTE, office),
                    services.TargetInput("resolution", 8 * HOUR, office, priority="high"),
                ],
                escalations=standard.ESCALATION_MATRIX,
            ),
        )
    client = client_for(quality)
    client.get(reverse("commitments:policies"))  # warm the calendar cache
    with django_assert_max_num_queries(POLICY_LIST_QUERIES):
        response = client.get(reverse("commitments:policies"))
    assert len(response.context["policies"]) == 16


# ---------------------------------------------------------------------------- versions


@pytest.mark.usefixtures("guarantee")
def test_the_versions_tab_says_who_changed_what_and_why(quality: User) -> None:
    policy = Policy.objects.get(code="complaint")
    data = editor_data(policy, reason="Renegotiated", priorities=["urgent"])
    data[f"targets-{row_of(data, 'complaint_reply')}-target"] = "4h"
    data["escalations-1-DELETE"] = "on"
    client = client_for(quality)
    client.post(reverse("commitments:policy", args=["complaint"]), data)
    response = client.get(reverse("commitments:policy_versions", args=["complaint"]))
    (newest, changes), (first, first_changes) = response.context["rows"]
    assert (newest.number, first.number) == (2, 1)
    texts = [line.text for line in changes]
    assert "Condition priority: any → Urgent" in texts
    assert any(t.startswith("Target Complaint reply (any priority): 24 h on") for t in texts)
    assert any("→ 4 h on" in t for t in texts)
    assert any(t.startswith("Escalation level 2 removed:") for t in texts)
    assert [line.text for line in first_changes] == ["First version."]
    content = response.content.decode()
    assert "Renegotiated" in content
    assert str(quality) in content


# ---------------------------------------------------------------------------- services, contracts


def test_a_service_is_created_renamed_and_no_longer_offered(quality: User) -> None:
    client = client_for(quality)
    created = client.post(
        reverse("commitments:service_create"), {"code": "crm", "name": "CRM", "description": ""}
    )
    assert created.status_code == 302
    edited = client.post(
        reverse("commitments:service_edit", args=["crm"]),
        {"name": "CRM cloud", "description": "Hosted", "is_active": "on"},
    )
    assert edited.status_code == 302
    toggled = client.post(reverse("commitments:service_toggle", args=["crm"]))
    assert toggled.status_code == 302
    service = Service.objects.get(code="crm")
    assert (service.name, service.description, service.is_active) == ("CRM cloud", "Hosted", False)
    assert LogEntry.objects.get_for_object(service).filter(actor=quality).count() == 3


def test_a_bad_service_code_is_shown_beside_the_field(quality: User) -> None:
    response = client_for(quality).post(
        reverse("commitments:service_create"), {"code": "no spaces!", "name": "X"}
    )
    assert response.status_code == 400
    assert "code" in response.context["form"].errors
    assert not Service.objects.exists()


def test_a_contract_is_created_and_edited_with_its_terms(
    quality: User, customer: Organisation, service: Service
) -> None:
    client = client_for(quality)
    response = client.post(
        reverse("commitments:contract_create"),
        {
            "code": "K-9",
            "name": "Support 2026",
            "customer": customer.pk,
            "services": [service.pk],
            "monthly_fee": "1000.00",
            "currency": "cny",
            "starts_on": "2026-01-01",
            "compensation_cap": "1000",
        },
    )
    assert response.status_code == 302
    contract = Contract.objects.get(code="K-9")
    assert contract.currency == "CNY"
    assert list(contract.services.all()) == [service]
    response = client.post(
        reverse("commitments:contract_edit", args=["K-9"]),
        {
            "name": "Support 2026",
            "customer": customer.pk,
            "monthly_fee": "1200.00",
            "currency": "CNY",
            "starts_on": "2026-01-01",
            "ends_on": "2025-12-31",
            "is_active": "on",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["ends_on"] == ["A contract cannot end before it starts."]
    contract.refresh_from_db()
    assert contract.monthly_fee == Decimal("1000.00")


def test_compensation_rules_are_set_on_the_contract_page_with_the_checkers_findings(
    quality: User, contract: Contract
) -> None:
    client = client_for(quality)
    response = client.post(
        reverse("commitments:contract_rule_set", args=["K-1"]),
        {"metric": "resolution", "percent_of_fee": "", "fixed_amount": "5000"},
        follow=True,
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-code="compensation-per-breach-exceeds-cap"' in content
    assert contract.rules.get(metric__code="resolution").fixed_amount == Decimal(5000)

    refused = client.post(
        reverse("commitments:contract_rule_set", args=["K-1"]),
        {"metric": "resolution", "percent_of_fee": "", "fixed_amount": ""},
    )
    assert refused.status_code == 400
    assert refused.context["rule_form"].non_field_errors() == [
        "Give a percentage of the fee, a fixed amount, or both."
    ]

    client.post(reverse("commitments:contract_rule_remove", args=["K-1", "resolution"]))
    assert not contract.rules.filter(metric__code="resolution").exists()


# ---------------------------------------------------------------------------- metrics


def test_a_milestone_metric_is_created_and_its_model_errors_show_beside_the_fields(
    quality: User,
) -> None:
    client = client_for(quality)
    bad = client.post(
        reverse("commitments:metric_create"),
        {"code": "on_site", "name": "On site", "start_event": "created", "stop_event": "created"},
    )
    assert bad.status_code == 400
    assert bad.context["form"].errors["stop_event"] == ["A metric must stop at another event."]
    assert not Metric.objects.filter(code="on_site").exists()
    good = client.post(
        reverse("commitments:metric_create"),
        {
            "code": "on_site",
            "name": "Engineer on site",
            "start_event": "created",
            "stop_event": "interim_plan",
            "pause_statuses": ["waiting_customer"],
            "case_types": ["fault"],
        },
    )
    assert good.status_code == 302
    metric = Metric.objects.get(code="on_site")
    assert (metric.pause_statuses, metric.case_types) == (["waiting_customer"], ["fault"])
    assert not metric.is_builtin
    client.post(
        reverse("commitments:metric_edit", args=["on_site"]),
        {"name": "On site", "start_event": "classified", "stop_event": "resolved"},
    )
    metric.refresh_from_db()
    assert (metric.name, metric.start_event, metric.code) == ("On site", "classified", "on_site")


def test_a_shipped_metric_cannot_be_edited(quality: User) -> None:
    response = client_for(quality).get(reverse("commitments:metric_edit", args=["resolution"]))
    assert response.status_code == 302
    with pytest.raises(ValidationError):
        services.save_metric(
            actor=quality,
            code="resolution",
            name="x",
            start_event="created",
            stop_event="closed",
            metric=Metric.objects.get(code="resolution"),
        )


# ---------------------------------------------------------------------------- cause categories


def test_cause_categories_are_added_renamed_reordered_and_deactivated(quality: User) -> None:
    client = client_for(quality)
    added = client.post(
        reverse("sla_config:causes"),
        {"code": "supplier", "name": "Supplier late", "position": "5", "is_active": "on"},
    )
    assert added.status_code == 302
    taken = client.post(
        reverse("sla_config:causes"), {"code": "supplier", "name": "Again", "position": "5"}
    )
    assert taken.status_code == 400
    assert taken.context["form"].errors["code"] == ["A category with this code exists already."]

    client.post(
        reverse("sla_config:cause_edit", args=["supplier"]),
        {"name": "Supplier", "position": "5", "is_active": "on"},
    )
    assert CauseCategory.objects.order_by("position", "name")[0].name == "Supplier"

    client.post(reverse("sla_config:cause_move", args=["supplier", "down"]))
    order = list(CauseCategory.objects.order_by("position").values_list("code", flat=True))
    assert order[:2] == ["staffing", "supplier"]

    client.post(reverse("sla_config:cause_toggle", args=["supplier"]))
    assert not CauseCategory.objects.get(code="supplier").is_active


def test_an_agent_cannot_change_cause_categories(agent: User) -> None:
    client = client_for(agent)
    response = client.post(reverse("sla_config:causes"), {"code": "x", "name": "X"})
    assert response.status_code == 403
    assert client.post(reverse("sla_config:cause_toggle", args=["staffing"])).status_code == 403
    assert CauseCategory.objects.get(code="staffing").is_active


# ---------------------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", 15 * MINUTE),
        ("2h", 2 * HOUR),
        ("3d 4h", 76 * HOUR),
        ("3d4h", 76 * HOUR),
        ("1h 30m", 90 * MINUTE),
        ("1.5h", 90 * MINUTE),
        ("2 hours", 2 * HOUR),
        ("90 min", 90 * MINUTE),
        ("2小时", 2 * HOUR),
        ("1天 2小时", 26 * HOUR),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_durations_read_the_way_people_write_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["2 hours-ish", "15", "h", "2x", "0m", "-2h", "two hours", "99999d"]
)
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_duration(text)


@pytest.mark.parametrize("value", [15 * MINUTE, 2 * HOUR, 76 * HOUR, 90 * MINUTE, 72 * HOUR])
def test_a_spelled_duration_reads_back_the_same(value: timedelta) -> None:
    assert parse_duration(spell_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-25", Decimal("-0.25")),
        ("0", Decimal(0)),
        ("+50", Decimal("0.5")),
        ("100", Decimal(1)),
        ("+100%", Decimal(1)),
        ("-12.5", Decimal("-0.125")),
    ],
)
def test_escalation_offsets_are_signed_percentages(text: str, expected: Decimal) -> None:
    assert parse_offset(text) == expected
    assert parse_offset(spell_offset(expected)) == expected


@pytest.mark.parametrize("text", ["-100", "abc", "+5000", "25 minutes", ""])
def test_bad_offsets_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_offset(text)
