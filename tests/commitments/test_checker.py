"""The consistency checker, rule by rule, with the standard guarantee's own numbers.

No database: the checker is pure and takes plain specs.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assura.calendars.clock import WorkCalendar
from assura.commitments.checker import (
    EXPLANATIONS,
    MESSAGES,
    RULES,
    AvailabilitySpec,
    CompensationRuleSpec,
    CompensationSpec,
    Finding,
    MetricRoles,
    PolicySpec,
    TargetSpec,
    check_all,
    check_availability,
    check_calendar,
    check_compensation,
    check_policy,
    format_duration,
)

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "commitments.md"

OFFICE = WorkCalendar.weekly(tz="Asia/Shanghai")  # Monday-Friday 09:00-18:00
ALWAYS = WorkCalendar.always("Asia/Shanghai")
LUNCH = WorkCalendar.weekly((("09:00", "12:00"), ("13:30", "18:00")), tz="Asia/Shanghai")
IDLE = WorkCalendar("Asia/Shanghai", {})
CALENDARS = {"office": OFFICE, "24x7": ALWAYS, "lunch": LUNCH, "idle": IDLE}
NAMES = {calendar: name for name, calendar in CALENDARS.items()}
MATRIX = tuple(Decimal(x) for x in ("-0.25", "0", "0.5", "1"))


def target(
    metric: str,
    duration: timedelta,
    calendar: WorkCalendar = OFFICE,
    *,
    priority: str = "",
    case_types: tuple[str, ...] = (),
    warning_fraction: Decimal | float = Decimal("0.75"),
) -> TargetSpec:
    name = NAMES.get(calendar, "custom")
    return TargetSpec(metric, duration, calendar, name, priority, case_types, warning_fraction)


def policy(*targets: TargetSpec, offsets: tuple[Decimal | float, ...] = MATRIX) -> PolicySpec:
    return PolicySpec("P", targets, offsets)


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


def standard_guarantee() -> list[PolicySpec]:
    """The four policies `assura demo` loads: 15 min / 2 h / 24 h / 72 h, complaints 24 h."""
    return [
        PolicySpec(
            "urgent-fault",
            (
                target("first_response", 15 * MINUTE, ALWAYS),
                target("resolution", 2 * HOUR, ALWAYS),
                target("interim_plan", 72 * HOUR, ALWAYS),
            ),
            MATRIX,
        ),
        PolicySpec(
            "feedback",
            (
                target("first_response", 15 * MINUTE),
                target("classification", 2 * HOUR),
                target("resolution", 24 * HOUR),
            ),
            MATRIX,
        ),
        PolicySpec(
            "complaint",
            (
                target("first_response", 15 * MINUTE),
                target("complaint_reply", 24 * HOUR),
                target("resolution", 72 * HOUR),
            ),
            MATRIX,
        ),
        PolicySpec(
            "standard",
            (
                target("first_response", 15 * MINUTE),
                target("classification", 2 * HOUR),
                target("resolution", 2 * HOUR, priority="urgent"),
                target("resolution", 24 * HOUR),
                target("interim_plan", 72 * HOUR),
            ),
            MATRIX,
        ),
    ]


# --------------------------------------------------------------------------- the standard


def test_the_standard_guarantee_raises_no_warning_and_explains_its_working_hours() -> None:
    findings = check_all(standard_guarantee(), calendars={"office": OFFICE, "24x7": ALWAYS})
    assert {(f.severity, f.code, f.subject) for f in findings} == {
        ("info", "interim-plan-after-resolution", "urgent-fault: interim_plan/*, resolution/*"),
        ("info", "target-exceeds-working-interval", "feedback: resolution/*"),
        ("info", "target-exceeds-working-interval", "complaint: complaint_reply/*"),
        ("info", "target-exceeds-working-interval", "complaint: resolution/*"),
        ("info", "target-exceeds-working-interval", "standard: resolution/*"),
        ("info", "target-exceeds-working-interval", "standard: interim_plan/*"),
        ("info", "interim-plan-after-resolution", "standard: interim_plan/*, resolution/*"),
        ("info", "interim-plan-after-resolution", "standard: interim_plan/*, resolution/urgent"),
    }


# --------------------------------------------------------------------------- rule 1: order


def test_a_response_target_longer_than_resolution_is_a_warning() -> None:
    findings = check_policy(
        policy(target("first_response", 24 * HOUR), target("resolution", 2 * HOUR))
    )
    found = only(findings, "response-after-resolution")
    assert found.severity == "warning"
    assert found.figures["first_target"] == 24 * HOUR
    assert found.figures["second_target"] == 2 * HOUR
    assert found.render_message() == (
        "first_response [*] (24 h on office) is longer than resolution [*] (2 h on office)."
    )


def test_a_complaint_reply_as_long_as_resolution_is_fine() -> None:
    findings = check_policy(
        policy(target("complaint_reply", 24 * HOUR), target("resolution", 24 * HOUR))
    )
    assert "response-after-resolution" not in codes(findings)


def test_targets_on_different_calendars_are_compared_in_wall_time_from_monday_9() -> None:
    # Nominally 20 h > 18 h, but 18 working hours from Monday 09:00 end Tuesday 18:00.
    fine = check_policy(
        policy(target("first_response", 20 * HOUR, ALWAYS), target("resolution", 18 * HOUR))
    )
    assert "response-after-resolution" not in codes(fine)
    late = check_policy(
        policy(target("first_response", 34 * HOUR, ALWAYS), target("resolution", 18 * HOUR))
    )
    found = only(late, "response-after-resolution")
    assert (found.figures["first_wall"], found.figures["second_wall"]) == (34 * HOUR, 33 * HOUR)


def test_a_catch_all_response_is_compared_with_each_priority_of_resolution() -> None:
    findings = check_policy(
        policy(
            target("first_response", 3 * HOUR),
            target("resolution", 2 * HOUR, priority="urgent"),
            target("resolution", 24 * HOUR),
        )
    )
    found = only(findings, "response-after-resolution")
    assert found.subject == "P: first_response/*, resolution/urgent"


def test_targets_for_different_case_types_are_not_compared() -> None:
    findings = check_policy(
        policy(
            target("complaint_reply", 24 * HOUR, case_types=("complaint",)),
            target("resolution", 2 * HOUR, case_types=("inquiry", "fault")),
        )
    )
    assert "response-after-resolution" not in codes(findings)


def test_custom_metric_roles_take_part_in_the_order_rule() -> None:
    roles = MetricRoles(response=frozenset({"on_site"}))
    spec = policy(target("on_site", 4 * HOUR), target("resolution", 2 * HOUR))
    assert "response-after-resolution" not in codes(check_policy(spec))
    assert "response-after-resolution" in codes(check_policy(spec, roles))


def test_an_interim_plan_due_after_resolution_is_only_information() -> None:
    findings = check_policy(
        policy(target("interim_plan", 72 * HOUR, ALWAYS), target("resolution", 24 * HOUR, ALWAYS))
    )
    found = only(findings, "interim-plan-after-resolution")
    assert found.severity == "info"
    assert (found.figures["first_wall"], found.figures["second_wall"]) == (72 * HOUR, 24 * HOUR)


def test_a_more_urgent_priority_with_more_time_is_a_warning() -> None:
    findings = check_policy(
        policy(
            target("resolution", 24 * HOUR, priority="urgent"),
            target("resolution", 2 * HOUR, priority="high"),
        )
    )
    found = only(findings, "priority-targets-inverted")
    assert (found.figures["first_priority"], found.figures["second_priority"]) == (
        "urgent",
        "high",
    )


def test_a_catch_all_stands_for_the_priorities_without_their_own_target() -> None:
    # Urgent cases fall to the catch-all 24 h while high ones get 4 h.
    findings = check_policy(
        policy(target("resolution", 4 * HOUR, priority="high"), target("resolution", 24 * HOUR))
    )
    found = only(findings, "priority-targets-inverted")
    assert found.subject == "P: resolution/*, resolution/high"


def test_two_targets_for_the_same_metric_and_priority_are_a_warning() -> None:
    findings = check_policy(
        policy(target("first_response", 15 * MINUTE), target("first_response", 30 * MINUTE))
    )
    assert only(findings, "duplicate-target").severity == "warning"
    split = check_policy(
        policy(
            target("first_response", 15 * MINUTE, case_types=("inquiry",)),
            target("first_response", 30 * MINUTE, case_types=("complaint",)),
        )
    )
    assert "duplicate-target" not in codes(split)


# --------------------------------------------------------------------------- rule 2: lengths


def test_a_short_target_on_office_hours_is_fine() -> None:
    assert check_policy(policy(target("first_response", 15 * MINUTE))) == []


def test_a_target_longer_than_a_working_day_is_explained_with_its_wall_time() -> None:
    found = only(
        check_policy(policy(target("resolution", 24 * HOUR))), "target-exceeds-working-interval"
    )
    assert found.severity == "info"
    # 9 h Monday + 9 h Tuesday + 6 h Wednesday: due Wednesday 15:00, 54 h after Monday 09:00.
    assert found.figures["stretch"] == 9 * HOUR
    assert found.figures["wall"] == 54 * HOUR
    assert found.figures["gap"] == 30 * HOUR


def test_a_target_spanning_the_lunch_break_is_explained() -> None:
    # The longest stretch is the afternoon, 13:30-18:00: 4 h 30 min still fits into it.
    assert check_policy(policy(target("resolution", 4 * HOUR + 30 * MINUTE, LUNCH))) == []
    found = only(
        check_policy(policy(target("resolution", 5 * HOUR, LUNCH))),
        "target-exceeds-working-interval",
    )
    assert found.figures["stretch"] == timedelta(hours=4, minutes=30)
    # 09:00-12:00, then 13:30-15:30: due 6 h 30 min after Monday 09:00.
    assert found.figures["wall"] == timedelta(hours=6, minutes=30)


def test_round_the_clock_and_overnight_stretches_never_span_a_break() -> None:
    assert check_policy(policy(target("resolution", 72 * HOUR, ALWAYS))) == []
    night = WorkCalendar.weekly((("00:00", "08:00"), ("20:00", "24:00")), tz="Asia/Shanghai")
    weekend = WorkCalendar.weekly((("00:00", "24:00"),), weekdays=(5, 6, 0), tz="Asia/Shanghai")
    # 20:00-24:00 joins the next day's 00:00-08:00; Saturday to Monday is one 72 h stretch.
    assert check_policy(policy(target("resolution", 12 * HOUR, night))) == []
    assert check_policy(policy(target("resolution", 72 * HOUR, weekend))) == []
    assert codes(check_policy(policy(target("resolution", 73 * HOUR, weekend)))) == [
        "target-exceeds-working-interval"
    ]


def test_a_target_beyond_a_year_of_working_time_is_probably_a_typo() -> None:
    found = only(check_policy(policy(target("resolution", 3000 * HOUR))), "target-exceeds-year")
    assert found.severity == "warning"
    assert found.figures["year"] == timedelta(hours=2346, minutes=25)  # 45 h × 365 / 7
    assert check_policy(policy(target("resolution", timedelta(days=365), ALWAYS))) == []
    assert codes(check_policy(policy(target("resolution", timedelta(days=366), ALWAYS)))) == [
        "target-exceeds-year"
    ]


def test_a_zero_target_is_a_warning() -> None:
    assert codes(check_policy(policy(target("first_response", timedelta(0))))) == [
        "target-not-positive"
    ]


# --------------------------------------------------------------------------- rule 3: calendars


def test_a_calendar_without_working_time_is_a_warning() -> None:
    found = only(check_calendar(IDLE, "idle"), "calendar-without-working-time")
    assert found.severity == "warning"
    assert check_calendar(OFFICE, "office") == []


def test_targets_on_an_idle_calendar_report_the_calendar_once_and_nothing_else() -> None:
    spec = policy(target("first_response", 15 * MINUTE, IDLE), target("resolution", HOUR, IDLE))
    assert codes(check_policy(spec)) == ["calendar-without-working-time"]


def test_make_up_days_that_cannot_mean_what_they_say_are_information() -> None:
    calendar = WorkCalendar.weekly(
        tz="Asia/Shanghai",
        holidays=[date(2025, 10, 11)],
        makeup_days=[date(2025, 10, 11), date(2025, 10, 14), date(2025, 9, 28)],
    )
    findings = check_calendar(calendar, "cn")
    assert [(f.code, f.figures["day"]) for f in findings] == [
        ("calendar-holiday-and-makeup", date(2025, 10, 11)),
        ("calendar-makeup-on-working-day", date(2025, 10, 14)),  # a Tuesday
    ]


# --------------------------------------------------------------------------- rule 4: availability


@pytest.mark.parametrize("uptime", [0.999, Decimal("0.999")])
def test_a_30_min_cap_binds_against_99_9_percent_of_a_30_day_month(
    uptime: float | Decimal,
) -> None:
    found = only(
        check_availability(AvailabilitySpec("Platform", uptime, 30 * MINUTE)),
        "availability-cap-binding",
    )
    assert found.severity == "info"
    assert found.figures["allowed"] == timedelta(seconds=2592) == timedelta(minutes=43.2)
    assert found.figures["cap"] == 30 * MINUTE
    assert found.figures["uptime"] == Decimal("99.9")
    assert found.figures["effective"] == Decimal("99.9305")  # 1 − 1,800 s / 2,592,000 s
    assert found.render_message() == (
        "99.9 % of a 30-day month allows 43.2 min of downtime; "
        "the cap of 30 min is stricter and is the binding commitment."
    )


def test_a_cap_above_the_allowed_downtime_is_meaningless() -> None:
    findings = check_availability(AvailabilitySpec("Platform", 0.999, HOUR))
    found = only(findings, "availability-cap-loose")
    assert found.severity == "warning"
    assert found.figures["slack"] == timedelta(minutes=16.8)
    assert codes(findings) == ["availability-cap-loose"]


def test_a_cap_between_the_short_and_long_months_allowance_depends_on_the_month() -> None:
    findings = check_availability(AvailabilitySpec("Platform", 0.999, timedelta(minutes=43.2)))
    found = only(findings, "availability-cap-depends-on-month")
    assert (found.figures["shortest"], found.figures["longest"]) == (
        timedelta(minutes=40.32),
        timedelta(minutes=44.64),
    )
    assert codes(findings) == ["availability-cap-depends-on-month"]


@pytest.mark.parametrize("uptime", [99.9, 0, -0.001, 1.5, float("nan")])
def test_an_uptime_target_outside_0_to_1_is_a_warning(uptime: float) -> None:
    findings = check_availability(AvailabilitySpec("Platform", uptime, 30 * MINUTE))
    assert codes(findings) == ["availability-target-invalid"]


@pytest.mark.parametrize(("uptime", "cap"), [(1, None), (1, 30 * MINUTE), (0.999, timedelta(0))])
def test_a_promise_of_no_downtime_at_all_is_a_warning(uptime: float, cap: timedelta | None) -> None:
    assert codes(check_availability(AvailabilitySpec("Platform", uptime, cap))) == [
        "availability-no-downtime-allowed"
    ]


def test_bad_periods_and_caps_and_missing_caps() -> None:
    assert codes(check_availability(AvailabilitySpec("P", 0.999, None, period_days=0))) == [
        "availability-period-invalid"
    ]
    assert codes(check_availability(AvailabilitySpec("P", 0.999, -MINUTE))) == [
        "availability-cap-negative"
    ]
    assert check_availability(AvailabilitySpec("P", 0.999, None)) == []


# --------------------------------------------------------------------------- rule 5: money


def contract(*rules: CompensationRuleSpec, cap: Decimal | None = Decimal(1000)) -> CompensationSpec:
    return CompensationSpec("K-1", Decimal("1000.00"), "CNY", rules, cap)


FIVE_PERCENT = CompensationRuleSpec("first_response", Decimal(5), None)


def test_five_percent_per_response_breach_capped_at_the_fee_is_consistent() -> None:
    assert check_compensation(contract(FIVE_PERCENT)) == []


def test_without_a_cap_twenty_breaches_pay_back_the_fee() -> None:
    found = only(check_compensation(contract(FIVE_PERCENT, cap=None)), "compensation-uncapped")
    assert found.severity == "info"
    assert (found.figures["amount"], found.figures["breaches"]) == (Decimal("50.00"), 20)


def test_a_per_breach_amount_above_the_cap_is_a_warning() -> None:
    found = only(
        check_compensation(contract(FIVE_PERCENT, cap=Decimal(30))),
        "compensation-per-breach-exceeds-cap",
    )
    assert (found.figures["amount"], found.figures["cap"]) == (Decimal("50.00"), Decimal(30))


def test_a_cap_above_the_fee_is_a_warning() -> None:
    found = only(
        check_compensation(contract(FIVE_PERCENT, cap=Decimal(1200))),
        "compensation-cap-exceeds-fee",
    )
    assert found.figures["excess"] == Decimal("200.00")


def test_over_100_percent_and_fixed_sums_above_the_fee() -> None:
    findings = check_compensation(
        contract(
            CompensationRuleSpec("first_response", Decimal(500), None),
            CompensationRuleSpec("resolution", None, Decimal(1500)),
            cap=None,
        )
    )
    assert only(findings, "compensation-percent-over-100").figures["amount"] == Decimal("5000.00")
    assert only(findings, "compensation-per-breach-exceeds-fee").subject == "K-1: resolution"
    assert only(findings, "compensation-uncapped").figures["breaches"] == 1


def test_negative_amounts_are_warnings() -> None:
    negative = CompensationRuleSpec("first_response", Decimal(-5), None)
    assert codes(check_compensation(contract(negative))) == ["compensation-rule-negative"]
    spec = CompensationSpec("K-1", Decimal(-1), "CNY", (FIVE_PERCENT,), Decimal(-1))
    assert codes(check_compensation(spec)) == [
        "compensation-cap-negative",
        "compensation-fee-negative",
    ]


def test_a_rule_that_pays_nothing_is_a_warning() -> None:
    zero = CompensationRuleSpec("first_response", Decimal(0), None)
    assert codes(check_compensation(contract(zero))) == ["compensation-rule-pays-nothing"]
    free = CompensationSpec("K-2", Decimal(0), "CNY", (FIVE_PERCENT,), None)
    assert codes(check_compensation(free)) == ["compensation-rule-pays-nothing"]


# --------------------------------------------------------------------------- rule 6: timing


def test_warning_fractions_outside_0_to_1() -> None:
    def check(fraction: float | Decimal) -> list[str]:
        spec = policy(
            target("first_response", 2 * HOUR, ALWAYS, warning_fraction=fraction), offsets=()
        )
        return codes(check_policy(spec))

    assert check(Decimal("0.75")) == []
    assert check(0) == ["warning-fraction-invalid"]
    assert check(1) == ["warning-at-target"]
    assert check(1.5) == ["warning-after-target"]
    late = check_policy(policy(target("first_response", 2 * HOUR, warning_fraction=1.5)))
    assert only(late, "warning-after-target").figures["late"] == HOUR


def test_escalation_levels_out_of_order_or_together() -> None:
    spec = policy(target("first_response", 2 * HOUR, ALWAYS), offsets=(0.5, 0.25, 0.4, 0.5))
    findings = check_policy(spec)
    assert [(f.code, f.figures["level"], f.figures["previous_level"]) for f in findings] == [
        ("escalation-offsets-not-increasing", 2, 1),
        ("escalation-offsets-not-increasing", 3, 1),
        ("escalation-levels-simultaneous", 4, 1),
    ]


def test_escalation_at_the_start_or_before_the_warning() -> None:
    spec = policy(target("first_response", 2 * HOUR, ALWAYS), offsets=(-1, -0.5, 0))
    findings = check_policy(spec)
    assert codes(findings) == ["escalation-before-start", "escalation-before-warning"]
    early = only(findings, "escalation-before-warning")
    assert early.severity == "info"
    assert (early.figures["level"], early.figures["used"], early.figures["warning"]) == (
        2,
        Decimal(50),
        Decimal(75),
    )


def test_a_policy_without_targets_is_information() -> None:
    assert codes(check_policy(PolicySpec("empty", ()))) == ["policy-without-targets"]


# --------------------------------------------------------------------------- translation


def test_every_code_has_a_message_an_explanation_and_a_section_in_the_docs() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for code, rule in RULES.items():
        assert MESSAGES[code] == rule.message
        assert EXPLANATIONS[code] == rule.explanation
        assert f"`{code}`" in docs, code
    assert set(re.findall(r"^#### `([a-z0-9-]+)`", docs, re.MULTILINE)) == set(RULES)


def test_a_caller_translates_the_template_and_the_units() -> None:
    zh = {
        MESSAGES["target-not-positive"]: "%(metric)s [%(priority)s] 的目标为 %(target)s。",
        "%(n)s h": "%(n)s 小时",
        "%(n)s min": "%(n)s 分钟",
    }
    found = only(check_policy(policy(target("resolution", -90 * MINUTE))), "target-not-positive")
    assert found.render_message(lambda text: zh.get(text, text)) == (
        "resolution [*] 的目标为 -1 小时 30 分钟。"
    )


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0 min"),
        (15 * MINUTE, "15 min"),
        (timedelta(minutes=43.2), "43.2 min"),
        (72 * HOUR, "72 h"),
        (timedelta(hours=1, minutes=30), "1 h 30 min"),
        (timedelta(seconds=10), "10 s"),
        (timedelta(seconds=60.5), "1 min 0.5 s"),
        (-2 * HOUR, "-2 h"),
    ],
)
def test_durations_read_like_commitments(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


# --------------------------------------------------------------------------- properties

PROPERTIES = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
METRICS = ("first_response", "classification", "complaint_reply", "interim_plan", "resolution")
DURATIONS = tuple(timedelta(minutes=m) for m in (0, 15, 30, 120, 240, 270, 1440, 4320, 180_000))
targets = st.builds(
    target,
    st.sampled_from(METRICS),
    st.sampled_from(DURATIONS),
    st.sampled_from(list(CALENDARS.values())),
    priority=st.sampled_from(("", "urgent", "high", "normal", "low")),
    case_types=st.sampled_from(((), ("complaint",), ("inquiry", "fault"))),
    warning_fraction=st.sampled_from((Decimal("0.75"), Decimal(1), 0.5, 0, 1.2)),
)
policies = st.builds(
    PolicySpec,
    st.just("P"),
    st.lists(targets, max_size=6).map(tuple),
    st.lists(st.sampled_from((-1, -0.5, -0.25, 0, 0.5, 1)), max_size=4).map(tuple),
)


@PROPERTIES
@given(policies, st.data())
def test_findings_do_not_depend_on_the_order_of_targets(
    spec: PolicySpec, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(spec.targets))
    again = PolicySpec(spec.name, tuple(shuffled), spec.escalation_offsets)
    assert check_policy(again) == check_policy(spec) == check_policy(spec)


@PROPERTIES
@given(policies)
def test_every_finding_follows_its_rule_and_renders(spec: PolicySpec) -> None:
    for finding in check_policy(spec):
        rule = RULES[finding.code]
        assert (finding.severity, finding.message, finding.explanation) == (
            rule.severity,
            rule.message,
            rule.explanation,
        )
        assert "%(" not in finding.render_message() + finding.render_explanation()


@PROPERTIES
@given(
    st.integers(1, 9_999).map(lambda n: Decimal(n) / 10_000),
    st.integers(0, 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(28, 31),
)
def test_the_stricter_availability_promise_is_found_by_exact_arithmetic(
    uptime: Decimal, cap: timedelta, days: int
) -> None:
    findings = codes(check_availability(AvailabilitySpec("P", uptime, cap, days)))
    # allowed µs = (10,000 − n) / 10,000 × days × 86,400 × 10⁶, compared without rounding
    allowed_x10k = (10_000 - int(uptime * 10_000)) * days * 86_400 * 10**6
    cap_x10k = cap // timedelta(microseconds=1) * 10_000
    if cap_x10k == 0:
        assert findings == ["availability-no-downtime-allowed"]
    elif cap_x10k < allowed_x10k:
        assert "availability-cap-binding" in findings
    elif cap_x10k > allowed_x10k:
        assert "availability-cap-loose" in findings
    else:
        assert not {"availability-cap-binding", "availability-cap-loose"} & set(findings)


@PROPERTIES
@given(
    st.lists(
        st.builds(
            CompensationRuleSpec,
            st.sampled_from(METRICS),
            st.one_of(st.none(), st.integers(-5, 150).map(Decimal)),
            st.one_of(st.none(), st.integers(-100, 3000).map(Decimal)),
        ),
        max_size=4,
    ),
    st.one_of(st.none(), st.integers(-10, 2000).map(Decimal)),
)
def test_compensation_findings_do_not_depend_on_rule_order(
    rules: list[CompensationRuleSpec], cap: Decimal | None
) -> None:
    forward = check_compensation(contract(*rules, cap=cap))
    assert check_compensation(contract(*reversed(rules), cap=cap)) == forward
    for finding in forward:
        assert "%(" not in finding.render_message() + finding.render_explanation()
