"""Every write to services, contracts and policies; policies are versioned on change.

A policy is saved as rows and published as a frozen `PolicyVersion` when its
definition differs from the current one; cases select a version through `matching`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from assura.calendars.models import Calendar
from assura.commitments import matching
from assura.commitments.models import (
    CompensationRule,
    Contract,
    EscalationLevel,
    Metric,
    Policy,
    PolicyTarget,
    PolicyVersion,
    Service,
)
from assura.core.audit import acting_as
from assura.core.models import Organisation, OrganisationKind, User
from assura.core.permissions import Action, can


def _require(actor: User | None) -> None:
    if actor is not None and not can(actor, Action.MANAGE_CONFIGURATION):
        raise PermissionDenied(_("You are not allowed to change commitments."))


def create_service(*, actor: User | None, code: str, name: str, description: str = "") -> Service:
    _require(actor)
    service = Service(code=code.strip(), name=name.strip(), description=description)
    service.full_clean()
    with acting_as(actor):
        service.save()
    return service


def create_contract(
    *,
    actor: User | None,
    code: str,
    name: str,
    customer: Organisation,
    monthly_fee: Decimal,
    starts_on: date,
    currency: str = "CNY",
    ends_on: date | None = None,
    services: Iterable[Service] = (),
    compensation_cap: Decimal | None = None,
) -> Contract:
    _require(actor)
    if customer.kind != OrganisationKind.CUSTOMER:
        raise ValidationError({"customer": _("A contract is made with a customer organisation.")})
    contract = Contract(
        code=code.strip(),
        name=name.strip(),
        customer=customer,
        monthly_fee=monthly_fee,
        currency=currency,
        starts_on=starts_on,
        ends_on=ends_on,
        compensation_cap=compensation_cap,
    )
    contract.full_clean()
    with acting_as(actor):
        contract.save()
        contract.services.set(services)
    return contract


def set_compensation_rule(
    *,
    actor: User | None,
    contract: Contract,
    metric: Metric,
    percent_of_fee: Decimal | None = None,
    fixed_amount: Decimal | None = None,
) -> CompensationRule:
    """What one breach of `metric` costs under `contract` (replaces the previous rule)."""
    _require(actor)
    if percent_of_fee is None and fixed_amount is None:
        raise ValidationError(_("Give a percentage of the fee, a fixed amount, or both."))
    rule = CompensationRule.objects.filter(contract=contract, metric=metric).first()
    rule = rule or CompensationRule(contract=contract, metric=metric)
    rule.percent_of_fee, rule.fixed_amount = percent_of_fee, fixed_amount
    rule.full_clean(validate_constraints=False)
    with acting_as(actor):
        rule.save()
    return rule


@dataclass(frozen=True)
class TargetInput:
    metric: str
    target: timedelta
    calendar: Calendar
    priority: str = ""
    warning_fraction: Decimal = Decimal("0.75")


@dataclass(frozen=True)
class EscalationInput:
    level: int
    offset: Decimal
    recipients: Sequence[str] = ()
    expedite: bool = False
    raise_priority_to: str = ""
    people: Sequence[User] = ()


@dataclass(frozen=True)
class PolicyInput:
    """A whole policy as the editor submits it; saved together or not at all."""

    code: str
    name: str
    targets: Sequence[TargetInput]
    position: int = 100
    is_default: bool = False
    description: str = ""
    conditions: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    escalations: Sequence[EscalationInput] = ()


def save_policy(
    *, actor: User | None, spec: PolicyInput, policy: Policy | None = None, reason: str = ""
) -> Policy:
    """Create or replace a policy from `spec`, then publish a version if it changed."""
    _require(actor)
    policy = policy or Policy()
    policy.code, policy.name, policy.description = (
        spec.code.strip(),
        spec.name.strip(),
        (spec.description),
    )
    policy.position, policy.is_default = spec.position, spec.is_default
    _assign_conditions(policy, spec.conditions)
    policy.full_clean(exclude=["current_version"])
    targets = _target_rows(spec.targets)
    levels = _escalation_rows(spec.escalations)
    with acting_as(actor):
        policy.save()
        _set_relations(policy, spec.conditions)
        policy.targets.all().delete()
        PolicyTarget.objects.bulk_create(_attach(targets, policy))
        policy.escalations.all().delete()
        for level, people in levels:
            level.policy = policy
            level.save()
            level.people.set(people)
        publish_policy(actor=actor, policy=policy, reason=reason or _("saved"))
    return policy


def _assign_conditions(policy: Policy, conditions: Mapping[str, Sequence[Any]]) -> None:
    unknown = set(conditions) - set(matching.CONDITION_KEYS)
    if unknown:
        raise ValidationError(_("Unknown condition: %(c)s") % {"c": ", ".join(sorted(unknown))})
    policy.channels = list(conditions.get("channels", []))
    policy.case_types = list(conditions.get("case_types", []))
    policy.priorities = list(conditions.get("priorities", []))


def _set_relations(policy: Policy, conditions: Mapping[str, Sequence[Any]]) -> None:
    policy.customers.set(conditions.get("customers", []))
    policy.contracts.set(conditions.get("contracts", []))
    policy.services.set(conditions.get("services", []))


def _target_rows(specs: Sequence[TargetInput]) -> list[PolicyTarget]:
    if not specs:
        raise ValidationError({"targets": _("A policy needs at least one target.")})
    metrics = {m.code: m for m in Metric.objects.filter(code__in=[s.metric for s in specs])}
    rows, seen = [], set()
    for spec in specs:
        metric = metrics.get(spec.metric)
        if metric is None:
            raise ValidationError({"targets": _("Unknown metric: %(m)s") % {"m": spec.metric}})
        if (spec.metric, spec.priority) in seen:
            raise ValidationError(
                {"targets": _("%(m)s has two targets for the same priority.") % {"m": metric.name}}
            )
        seen.add((spec.metric, spec.priority))
        row = PolicyTarget(
            metric=metric,
            priority=spec.priority,
            target=spec.target,
            calendar=spec.calendar,
            warning_fraction=spec.warning_fraction,
        )
        if spec.target <= timedelta(0):
            raise ValidationError({"targets": _("Targets must be longer than zero.")})
        row.full_clean(exclude=["policy"], validate_constraints=False)
        rows.append(row)
    return rows


def _escalation_rows(specs: Sequence[EscalationInput]) -> list[tuple[EscalationLevel, list[User]]]:
    rows = []
    for spec in specs:
        level = EscalationLevel(
            level=spec.level,
            offset=spec.offset,
            recipients=list(spec.recipients),
            expedite=spec.expedite,
            raise_priority_to=spec.raise_priority_to,
        )
        level.full_clean(exclude=["policy"], validate_constraints=False)
        rows.append((level, list(spec.people)))
    if len({level.level for level, _people in rows}) != len(rows):
        raise ValidationError({"escalations": _("Each escalation level appears once.")})
    return rows


def _attach(rows: list[PolicyTarget], policy: Policy) -> list[PolicyTarget]:
    for row in rows:
        row.policy = policy
    return rows


def publish_policy(*, actor: User | None, policy: Policy, reason: str = "") -> PolicyVersion | None:
    """Freeze the policy into a new version when its definition changed."""
    definition = policy_definition(policy)
    current = policy.current_version
    if current is not None and current.definition == definition:
        return None
    version = PolicyVersion.objects.create(
        policy=policy,
        number=(current.number + 1) if current else 1,
        definition=definition,
        created_by=actor,
        reason=reason[:200],
    )
    policy.current_version = version
    policy.save(update_fields=["current_version"])
    return version


def policy_definition(policy: Policy) -> dict[str, Any]:
    """The policy as plain data: what `matching` reads and a version freezes."""
    return {
        "policy": policy.code,
        "name": policy.name,
        "position": policy.position,
        "is_default": policy.is_default,
        "conditions": {
            "customers": sorted(policy.customers.values_list("pk", flat=True)),
            "contracts": sorted(policy.contracts.values_list("pk", flat=True)),
            "services": sorted(policy.services.values_list("pk", flat=True)),
            "channels": sorted(policy.channels),
            "case_types": sorted(policy.case_types),
            "priorities": sorted(policy.priorities),
        },
        "targets": [
            {
                "metric": t.metric.code,
                "priority": t.priority,
                "target_seconds": t.target.total_seconds(),
                "calendar_id": t.calendar_id,
                "warning_fraction": float(t.warning_fraction),
            }
            for t in policy.targets.select_related("metric").order_by("metric__pk", "priority")
        ],
        "escalations": [
            {
                "level": e.level,
                "offset": float(e.offset),
                "recipients": list(e.recipients),
                "people": sorted(e.people.values_list("pk", flat=True)),
                "expedite": e.expedite,
                "raise_priority_to": e.raise_priority_to,
            }
            for e in policy.escalations.order_by("level")
        ],
    }


def select_policy_version(facts: matching.CaseFacts) -> PolicyVersion | None:
    """The current version of the first active policy whose conditions hold."""
    versions = {
        v.definition["policy"]: v
        for v in PolicyVersion.objects.select_related("policy").filter(
            pk__in=Policy.objects.in_order().values("current_version")
        )
    }
    chosen = matching.choose([v.definition for v in versions.values()], facts)
    return versions[chosen["policy"]] if chosen else None


def contract_for(customer_id: int | None, service_id: int | None, on: date) -> Contract | None:
    """The customer's active contract covering the service on that day (newest first)."""
    if customer_id is None:
        return None
    contracts = Contract.objects.filter(
        customer_id=customer_id, is_active=True, starts_on__lte=on
    ).exclude(ends_on__lt=on)
    if service_id is not None:
        covering = contracts.filter(services__pk=service_id).order_by("-starts_on").first()
        if covering is not None:
            return covering
    return contracts.order_by("-starts_on").first()


# ---------------------------------------------------------------------------- editing


def update_service(
    *, actor: User | None, service: Service, name: str, description: str = "", is_active: bool
) -> Service:
    """Rename or describe a service, or stop (and resume) offering it; the code stays."""
    _require(actor)
    service.name, service.description, service.is_active = name.strip(), description, is_active
    service.full_clean()
    with acting_as(actor):
        service.save()
    return service


def update_contract(
    *,
    actor: User | None,
    contract: Contract,
    name: str,
    customer: Organisation,
    monthly_fee: Decimal,
    starts_on: date,
    currency: str = "CNY",
    ends_on: date | None = None,
    services: Iterable[Service] = (),
    compensation_cap: Decimal | None = None,
    is_active: bool = True,
) -> Contract:
    """Change a contract's terms; its code stays, so cases and ledgers keep pointing at it."""
    _require(actor)
    if customer.kind != OrganisationKind.CUSTOMER:
        raise ValidationError({"customer": _("A contract is made with a customer organisation.")})
    contract.name, contract.customer = name.strip(), customer
    contract.monthly_fee, contract.currency = monthly_fee, currency
    contract.starts_on, contract.ends_on = starts_on, ends_on
    contract.compensation_cap, contract.is_active = compensation_cap, is_active
    contract.full_clean()
    with acting_as(actor):
        contract.save()
        contract.services.set(services)
    return contract


def remove_compensation_rule(*, actor: User | None, contract: Contract, metric: Metric) -> None:
    """A breach of `metric` no longer costs anything under `contract`."""
    _require(actor)
    with acting_as(actor):
        for rule in CompensationRule.objects.filter(contract=contract, metric=metric):
            rule.delete()


def save_metric(
    *,
    actor: User | None,
    code: str,
    name: str,
    start_event: str,
    stop_event: str,
    pause_statuses: Sequence[str] = (),
    case_types: Sequence[str] = (),
    metric: Metric | None = None,
) -> Metric:
    """Create a milestone metric, or change one a user defined; shipped ones stay as shipped.

    The code of an existing metric never changes: policy versions name their targets by it.
    """
    _require(actor)
    if metric is not None and metric.is_builtin:
        raise ValidationError(_("Shipped metrics cannot be changed."))
    metric = metric or Metric(code=code.strip())
    metric.name, metric.start_event, metric.stop_event = name.strip(), start_event, stop_event
    metric.pause_statuses, metric.case_types = list(pause_statuses), list(case_types)
    metric.full_clean()
    with acting_as(actor):
        metric.save()
    return metric
