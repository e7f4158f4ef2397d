"""The quality manager's configuration pages: services, contracts, SLA policies, metrics.

Everyone on the staff reads them; quality managers and administrators change them.
Views stay thin: forms parse, `services` decide (a `ValidationError` is shown beside
the field it names, with status 400 and nothing saved), and the consistency checker's
findings (`findings`) are shown on the page where the rows they concern are edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.forms import BaseFormSet, Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assura.calendars.models import Calendar
from assura.commitments import checker, findings, matching, services
from assura.commitments.forms import (
    CompensationRuleForm,
    ContractForm,
    EscalationFormSetClass,
    MetricForm,
    PolicyForm,
    PolicyTesterForm,
    ServiceForm,
    TargetFormSetClass,
    metric_choices,
    spell_offset,
    staff,
)
from assura.commitments.models import (
    CaseType,
    Channel,
    CompensationRule,
    Contract,
    EscalationRecipient,
    Metric,
    Policy,
    PolicyVersion,
    Priority,
    Service,
    WaitingStatus,
)
from assura.core.forms import show_errors
from assura.core.models import Organisation, User
from assura.core.permissions import Action, can


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


def _can_manage(request: HttpRequest) -> bool:
    return can(request.user, Action.MANAGE_CONFIGURATION)  # type: ignore[arg-type]


def _optional_url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


# ---------------------------------------------------------------------------- index


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Every part of the configuration on one page, with what the checker found."""
    _require(request, Action.VIEW_CONFIGURATION)
    counts = {
        "services": Service.objects.filter(is_active=True).count(),
        "contracts": Contract.objects.filter(is_active=True).count(),
        "policies": Policy.objects.filter(is_active=True).count(),
        "metrics": Metric.objects.count(),
        "calendars": Calendar.objects.count(),
    }
    return render(
        request,
        "commitments/index.html",
        {
            "counts": counts,
            "summary": findings.summary(),
            "causes_url": _optional_url("sla_config:causes"),
            "channels_url": _optional_url("notify:channels"),
            "can_manage": _can_manage(request),
        },
    )


# ---------------------------------------------------------------------------- services


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    _require(request, Action.VIEW_CONFIGURATION)
    rows = Service.objects.annotate(
        contract_count=Count("contract", filter=Q(contract__is_active=True), distinct=True)
    ).order_by("-is_active", "name")
    return render(
        request,
        "commitments/services.html",
        {"services": rows, "can_manage": _can_manage(request)},
    )


@login_required
def service_create(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service = services.create_service(
                actor=user, code=data["code"], name=data["name"], description=data["description"]
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Service %(name)s created.") % {"name": service.name})
            return redirect("commitments:services")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "commitments/service_form.html", {"form": form, "service": None}, status=status
    )


@login_required
def service_edit(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    service = get_object_or_404(Service, code=code)
    initial = {
        "code": service.code,
        "name": service.name,
        "description": service.description,
        "is_active": service.is_active,
    }
    form = ServiceForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_service(
                actor=user,
                service=service,
                name=data["name"],
                description=data["description"],
                is_active=data["is_active"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Service %(name)s saved.") % {"name": service.name})
            return redirect("commitments:services")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "commitments/service_form.html",
        {"form": form, "service": service},
        status=status,
    )


@login_required
@require_POST
def service_toggle(request: HttpRequest, code: str) -> HttpResponse:
    """Stop offering a service (existing cases and contracts keep it), or offer it again."""
    user = _require(request, Action.MANAGE_CONFIGURATION)
    service = get_object_or_404(Service, code=code)
    services.update_service(
        actor=user,
        service=service,
        name=service.name,
        description=service.description,
        is_active=not service.is_active,
    )
    if service.is_active:
        messages.success(request, _("%(name)s is offered again.") % {"name": service.name})
    else:
        messages.success(request, _("%(name)s is no longer offered.") % {"name": service.name})
    return redirect("commitments:services")


# ---------------------------------------------------------------------------- contracts


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    _require(request, Action.VIEW_CONFIGURATION)
    rows = (
        Contract.objects.select_related("customer")
        .prefetch_related("services")
        .annotate(rule_count=Count("rules", distinct=True))
        .order_by("-is_active", "customer__name", "code")
    )
    return render(
        request,
        "commitments/contracts.html",
        {"contracts": rows, "can_manage": _can_manage(request)},
    )


def _contract_values(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "customer": data["customer"],
        "monthly_fee": data["monthly_fee"],
        "currency": data["currency"],
        "starts_on": data["starts_on"],
        "ends_on": data.get("ends_on"),
        "services": data.get("services") or [],
        "compensation_cap": data.get("compensation_cap"),
    }


@login_required
def contract_create(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    initial = {"customer": request.GET.get("customer")} if request.GET.get("customer") else {}
    form = ContractForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.create_contract(
                actor=user, code=form.cleaned_data["code"], **_contract_values(form.cleaned_data)
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Contract %(code)s created.") % {"code": contract.code})
            return redirect("commitments:contract", code=contract.code)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "commitments/contract_form.html", {"form": form, "contract": None}, status=status
    )


@login_required
def contract_edit(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    contract = get_object_or_404(Contract, code=code)
    initial = {
        "code": contract.code,
        "name": contract.name,
        "customer": contract.customer_id,
        "services": list(contract.services.values_list("pk", flat=True)),
        "monthly_fee": contract.monthly_fee,
        "currency": contract.currency,
        "starts_on": contract.starts_on,
        "ends_on": contract.ends_on,
        "compensation_cap": contract.compensation_cap,
        "is_active": contract.is_active,
    }
    form = ContractForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contract(
                actor=user,
                contract=contract,
                is_active=form.cleaned_data["is_active"],
                **_contract_values(form.cleaned_data),
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Contract %(code)s saved.") % {"code": contract.code})
            return redirect("commitments:contract", code=contract.code)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "commitments/contract_form.html",
        {"form": form, "contract": contract},
        status=status,
    )


@login_required
def contract_detail(request: HttpRequest, code: str) -> HttpResponse:
    _require(request, Action.VIEW_CONFIGURATION)
    return render(request, "commitments/contract.html", _contract_context(request, code))


def _contract_context(request: HttpRequest, code: str, **bound: Form) -> dict[str, Any]:
    contract = get_object_or_404(
        Contract.objects.select_related("customer").prefetch_related("services"), code=code
    )
    rules = CompensationRule.objects.filter(contract=contract).select_related("metric")
    return {
        "contract": contract,
        "rules": [(rule, rule.amount()) for rule in rules.order_by("metric__pk")],
        "findings": findings.contract_findings(contract),
        "rule_form": bound.get("rule_form") or CompensationRuleForm(),
        "policies": Policy.objects.filter(Q(contracts=contract) | Q(customers=contract.customer))
        .filter(is_active=True)
        .distinct()
        .order_by("is_default", "position", "pk"),
        "can_manage": _can_manage(request),
    }


@login_required
@require_POST
def contract_rule_set(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    contract = get_object_or_404(Contract, code=code)
    form = CompensationRuleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_compensation_rule(
                actor=user,
                contract=contract,
                metric=Metric.objects.get(code=data["metric"]),
                percent_of_fee=data["percent_of_fee"],
                fixed_amount=data["fixed_amount"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Compensation rule saved."))
            return redirect("commitments:contract", code=contract.code)
    context = _contract_context(request, code, rule_form=form)
    return render(request, "commitments/contract.html", context, status=400)


@login_required
@require_POST
def contract_rule_remove(request: HttpRequest, code: str, metric: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    contract = get_object_or_404(Contract, code=code)
    services.remove_compensation_rule(
        actor=user, contract=contract, metric=get_object_or_404(Metric, code=metric)
    )
    messages.success(request, _("Compensation rule removed."))
    return redirect("commitments:contract", code=contract.code)


# ---------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class Trial:
    """One policy as the tester tried it: did it match, and if not, which conditions failed."""

    policy: Policy
    matched: bool
    failed: list[str]


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    """Policies in the order cases are matched against them, and the tester."""
    _require(request, Action.VIEW_CONFIGURATION)
    policies = list(
        Policy.objects.filter(is_active=True)
        .select_related("current_version__created_by")
        .prefetch_related("customers", "contracts", "services", *findings.policy_rows())
        .order_by("is_default", "position", "pk")
    )
    names = _metric_names()
    tester = PolicyTesterForm(request.GET if "channel" in request.GET else None)
    result = _test(tester, policies) if tester.is_bound and tester.is_valid() else None
    inactive = Policy.objects.filter(is_active=False).order_by("position", "pk")
    return render(
        request,
        "commitments/policies.html",
        {
            "policies": [
                (
                    policy,
                    _conditions_text(policy),
                    _targets_text(policy, names),
                    sum(f.severity == "warning" for f in checker.check_policy(_spec(policy))),
                )
                for policy in policies
            ],
            "inactive": inactive,
            "tester": tester,
            "result": result,
            "can_manage": _can_manage(request),
        },
    )


def _spec(policy: Policy) -> checker.PolicySpec:
    return findings.policy_spec(policy)


def _metric_names() -> dict[str, str]:
    return dict(metric_choices())


def _conditions_text(policy: Policy) -> list[tuple[str, str]]:
    """Each non-empty condition as (label, values), from prefetched rows."""

    def spell(values: Iterable[Any], choices: Any) -> str:
        labels = dict(choices)
        return ", ".join(str(labels.get(value, value)) for value in values)

    shown = [
        (_("Customers"), ", ".join(str(c) for c in policy.customers.all())),
        (_("Contracts"), ", ".join(c.code for c in policy.contracts.all())),
        (_("Services"), ", ".join(str(s) for s in policy.services.all())),
        (_("Channels"), spell(policy.channels, Channel.choices)),
        (_("Case types"), spell(policy.case_types, CaseType.choices)),
        (_("Priorities"), spell(policy.priorities, Priority.choices)),
    ]
    return [(label, values) for label, values in shown if values]


def _targets_text(policy: Policy, names: Mapping[str, str]) -> list[str]:
    priorities = dict(Priority.choices)
    rows = sorted(policy.targets.all(), key=lambda t: (t.metric_id, t.priority))
    return [
        _("%(metric)s%(priority)s: %(target)s")
        % {
            "metric": names.get(t.metric.code, t.metric.code),
            "priority": f" ({priorities[t.priority]})" if t.priority in priorities else "",
            "target": checker.format_duration(t.target, _),
        }
        for t in rows
    ]


def _test(form: PolicyTesterForm, policies: Sequence[Policy]) -> dict[str, Any]:
    """Which policy a case with these facts would get now, and why the earlier ones did not."""
    data = form.cleaned_data
    customer, service = data.get("customer"), data.get("service")
    contract = data.get("contract") or services.contract_for(
        customer.pk if customer else None,
        service.pk if service else None,
        timezone.localdate(),
    )
    facts = matching.CaseFacts(
        customer_id=customer.pk if customer else None,
        contract_id=contract.pk if contract else None,
        service_id=service.pk if service else None,
        channel=data["channel"],
        case_type=data["case_type"],
        priority=data["priority"],
    )
    versions = {p.current_version.definition["policy"]: p for p in policies if p.current_version}
    definitions = [p.current_version.definition for p in policies if p.current_version]
    chosen = matching.choose(definitions, facts)
    winner = versions.get(chosen["policy"]) if chosen else None
    trials = []
    for policy in policies:
        if policy.current_version is None:
            continue
        conditions = policy.current_version.definition.get("conditions", {})
        failed = [
            _condition_label(key)
            for key in matching.CONDITION_KEYS
            if conditions.get(key) and facts.value_for(key) not in conditions[key]
        ]
        trials.append(Trial(policy, policy is winner, failed))
        if policy is winner:
            break
    return {
        "policy": winner,
        "contract": contract,
        "trials": trials,
        "targets": _targets_for(chosen, data["priority"]) if chosen else [],
    }


def _condition_label(key: str) -> str:
    return {
        "customers": _("customer"),
        "contracts": _("contract"),
        "services": _("service"),
        "channels": _("channel"),
        "case_types": _("case type"),
        "priorities": _("priority"),
    }[key]


def _targets_for(definition: Mapping[str, Any], priority: str) -> list[dict[str, Any]]:
    """The target of each metric a case of `priority` gets under `definition`."""
    names = _metric_names()
    calendars = dict(Calendar.objects.values_list("pk", "name"))
    metrics = dict.fromkeys(t["metric"] for t in definition.get("targets", ()))
    shown = []
    for metric in metrics:
        target = matching.target_for(definition, metric, priority)
        if target is None:
            continue
        shown.append(
            {
                "metric": names.get(metric, metric),
                "target": checker.format_duration(timedelta(seconds=target["target_seconds"]), _),
                "calendar": calendars.get(target["calendar_id"], "—"),
                "own": bool(target.get("priority")),
            }
        )
    return shown


def _policy_initial(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "code": policy.code,
        "position": policy.position,
        "is_default": policy.is_default,
        "description": policy.description,
        "customers": list(policy.customers.values_list("pk", flat=True)),
        "contracts": list(policy.contracts.values_list("pk", flat=True)),
        "services": list(policy.services.values_list("pk", flat=True)),
        "channels": policy.channels,
        "case_types": policy.case_types,
        "priorities": policy.priorities,
    }


def _target_initial(policy: Policy) -> list[dict[str, Any]]:
    return [
        {
            "metric": target.metric.code,
            "priority": target.priority,
            "target": target.target,
            "calendar": target.calendar_id,
            "warn_at": (target.warning_fraction * 100).normalize(),
        }
        for target in policy.targets.select_related("metric").order_by("metric__pk", "priority")
    ]


def _escalation_initial(policy: Policy) -> list[dict[str, Any]]:
    return [
        {
            "level": level.level,
            "offset": level.offset,
            "recipients": level.recipients,
            "people": list(level.people.values_list("pk", flat=True)),
            "expedite": level.expedite,
            "raise_priority_to": level.raise_priority_to,
        }
        for level in policy.escalations.order_by("level")
    ]


def _editor_forms(request: HttpRequest, policy: Policy | None) -> tuple[PolicyForm, Any, Any]:
    data = request.POST if request.method == "POST" else None
    editing = policy is not None
    form = PolicyForm(data, initial=_policy_initial(policy) if policy else {}, editing=editing)
    target_kwargs = {"metrics": metric_choices(), "calendars": Calendar.objects.all()}
    targets = TargetFormSetClass(
        data,
        prefix="targets",
        initial=_target_initial(policy) if policy else None,
        form_kwargs=target_kwargs,
    )
    escalations = EscalationFormSetClass(
        data,
        prefix="escalations",
        initial=_escalation_initial(policy) if policy else None,
        form_kwargs={"people": staff()},
    )
    return form, targets, escalations


def _policy_input(
    form: PolicyForm, targets: BaseFormSet, escalations: BaseFormSet
) -> services.PolicyInput:
    data = form.cleaned_data
    return services.PolicyInput(
        code=data["code"],
        name=data["name"],
        position=data["position"],
        is_default=data["is_default"],
        description=data["description"],
        conditions=form.conditions(),
        targets=[
            services.TargetInput(
                metric=row.cleaned_data["metric"],
                target=row.cleaned_data["target"],
                calendar=row.cleaned_data["calendar"],
                priority=row.cleaned_data.get("priority") or "",
                warning_fraction=(row.cleaned_data["warn_at"] / 100).quantize(Decimal("0.001")),
            )
            for row in targets.rows()  # type: ignore[attr-defined]
        ],
        escalations=[
            services.EscalationInput(
                level=row.cleaned_data["level"],
                offset=row.cleaned_data["offset"],
                recipients=row.cleaned_data["recipients"],
                expedite=row.cleaned_data["expedite"],
                raise_priority_to=row.cleaned_data.get("raise_priority_to") or "",
                people=list(row.cleaned_data["people"]),
            )
            for row in escalations.rows()  # type: ignore[attr-defined]
        ],
    )


def _apply_policy_errors(
    error: ValidationError, form: PolicyForm, targets: Any, escalations: Any
) -> None:
    """A service error lands beside its field, or above the table of rows it concerns."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, texts in error.message_dict.items():
        if field == "targets":
            targets.add_non_form_errors(texts)
        elif field == "escalations":
            escalations.add_non_form_errors(texts)
        else:
            form.add_error(field if field in form.fields else None, texts)


@login_required
def policy_create(request: HttpRequest) -> HttpResponse:
    _require(request, Action.MANAGE_CONFIGURATION)
    return _policy_editor(request, None)


@login_required
def policy_edit(request: HttpRequest, code: str) -> HttpResponse:
    """The editor for managers; a read-only view of the same policy for the rest of the staff."""
    _require(request, Action.VIEW_CONFIGURATION)
    policy = get_object_or_404(Policy.objects.select_related("current_version"), code=code)
    if not _can_manage(request):
        if request.method == "POST":
            raise PermissionDenied(_("You are not allowed to change commitments."))
        return _policy_page(request, policy)
    return _policy_editor(request, policy)


def _policy_editor(request: HttpRequest, policy: Policy | None) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form, targets, escalations = _editor_forms(request, policy)
    if request.method == "POST":
        if form.is_valid() and targets.is_valid() and escalations.is_valid():
            before = policy.current_version.number if policy and policy.current_version else 0
            try:
                saved = services.save_policy(
                    actor=user,
                    spec=_policy_input(form, targets, escalations),
                    policy=policy,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                _apply_policy_errors(error, form, targets, escalations)
            else:
                number = saved.current_version.number if saved.current_version else 0
                if number != before:
                    messages.success(
                        request, _("Saved as version %(number)s.") % {"number": number}
                    )
                else:
                    messages.info(
                        request,
                        _("Nothing changed; version %(number)s stays in force.")
                        % {"number": number},
                    )
                return redirect("commitments:policy", code=saved.code)
        if policy is not None:
            policy.refresh_from_db()
    context = {
        "policy": policy,
        "form": form,
        "targets": targets,
        "escalations": escalations,
        "findings": findings.policy_findings(_with_rows(policy)) if policy else [],
        "can_manage": True,
        "can_reapply": policy is not None and _can_reapply(request),
        "tab": "editor",
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "commitments/policy_form.html", context, status=status)


def _with_rows(policy: Policy) -> Policy:
    return Policy.objects.prefetch_related(*findings.policy_rows()).get(pk=policy.pk)


def _can_reapply(request: HttpRequest) -> bool:
    return can(request.user, Action.REAPPLY_POLICY)  # type: ignore[arg-type]


def _policy_page(request: HttpRequest, policy: Policy) -> HttpResponse:
    """The policy as read-only tables, for staff who may read but not change it."""
    names = _metric_names()
    policy = _with_rows(policy)
    people = {
        level.pk: list(level.people.all())
        for level in policy.escalations.prefetch_related("people")
    }
    recipients = dict(EscalationRecipient.choices)
    escalation_rows = [
        {
            "level": level.level,
            "offset": spell_offset(level.offset),
            "recipients": ", ".join(str(recipients.get(r, r)) for r in level.recipients),
            "people": ", ".join(str(p) for p in people.get(level.pk, [])),
            "expedite": level.expedite,
            "raise_priority_to": level.get_raise_priority_to_display(),
        }
        for level in policy.escalations.all()
    ]
    context = {
        "policy": policy,
        "conditions": _conditions_text(policy),
        "target_rows": [
            {
                "metric": names.get(t.metric.code, t.metric.code),
                "priority": t.get_priority_display() or _("Any priority"),
                "target": checker.format_duration(t.target, _),
                "calendar": t.calendar.name,
                "warn_at": (t.warning_fraction * 100).normalize(),
            }
            for t in sorted(policy.targets.all(), key=lambda t: (t.metric_id, t.priority))
        ],
        "escalation_rows": escalation_rows,
        "findings": findings.policy_findings(policy),
        "can_reapply": _can_reapply(request),
        "tab": "editor",
    }
    return render(request, "commitments/policy.html", context)


@login_required
def policy_versions(request: HttpRequest, code: str) -> HttpResponse:
    """Every version of a policy: who, when, why, and what changed from the one before."""
    _require(request, Action.VIEW_CONFIGURATION)
    policy = get_object_or_404(Policy, code=code)
    versions = list(policy.versions.select_related("created_by").order_by("-number"))
    lookups = _version_lookups(versions)
    rows = []
    for index, version in enumerate(versions):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        rows.append((version, describe_changes(previous, version, lookups)))
    return render(
        request,
        "commitments/policy_versions.html",
        {
            "policy": policy,
            "rows": rows,
            "can_manage": _can_manage(request),
            "can_reapply": _can_reapply(request),
            "tab": "versions",
        },
    )


# ---------------------------------------------------------------------------- version diffs


@dataclass(frozen=True)
class Lookups:
    """Names for the ids a frozen definition holds, read once for a page of versions."""

    customers: dict[int, str]
    contracts: dict[int, str]
    services: dict[int, str]
    calendars: dict[int, str]
    people: dict[int, str]
    metrics: dict[str, str]


def _version_lookups(versions: Iterable[PolicyVersion]) -> Lookups:
    ids: dict[str, set[int]] = {key: set() for key in ("customers", "contracts", "services")}
    calendars: set[int] = set()
    people: set[int] = set()
    for version in versions:
        conditions = version.definition.get("conditions", {})
        for key in ids:
            ids[key].update(conditions.get(key, []))
        calendars.update(t["calendar_id"] for t in version.definition.get("targets", []))
        for level in version.definition.get("escalations", []):
            people.update(level.get("people", []))
    return Lookups(
        customers={o.pk: o.name for o in Organisation.objects.filter(pk__in=ids["customers"])},
        contracts=dict(Contract.objects.filter(pk__in=ids["contracts"]).values_list("pk", "code")),
        services={s.pk: s.name for s in Service.objects.filter(pk__in=ids["services"])},
        calendars=dict(Calendar.objects.filter(pk__in=calendars).values_list("pk", "name")),
        people={p.pk: str(p) for p in User.objects.filter(pk__in=people)},
        metrics=_metric_names(),
    )


@dataclass(frozen=True)
class ChangeLine:
    kind: str  # "added", "removed", "changed"
    text: str


def describe_changes(
    before: PolicyVersion | None, after: PolicyVersion, lookups: Lookups
) -> list[ChangeLine]:
    """What a person needs to know about a new version: each changed setting, in words."""
    new = after.definition
    if before is None:
        return [ChangeLine("added", _("First version."))]
    old = before.definition
    lines = _setting_changes(old, new)
    lines += _condition_changes(old.get("conditions", {}), new.get("conditions", {}), lookups)
    lines += _target_changes(old.get("targets", []), new.get("targets", []), lookups)
    lines += _escalation_changes(old.get("escalations", []), new.get("escalations", []), lookups)
    return lines or [ChangeLine("changed", _("No change in the definition."))]


def _yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


def _setting_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ChangeLine]:
    settings = (
        ("name", _("Name"), str),
        ("position", _("Order"), str),
        ("is_default", _("Default policy"), _yes_no),
    )
    return [
        ChangeLine(
            "changed",
            _("%(setting)s: %(before)s → %(after)s")
            % {"setting": label, "before": show(old.get(key)), "after": show(new.get(key))},
        )
        for key, label, show in settings
        if old.get(key) != new.get(key)
    ]


def _condition_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], lookups: Lookups
) -> list[ChangeLine]:
    names: dict[str, Mapping[Any, str]] = {
        "customers": lookups.customers,
        "contracts": lookups.contracts,
        "services": lookups.services,
        "channels": dict(Channel.choices),
        "case_types": dict(CaseType.choices),
        "priorities": dict(Priority.choices),
    }
    lines = []
    for key in matching.CONDITION_KEYS:
        before, after = list(old.get(key, [])), list(new.get(key, []))
        if before == after:
            continue

        def spell(values: Iterable[Any], key: str = key) -> str:
            shown = [str(names[key].get(value, value)) for value in values]
            return ", ".join(shown) if shown else _("any")

        lines.append(
            ChangeLine(
                "changed",
                _("Condition %(condition)s: %(before)s → %(after)s")
                % {
                    "condition": _condition_label(key),
                    "before": spell(before),
                    "after": spell(after),
                },
            )
        )
    return lines


def _target_label(target: Mapping[str, Any], lookups: Lookups) -> str:
    priorities = dict(Priority.choices)
    priority = target.get("priority") or ""
    return _("%(metric)s (%(priority)s)") % {
        "metric": lookups.metrics.get(target["metric"], target["metric"]),
        "priority": priorities[priority] if priority in priorities else _("any priority"),
    }


def _target_text(target: Mapping[str, Any], lookups: Lookups) -> str:
    return _("%(target)s on %(calendar)s, warn at %(warn)s %%") % {
        "target": checker.format_duration(timedelta(seconds=target["target_seconds"]), _),
        "calendar": lookups.calendars.get(target["calendar_id"], "—"),
        "warn": _percent(target["warning_fraction"]),
    }


def _percent(fraction: float) -> str:
    return format((Decimal(str(fraction)) * 100).normalize(), "f")


def _target_changes(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], lookups: Lookups
) -> list[ChangeLine]:
    def keyed(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(row["metric"], row.get("priority") or ""): row for row in rows}

    before, after = keyed(old), keyed(new)
    lines = []
    for key in [*before, *(k for k in after if k not in before)]:
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if was is None and now is not None:
            text = _("Target added: %(target)s, %(value)s")
            values = {"target": _target_label(now, lookups), "value": _target_text(now, lookups)}
            lines.append(ChangeLine("added", text % values))
        elif now is None and was is not None:
            text = _("Target removed: %(target)s, %(value)s")
            values = {"target": _target_label(was, lookups), "value": _target_text(was, lookups)}
            lines.append(ChangeLine("removed", text % values))
        elif was is not None and now is not None:
            lines.append(
                ChangeLine(
                    "changed",
                    _("Target %(target)s: %(before)s → %(after)s")
                    % {
                        "target": _target_label(now, lookups),
                        "before": _target_text(was, lookups),
                        "after": _target_text(now, lookups),
                    },
                )
            )
    return lines


def _level_text(level: Mapping[str, Any], lookups: Lookups) -> str:
    recipients = dict(EscalationRecipient.choices)
    priorities = dict(Priority.choices)
    who = [str(recipients.get(r, r)) for r in level.get("recipients", [])]
    who += [lookups.people.get(p, f"#{p}") for p in level.get("people", [])]
    parts = [
        _("at %(offset)s %%") % {"offset": spell_offset(Decimal(str(level["offset"])))},
        _("notify %(who)s") % {"who": ", ".join(who) if who else _("nobody")},
    ]
    if level.get("expedite"):
        parts.append(_("mark expedited"))
    if level.get("raise_priority_to"):
        raised = level["raise_priority_to"]
        parts.append(_("raise to %(priority)s") % {"priority": priorities.get(raised, raised)})
    return "; ".join(str(part) for part in parts)


def _escalation_changes(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], lookups: Lookups
) -> list[ChangeLine]:
    before = {row["level"]: row for row in old}
    after = {row["level"]: row for row in new}
    lines = []
    for level in sorted(set(before) | set(after)):
        was, now = before.get(level), after.get(level)
        if was == now:
            continue
        if was is None and now is not None:
            text = _("Escalation level %(level)s added: %(value)s")
            lines.append(
                ChangeLine("added", text % {"level": level, "value": _level_text(now, lookups)})
            )
        elif now is None and was is not None:
            text = _("Escalation level %(level)s removed: %(value)s")
            lines.append(
                ChangeLine("removed", text % {"level": level, "value": _level_text(was, lookups)})
            )
        elif was is not None and now is not None:
            lines.append(
                ChangeLine(
                    "changed",
                    _("Escalation level %(level)s: %(before)s → %(after)s")
                    % {
                        "level": level,
                        "before": _level_text(was, lookups),
                        "after": _level_text(now, lookups),
                    },
                )
            )
    return lines


# ---------------------------------------------------------------------------- metrics


@login_required
def metric_list(request: HttpRequest) -> HttpResponse:
    _require(request, Action.VIEW_CONFIGURATION)
    statuses, types = dict(WaitingStatus.choices), dict(CaseType.choices)
    rows = list(
        Metric.objects.annotate(policy_count=Count("policytarget__policy", distinct=True)).order_by(
            "-is_builtin", "pk"
        )
    )
    for metric in rows:
        metric.pause_labels = [statuses.get(s, s) for s in metric.pause_statuses]  # type: ignore[attr-defined]
        metric.type_labels = [types.get(t, t) for t in metric.case_types]  # type: ignore[attr-defined]
    return render(
        request,
        "commitments/metrics.html",
        {"metrics": rows, "can_manage": _can_manage(request)},
    )


def _metric_values(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "start_event": data["start_event"],
        "stop_event": data["stop_event"],
        "pause_statuses": data.get("pause_statuses") or [],
        "case_types": data.get("case_types") or [],
    }


@login_required
def metric_create(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    form = MetricForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            metric = services.save_metric(
                actor=user, code=form.cleaned_data["code"], **_metric_values(form.cleaned_data)
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Metric %(name)s created.") % {"name": metric})
            return redirect("commitments:metrics")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "commitments/metric_form.html", {"form": form, "metric": None}, status=status
    )


@login_required
def metric_edit(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    metric = get_object_or_404(Metric, code=code)
    if metric.is_builtin:
        messages.info(request, _("Shipped metrics cannot be changed."))
        return redirect("commitments:metrics")
    initial = {
        "code": metric.code,
        "name": metric.name,
        "start_event": metric.start_event,
        "stop_event": metric.stop_event,
        "pause_statuses": metric.pause_statuses,
        "case_types": metric.case_types,
    }
    form = MetricForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_metric(
                actor=user,
                code=metric.code,
                metric=metric,
                **_metric_values(form.cleaned_data),
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Metric %(name)s saved.") % {"name": metric})
            return redirect("commitments:metrics")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "commitments/metric_form.html", {"form": form, "metric": metric}, status=status
    )
