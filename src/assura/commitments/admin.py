"""Administration pages for commitments: a no-code way to edit them for superusers.

The quality manager's own editor lives in the web app; whatever is saved here is
published as a new policy version exactly as the editor would.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assura.commitments import services
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


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin[Service]):
    list_display = ["code", "name", "is_active"]
    search_fields = ["code", "name"]


class CompensationRuleInline(admin.TabularInline[CompensationRule, Contract]):
    model = CompensationRule
    extra = 1


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin[Contract]):
    list_display = ["code", "name", "customer", "monthly_fee", "currency", "starts_on", "ends_on"]
    list_filter = ["customer", "is_active"]
    filter_horizontal = ["services"]
    inlines = [CompensationRuleInline]


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin[Metric]):
    list_display = ["code", "name", "start_event", "stop_event", "is_builtin"]


class PolicyTargetInline(admin.TabularInline[PolicyTarget, Policy]):
    model = PolicyTarget
    extra = 1


class EscalationLevelInline(admin.TabularInline[EscalationLevel, Policy]):
    model = EscalationLevel
    extra = 0


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin[Policy]):
    list_display = ["name", "code", "position", "is_default", "is_active", "current_version"]
    filter_horizontal = ["customers", "contracts", "services"]
    readonly_fields = ["current_version"]
    inlines = [PolicyTargetInline, EscalationLevelInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Publish after the inlines are saved, so the version holds the new targets."""
        super().save_related(request, form, formsets, change)
        services.publish_policy(
            actor=request.user,
            policy=form.instance,  # type: ignore[arg-type]
            reason="admin",
        )


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin[PolicyVersion]):
    list_display = ["policy", "number", "created_at", "created_by", "reason"]
    readonly_fields = ["policy", "number", "definition", "created_at", "created_by", "reason"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
