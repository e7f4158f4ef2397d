"""What was promised, read-only: services, contracts, metrics and SLA policies.

Records are addressed by their code. Contracts follow the customer scope (a customer
contact reads its own organisation's contracts); the rest is provider configuration,
read by staff.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assura.calendars.models import Calendar
from assura.commitments.models import (
    Contract,
    EscalationLevel,
    Metric,
    Policy,
    PolicyTarget,
    PolicyVersion,
    Service,
)
from assura.core.api import ScopedViewSetMixin, duration_seconds
from assura.core.models import Organisation, User
from assura.core.permissions import Action


class ServiceSerializer(serializers.ModelSerializer[Service]):
    class Meta:
        model = Service
        fields = ["code", "name", "description", "is_active"]


class ContractSerializer(serializers.ModelSerializer[Contract]):
    customer = serializers.SlugRelatedField[Organisation](slug_field="code", read_only=True)
    services = serializers.SlugRelatedField[Service](slug_field="code", many=True, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "code",
            "name",
            "customer",
            "services",
            "monthly_fee",
            "currency",
            "starts_on",
            "ends_on",
            "compensation_cap",
            "is_active",
        ]


class MetricSerializer(serializers.ModelSerializer[Metric]):
    name = serializers.SerializerMethodField()
    pause_statuses = serializers.ListField(child=serializers.CharField(), read_only=True)
    case_types = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Metric
        fields = ["code", "name", "start_event", "stop_event", "pause_statuses", "case_types"]

    def get_name(self, metric: Metric) -> str:
        return str(metric)


class PolicyTargetSerializer(serializers.ModelSerializer[PolicyTarget]):
    metric = serializers.SlugRelatedField[Metric](slug_field="code", read_only=True)
    calendar = serializers.SlugRelatedField[Calendar](slug_field="code", read_only=True)
    target_seconds = serializers.SerializerMethodField()
    warning_fraction = serializers.FloatField(read_only=True)

    class Meta:
        model = PolicyTarget
        fields = ["metric", "priority", "target_seconds", "calendar", "warning_fraction"]

    def get_target_seconds(self, target: PolicyTarget) -> int:
        return duration_seconds(target.target) or 0


class EscalationLevelSerializer(serializers.ModelSerializer[EscalationLevel]):
    offset = serializers.FloatField(
        read_only=True, help_text="Fraction of the target relative to the due instant."
    )
    recipients = serializers.ListField(child=serializers.CharField(), read_only=True)
    people = serializers.SlugRelatedField[User](slug_field="username", many=True, read_only=True)

    class Meta:
        model = EscalationLevel
        fields = ["level", "offset", "recipients", "people", "expedite", "raise_priority_to"]


class ConditionsSerializer(serializers.Serializer[Any]):
    customers = serializers.ListField(child=serializers.CharField(), help_text="codes")
    contracts = serializers.ListField(child=serializers.CharField(), help_text="codes")
    services = serializers.ListField(child=serializers.CharField(), help_text="codes")
    channels = serializers.ListField(child=serializers.CharField())
    case_types = serializers.ListField(child=serializers.CharField())
    priorities = serializers.ListField(child=serializers.CharField())


class PolicySerializer(serializers.ModelSerializer[Policy]):
    version = serializers.IntegerField(
        source="current_version.number", read_only=True, allow_null=True
    )
    conditions = serializers.SerializerMethodField()
    targets = PolicyTargetSerializer(many=True, read_only=True)
    escalations = EscalationLevelSerializer(many=True, read_only=True)

    class Meta:
        model = Policy
        fields = [
            "code",
            "name",
            "description",
            "position",
            "is_default",
            "is_active",
            "version",
            "conditions",
            "targets",
            "escalations",
        ]

    @extend_schema_field(ConditionsSerializer)
    def get_conditions(self, policy: Policy) -> dict[str, list[str]]:
        return {
            "customers": [o.code for o in policy.customers.all()],
            "contracts": [c.code for c in policy.contracts.all()],
            "services": [s.code for s in policy.services.all()],
            "channels": list(policy.channels),
            "case_types": list(policy.case_types),
            "priorities": list(policy.priorities),
        }


class PolicyVersionSerializer(serializers.ModelSerializer[PolicyVersion]):
    created_by = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    definition = serializers.SerializerMethodField()

    class Meta:
        model = PolicyVersion
        fields = ["number", "created_at", "created_by", "reason", "definition"]

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": True,
            "description": "The policy as frozen: conditions, targets and escalation levels.",
        }
    )
    def get_definition(self, version: PolicyVersion) -> dict[str, Any]:
        return dict(version.definition)


# ------------------------------------------------------------------------ viewsets


class ServiceViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Service]):
    """The service catalogue (staff)."""

    model = Service
    serializer_class = ServiceSerializer
    default_action_permission = Action.VIEW_CONFIGURATION
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["is_active"]
    ordering_fields = ["name", "code"]

    def scoped_queryset(self, user: User) -> QuerySet[Service]:
        return Service.objects.order_by("name", "pk")


class ContractFilter(filters.FilterSet):
    customer = filters.CharFilter(field_name="customer__code", help_text="Customer code")
    service = filters.CharFilter(
        field_name="services__code", help_text="Service code", distinct=True
    )

    class Meta:
        model = Contract
        fields = ["customer", "service", "is_active"]


class ContractViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Contract]):
    """Contracts (a customer contact reads its own organisation's)."""

    model = Contract
    serializer_class = ContractSerializer
    default_action_permission = Action.VIEW_ORGANISATIONS
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_class = ContractFilter
    ordering_fields = ["code", "starts_on", "monthly_fee"]

    def scoped_queryset(self, user: User) -> QuerySet[Contract]:
        return (
            Contract.objects.visible_to(user)
            .select_related("customer")
            .prefetch_related("services")
            .order_by("customer__name", "code", "pk")
        )


class MetricViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Metric]):
    """Measured commitments: where each clock starts, stops and pauses (staff)."""

    model = Metric
    serializer_class = MetricSerializer
    default_action_permission = Action.VIEW_CONFIGURATION
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    ordering_fields = ["code"]

    def scoped_queryset(self, user: User) -> QuerySet[Metric]:
        return Metric.objects.order_by("pk")


class PolicyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Policy]):
    """SLA policies in the order they are tried, with targets and escalation levels (staff)."""

    model = Policy
    serializer_class = PolicySerializer
    default_action_permission = Action.VIEW_CONFIGURATION
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["is_active", "is_default"]
    ordering_fields = ["position", "code", "name"]

    def scoped_queryset(self, user: User) -> QuerySet[Policy]:
        return (
            Policy.objects.select_related("current_version")
            .prefetch_related(
                "customers",
                "contracts",
                "services",
                "targets__metric",
                "targets__calendar",
                "escalations__people",
            )
            .order_by("is_default", "position", "pk")
        )

    @extend_schema(responses={200: PolicyVersionSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, code: str | None = None) -> Response:
        """Every published version of the policy, newest first."""
        policy = self.get_object()
        versions = policy.versions.select_related("created_by").order_by("-number")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(PolicyVersionSerializer(page, many=True).data)
