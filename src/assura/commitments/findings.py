"""The consistency checker seen from Django: specs built from rows, findings in words.

`checker` is pure: it takes frozen specs and returns `Finding`s whose message and
explanation are English templates with typed figures. This module builds those specs
from a policy's or a contract's rows, runs the checks, and renders each finding in the
reader's language for the page where the rows are edited.

Translation: the checker marks every template (`MESSAGES`, `EXPLANATIONS`, and the
units of its figures) with `gettext_noop`, so the catalogues extract them from there;
here each template is looked up with `gettext` by its English text, which is the
catalogue key, and filled afterwards. Figures that name rows are shown by their
names: a metric code becomes the metric's name, a priority code its label, and the
catch-all priority `*` reads "any priority".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext

from assura.commitments import checker
from assura.commitments.models import (
    CaseType,
    CompensationRule,
    Contract,
    EscalationLevel,
    Metric,
    Policy,
    PolicyTarget,
    Priority,
)

#: Figures that carry a metric code or a priority code (see `_shown_figures`).
METRIC_FIGURES = frozenset({"metric", "first_metric", "second_metric"})
PRIORITY_FIGURES = frozenset({"priority", "first_priority", "second_priority"})


@dataclass(frozen=True)
class ShownFinding:
    """A finding as a page shows it: the checker's code and severity, text translated."""

    code: str
    severity: str
    subject: str
    message: str
    explanation: str

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"


class ShownFindings(list[ShownFinding]):
    """Findings in the checker's order, with the warnings and the notes apart for a page."""

    @property
    def warnings(self) -> list[ShownFinding]:
        return [finding for finding in self if finding.is_warning]

    @property
    def notes(self) -> list[ShownFinding]:
        return [finding for finding in self if not finding.is_warning]


def show(
    findings: Iterable[checker.Finding], metric_names: Mapping[str, str] | None = None
) -> ShownFindings:
    """Render findings in the active language, warnings first (the checker's order)."""
    names = metric_names if metric_names is not None else _metric_names()
    shown = ShownFindings()
    for finding in findings:
        figures = _shown_figures(finding.figures, names)
        shown.append(
            ShownFinding(
                code=finding.code,
                severity=finding.severity,
                subject=finding.subject,
                message=gettext(finding.message) % figures,
                explanation=gettext(finding.explanation) % figures,
            )
        )
    return shown


def _shown_figures(figures: Mapping[str, Any], metric_names: Mapping[str, str]) -> dict[str, str]:
    priorities = dict(Priority.choices)
    shown = {}
    for key, value in figures.items():
        if key in METRIC_FIGURES and isinstance(value, str):
            shown[key] = metric_names.get(value, value)
        elif key in PRIORITY_FIGURES and isinstance(value, str):
            label = priorities.get(value)
            shown[key] = gettext("any priority") if value in ("", "*") else str(label or value)
        else:
            shown[key] = checker.format_figure(value, gettext)
    return shown


def _metric_names() -> dict[str, str]:
    return {metric.code: str(metric) for metric in Metric.objects.all()}


# ---------------------------------------------------------------------------- policies


def policy_rows() -> list[Prefetch]:
    """What `policy_spec` reads, for `prefetch_related` on a queryset of policies."""
    return [
        Prefetch(
            "targets",
            queryset=PolicyTarget.objects.select_related("metric", "calendar__current_version"),
        ),
        Prefetch("escalations", queryset=EscalationLevel.objects.order_by("level")),
    ]


def policy_spec(policy: Policy) -> checker.PolicySpec:
    """The policy's saved targets and escalation offsets, as the checker reads them.

    A target applies to the case types its metric is limited to, narrowed by the
    policy's own case-type condition, so two targets are compared only when the same
    cases can get both.
    """
    targets = []
    for row in policy.targets.all():
        version = row.calendar.current_version
        if version is None:
            continue
        targets.append(
            checker.TargetSpec(
                metric=row.metric.code,
                duration=row.target,
                calendar=version.work_calendar(),
                calendar_name=row.calendar.name,
                priority=row.priority,
                case_types=_case_types(row.metric.case_types, policy.case_types),
                warning_fraction=row.warning_fraction,
            )
        )
    targets.sort(key=lambda t: (t.metric, t.priority))
    levels = sorted(policy.escalations.all(), key=lambda level: level.level)
    return checker.PolicySpec(
        name=policy.name,
        targets=tuple(targets),
        escalation_offsets=tuple(level.offset for level in levels),
    )


def _case_types(metric_types: Iterable[str], policy_types: Iterable[str]) -> tuple[str, ...]:
    metric_set, policy_set = set(metric_types), set(policy_types)
    if metric_set and policy_set:
        both = metric_set & policy_set
        chosen = both or metric_set
    else:
        chosen = metric_set or policy_set
    order = list(CaseType.values)
    return tuple(sorted(chosen, key=lambda t: order.index(t) if t in order else len(order)))


def policy_findings(policy: Policy) -> ShownFindings:
    """Everything the checker says about one saved policy, in the reader's language."""
    return show(checker.check_policy(policy_spec(policy)))


# ---------------------------------------------------------------------------- contracts


def compensation_spec(contract: Contract) -> checker.CompensationSpec:
    """The contract's fee, cap and compensation rules, as the checker reads them."""
    return compensation_specs([contract])[0]


def contract_findings(contract: Contract) -> ShownFindings:
    """What the checker says about a contract's compensation rules, fee and cap."""
    return show(checker.check_compensation(compensation_spec(contract)))


# ---------------------------------------------------------------------------- everything


@dataclass(frozen=True)
class Summary:
    """How many warnings and notes the whole configuration has, per area."""

    policy_warnings: int
    policy_notes: int
    contract_warnings: int
    contract_notes: int


def summary() -> Summary:
    """The checker over every active policy and contract, counted (for the index page)."""
    policies = Policy.objects.filter(is_active=True).prefetch_related(*policy_rows())
    policy_results = [f for p in policies for f in checker.check_policy(policy_spec(p))]
    contracts = Contract.objects.filter(is_active=True)
    specs = compensation_specs(contracts)
    contract_results = [f for spec in specs for f in checker.check_compensation(spec)]
    return Summary(
        policy_warnings=sum(f.severity == "warning" for f in policy_results),
        policy_notes=sum(f.severity != "warning" for f in policy_results),
        contract_warnings=sum(f.severity == "warning" for f in contract_results),
        contract_notes=sum(f.severity != "warning" for f in contract_results),
    )


def compensation_specs(contracts: Iterable[Contract]) -> list[checker.CompensationSpec]:
    """One spec per contract, reading all their rules in one query."""
    contracts = list(contracts)
    rules: dict[int, list[CompensationRule]] = {c.pk: [] for c in contracts}
    for rule in CompensationRule.objects.filter(contract__in=contracts).select_related("metric"):
        rules[rule.contract_id].append(rule)
    return [
        checker.CompensationSpec(
            contract=contract.code,
            monthly_fee=contract.monthly_fee,
            currency=contract.currency,
            rules=tuple(
                checker.CompensationRuleSpec(r.metric.code, r.percent_of_fee, r.fixed_amount)
                for r in sorted(rules[contract.pk], key=lambda r: r.metric.code)
            ),
            monthly_cap=contract.compensation_cap,
        )
        for contract in contracts
    ]
