"""The checker seen from Django: specs built from rows, findings rendered for a page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from assura.calendars.clock import WorkCalendar
from assura.commitments import checker, findings, services, standard
from assura.commitments.models import Contract, Metric, Policy
from assura.core.models import Organisation
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture
def guarantee(db: None) -> list[Policy]:
    return standard.load()


@pytest.fixture
def customer(db: None) -> Organisation:
    return CustomerFactory()


def with_rows(code: str) -> Policy:
    return Policy.objects.prefetch_related(*findings.policy_rows()).get(code=code)


@pytest.mark.usefixtures("guarantee")
def test_a_policy_spec_carries_its_targets_calendars_and_escalation_offsets() -> None:
    spec = findings.policy_spec(with_rows("urgent-fault"))
    assert spec.name == "紧急故障 Urgent faults"
    assert [(t.metric, t.duration, t.calendar_name) for t in spec.targets] == [
        ("first_response", 15 * MINUTE, "全天候 24×7"),
        ("interim_plan", 72 * HOUR, "全天候 24×7"),
        ("resolution", 2 * HOUR, "全天候 24×7"),
    ]
    assert spec.targets[0].calendar == WorkCalendar.always("Asia/Shanghai")
    assert spec.escalation_offsets == tuple(
        Decimal(x) for x in ("-0.250", "0.000", "0.500", "1.000")
    )


@pytest.mark.usefixtures("guarantee")
def test_targets_apply_to_the_case_types_of_both_the_metric_and_the_policy() -> None:
    feedback = findings.policy_spec(with_rows("feedback"))
    assert {t.case_types for t in feedback.targets} == {("suggestion",)}
    complaint = findings.policy_spec(with_rows("complaint"))
    by_metric = {t.metric: t.case_types for t in complaint.targets}
    assert by_metric == {"complaint_reply": ("complaint",), "resolution": ("complaint",)}


@pytest.mark.usefixtures("guarantee")
def test_the_standard_guarantee_raises_notes_but_no_warning() -> None:
    for code in ("urgent-fault", "feedback", "complaint", "standard"):
        shown = findings.policy_findings(with_rows(code))
        assert not [f for f in shown if f.is_warning], code
    notes = {f.code for f in findings.policy_findings(with_rows("standard"))}
    assert "interim-plan-after-resolution" in notes


@pytest.mark.usefixtures("guarantee")
def test_a_finding_names_metrics_and_priorities_as_people_read_them() -> None:
    office = WorkCalendar.weekly(tz="Asia/Shanghai")
    spec = checker.PolicySpec(
        name="Swapped",
        targets=(
            checker.TargetSpec("first_response", 4 * HOUR, office, "Office"),
            checker.TargetSpec("resolution", 2 * HOUR, office, "Office", priority="urgent"),
        ),
    )
    (warning,) = [f for f in findings.show(checker.check_policy(spec)) if f.is_warning]
    assert warning.code == "response-after-resolution"
    assert warning.message == (
        "First response [any priority] (4 h on Office) is longer than Resolution [Urgent] "
        "(2 h on Office)."
    )
    assert "A resolved case has been answered" in warning.explanation


def test_every_rule_of_the_checker_renders_without_leftover_placeholders() -> None:
    for code, rule in checker.RULES.items():
        names = set(PLACEHOLDER.findall(rule.message + rule.explanation))
        figures: dict[str, checker.Figure] = dict.fromkeys(names, "x")
        finding = checker.Finding(code, rule.severity, "s", rule.message, rule.explanation, figures)
        (shown,) = findings.show([finding], metric_names={})
        assert "%(" not in shown.message + shown.explanation, code
        assert shown.severity in ("warning", "info")


def test_templates_are_translated_by_their_english_text_before_the_figures_go_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The catalogue key is the checker's English template, as `gettext_noop` marked it."""
    looked_up: list[str] = []

    def fake_gettext(text: str) -> str:
        looked_up.append(text)
        return "«" + text + "»"

    monkeypatch.setattr(findings, "gettext", fake_gettext)
    finding = checker.check_availability(
        checker.AvailabilitySpec("Portal", Decimal("0.999"), 30 * MINUTE)
    )[0]
    (shown,) = findings.show([finding], metric_names={})
    assert checker.MESSAGES["availability-cap-binding"] in looked_up
    assert checker.EXPLANATIONS["availability-cap-binding"] in looked_up
    assert shown.message.startswith("«99.9 % of a 30-day month allows «43.2 min»")


def test_a_contracts_compensation_is_checked_from_its_rows(customer: Organisation) -> None:
    contract = services.create_contract(
        actor=None,
        code="K-2",
        name="Too generous",
        customer=customer,
        monthly_fee=Decimal("1000.00"),
        starts_on=date(2026, 1, 1),
        compensation_cap=Decimal("1200.00"),
    )
    for code, percent in (("resolution", Decimal(10)), ("first_response", Decimal(5))):
        services.set_compensation_rule(
            actor=None,
            contract=contract,
            metric=Metric.objects.get(code=code),
            percent_of_fee=percent,
        )
    spec = findings.compensation_spec(contract)
    assert spec.monthly_fee == Decimal("1000.00")
    assert spec.monthly_cap == Decimal("1200.00")
    assert [r.metric for r in spec.rules] == ["first_response", "resolution"]
    shown = findings.contract_findings(contract)
    assert [f.code for f in shown] == ["compensation-cap-exceeds-fee"]
    assert shown[0].message == (
        "Contract K-2 caps compensation at 1200.00 CNY a month, more than its monthly fee of "
        "1000.00 CNY."
    )


@pytest.mark.usefixtures("guarantee")
def test_the_summary_counts_warnings_and_notes_over_the_whole_configuration(
    customer: Organisation,
) -> None:
    before = findings.summary()
    assert before.policy_warnings == 0
    assert before.policy_notes > 0
    uncapped = services.create_contract(
        actor=None,
        code="K-3",
        name="No cap",
        customer=customer,
        monthly_fee=Decimal("500.00"),
        starts_on=date(2026, 1, 1),
    )
    services.set_compensation_rule(
        actor=None,
        contract=uncapped,
        metric=Metric.objects.get(code="first_response"),
        fixed_amount=Decimal("600.00"),
    )
    after = findings.summary()
    assert after.contract_warnings == 1  # one breach costs more than the month's fee
    assert after.contract_notes == 1  # and nothing caps the month
    assert Contract.objects.count() == 1
