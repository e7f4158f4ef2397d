"""SLA clocks, breaches and what follows them, read-only; root-cause analyses are written.

A clock measures a subject of any kind (a case, a follow-up…); the subject is shown by
the identifier people know it by (a case's reference), never by a database id. Staff
read everything; a customer contact reads its own organisation's clocks and the breach
notices it was sent.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from assura.commitments.models import Contract
from assura.core.api import (
    InstantFilter,
    ScopedViewSetMixin,
    duration_seconds,
    is_customer_viewer,
)
from assura.core.models import Organisation, Team, User
from assura.core.permissions import Action, can
from assura.sla import services
from assura.sla.models import (
    Breach,
    BreachNotice,
    CauseCategory,
    Clock,
    CompensationEntry,
    Escalation,
    RootCauseAnalysis,
)

# Shown to staff only: a customer contact sees no internal teams or policies.
STAFF_ONLY_CLOCK_FIELDS = ("team", "policy", "policy_version")


def subject_reference(subject: object) -> str | None:
    """How people name the measured record: a case's reference, else its text."""
    if subject is None:
        return None
    return str(getattr(subject, "reference", "") or subject)


def subject_type_of(clock: Clock) -> str:
    kind = clock.subject_type
    return f"{kind.app_label}.{kind.model}"


class ClockSerializer(serializers.ModelSerializer[Clock]):
    subject_type = serializers.SerializerMethodField(help_text="e.g. desk.case")
    subject = serializers.SerializerMethodField(help_text="e.g. the case reference")
    organisation = serializers.SlugRelatedField[Organisation](
        slug_field="code", read_only=True, allow_null=True
    )
    team = serializers.SlugRelatedField[Team](slug_field="code", read_only=True, allow_null=True)
    calendar = serializers.CharField(source="calendar_version.calendar.code", read_only=True)
    calendar_version = serializers.IntegerField(source="calendar_version.number", read_only=True)
    policy = serializers.CharField(
        source="policy_version.policy.code", read_only=True, allow_null=True
    )
    policy_version = serializers.IntegerField(
        source="policy_version.number", read_only=True, allow_null=True
    )
    target_seconds = serializers.SerializerMethodField()
    elapsed_seconds = serializers.SerializerMethodField(
        help_text="Calendar time elapsed as of computed_at."
    )
    paused_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Clock
        fields = [
            "id",
            "subject_type",
            "subject",
            "metric",
            "status",
            "organisation",
            "team",
            "calendar",
            "calendar_version",
            "policy",
            "policy_version",
            "target_seconds",
            "warning_fraction",
            "started_at",
            "paused_since",
            "stopped_at",
            "due_at",
            "warning_at",
            "warned_at",
            "breaches_at",
            "breached_at",
            "met_at",
            "stopped_late",
            "elapsed_seconds",
            "paused_seconds",
            "computed_at",
        ]

    def get_subject_type(self, clock: Clock) -> str:
        return subject_type_of(clock)

    def get_subject(self, clock: Clock) -> str | None:
        return subject_reference(clock.subject)

    def get_target_seconds(self, clock: Clock) -> int:
        return duration_seconds(clock.target) or 0

    def get_elapsed_seconds(self, clock: Clock) -> int:
        return duration_seconds(clock.elapsed) or 0

    def get_paused_seconds(self, clock: Clock) -> int:
        return duration_seconds(clock.paused) or 0

    def to_representation(self, instance: Clock) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if is_customer_viewer(self.context):
            data.update(dict.fromkeys(STAFF_ONLY_CLOCK_FIELDS))
        return data


def clock_rows(queryset: QuerySet[Clock]) -> QuerySet[Clock]:
    """What ClockSerializer reads, in a fixed number of queries."""
    return queryset.select_related(
        "subject_type",
        "organisation",
        "team",
        "calendar_version__calendar",
        "policy_version__policy",
    ).prefetch_related("subject")


class BreachSerializer(serializers.ModelSerializer[Breach]):
    clock = serializers.PrimaryKeyRelatedField[Clock](read_only=True)
    subject_type = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    organisation = serializers.CharField(
        source="clock.organisation.code", read_only=True, allow_null=True
    )
    target_seconds = serializers.SerializerMethodField()
    over_by_seconds = serializers.SerializerMethodField(
        help_text="How far past the target the clock ended; null while it still runs."
    )
    rca = serializers.SerializerMethodField(help_text="Id of its root-cause analysis, if any.")

    class Meta:
        model = Breach
        fields = [
            "id",
            "clock",
            "subject_type",
            "subject",
            "organisation",
            "metric",
            "target_seconds",
            "breached_at",
            "recorded_at",
            "over_by_seconds",
            "withdrawn_at",
            "withdrawn_reason",
            "historical",
            "rca",
        ]
        read_only_fields = ["historical"]

    def get_subject_type(self, breach: Breach) -> str:
        return subject_type_of(breach.clock)

    def get_subject(self, breach: Breach) -> str | None:
        return subject_reference(breach.clock.subject)

    def get_target_seconds(self, breach: Breach) -> int:
        return duration_seconds(breach.target) or 0

    def get_over_by_seconds(self, breach: Breach) -> int | None:
        clock = breach.clock
        if clock.status in ("running", "paused", "not_started"):
            return None
        return max(0, int((clock.elapsed - clock.target).total_seconds()))

    def get_rca(self, breach: Breach) -> int | None:
        rca = getattr(breach, "rca", None)
        return rca.pk if rca is not None else None


def breach_rows(queryset: QuerySet[Breach]) -> QuerySet[Breach]:
    return queryset.select_related(
        "clock__subject_type", "clock__organisation", "rca"
    ).prefetch_related("clock__subject")


class CauseCategorySerializer(serializers.ModelSerializer[CauseCategory]):
    name = serializers.SerializerMethodField()

    class Meta:
        model = CauseCategory
        fields = ["code", "name", "is_active", "position"]

    def get_name(self, category: CauseCategory) -> str:
        return str(category)


class RootCauseSerializer(serializers.ModelSerializer[RootCauseAnalysis]):
    breach = serializers.PrimaryKeyRelatedField[Breach](read_only=True)
    metric = serializers.CharField(source="breach.metric", read_only=True)
    subject = serializers.SerializerMethodField()
    category = serializers.SlugRelatedField[CauseCategory](slug_field="code", read_only=True)
    author = serializers.SlugRelatedField[User](slug_field="username", read_only=True)

    class Meta:
        model = RootCauseAnalysis
        fields = [
            "id",
            "breach",
            "metric",
            "subject",
            "category",
            "description",
            "corrective_action",
            "improvement_reference",
            "author",
            "created_at",
            "updated_at",
        ]

    def get_subject(self, rca: RootCauseAnalysis) -> str | None:
        return subject_reference(rca.breach.clock.subject)


class RootCauseInputSerializer(serializers.Serializer[Any]):
    breach = serializers.IntegerField(min_value=1, help_text="Id of the breach")
    category = serializers.CharField(max_length=32, help_text="Cause category code")
    description = serializers.CharField(max_length=10000, help_text="What happened")
    corrective_action = serializers.CharField(
        max_length=10000, help_text="What changes so it does not happen again"
    )
    improvement_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


class EscalationSerializer(serializers.ModelSerializer[Escalation]):
    clock = serializers.PrimaryKeyRelatedField[Clock](read_only=True)
    subject = serializers.SerializerMethodField()
    metric = serializers.CharField(source="clock.metric", read_only=True)
    offset = serializers.FloatField(read_only=True)
    recipients = serializers.ListField(child=serializers.CharField(), read_only=True)
    notified = serializers.SerializerMethodField(help_text="Usernames of the people notified.")

    class Meta:
        model = Escalation
        fields = [
            "id",
            "clock",
            "subject",
            "metric",
            "level",
            "offset",
            "recipients",
            "expedite",
            "raise_priority_to",
            "planned_at",
            "fired_at",
            "notified",
        ]

    def get_subject(self, escalation: Escalation) -> str | None:
        return subject_reference(escalation.clock.subject)

    def get_notified(self, escalation: Escalation) -> list[str]:
        people = self.context.setdefault("_usernames", {})
        wanted = [pk for pk in escalation.notified or [] if isinstance(pk, int)]
        missing = [pk for pk in wanted if pk not in people]
        if missing:
            people.update(User.objects.filter(pk__in=missing).values_list("pk", "username"))
        return [people[pk] for pk in wanted if pk in people]


class BreachNoticeSerializer(serializers.ModelSerializer[BreachNotice]):
    breach = serializers.PrimaryKeyRelatedField[Breach](read_only=True)
    subject = serializers.SerializerMethodField(help_text="The record the breach is about")
    metric = serializers.CharField(source="breach.metric", read_only=True)
    recipient = serializers.SerializerMethodField()
    email_subject = serializers.CharField(source="subject", read_only=True)

    class Meta:
        model = BreachNotice
        fields = [
            "id",
            "breach",
            "subject",
            "metric",
            "recipient",
            "language",
            "reason",
            "email_subject",
            "body",
            "send_at",
            "sent_at",
            "corrections",
            "created_at",
        ]

    def get_subject(self, notice: BreachNotice) -> str | None:
        return subject_reference(notice.breach.clock.subject)

    def get_recipient(self, notice: BreachNotice) -> str | None:
        return notice.recipient.username if notice.recipient else None


class CompensationEntrySerializer(serializers.ModelSerializer[CompensationEntry]):
    breach = serializers.PrimaryKeyRelatedField[Breach](read_only=True)
    contract = serializers.SlugRelatedField[Contract](slug_field="code", read_only=True)
    decided_by = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = CompensationEntry
        fields = [
            "id",
            "breach",
            "contract",
            "metric",
            "month",
            "amount",
            "uncapped_amount",
            "capped",
            "currency",
            "status",
            "decided_by",
            "decided_at",
            "reason",
            "created_at",
        ]


# ------------------------------------------------------------------------ filters


class ClockFilter(filters.FilterSet):
    organisation = filters.CharFilter(field_name="organisation__code", help_text="Customer code")
    team = filters.CharFilter(field_name="team__code", help_text="Team code")
    breached = filters.BooleanFilter(field_name="breached_at", lookup_expr="isnull", exclude=True)
    due_after = InstantFilter(field_name="due_at", lookup_expr="gte")
    due_before = InstantFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Clock
        fields = ["metric", "status", "organisation", "team", "breached", "due_after", "due_before"]


class BreachFilter(filters.FilterSet):
    organisation = filters.CharFilter(
        field_name="clock__organisation__code", help_text="Customer code"
    )
    withdrawn = filters.BooleanFilter(field_name="withdrawn_at", lookup_expr="isnull", exclude=True)
    has_rca = filters.BooleanFilter(field_name="rca", lookup_expr="isnull", exclude=True)
    after = InstantFilter(field_name="breached_at", lookup_expr="gte")
    before = InstantFilter(field_name="breached_at", lookup_expr="lt")

    class Meta:
        model = Breach
        fields = ["metric", "organisation", "withdrawn", "has_rca", "historical", "after", "before"]


class CompensationFilter(filters.FilterSet):
    contract = filters.CharFilter(field_name="contract__code", help_text="Contract code")
    month = filters.DateFilter(help_text="First day of the month, e.g. 2026-03-01")

    class Meta:
        model = CompensationEntry
        fields = ["contract", "status", "month", "capped"]


# ------------------------------------------------------------------------ viewsets


class ClockViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Clock]):
    """SLA clocks: one metric of one record against its target on its calendar."""

    model = Clock
    serializer_class = ClockSerializer
    default_action_permission = Action.VIEW_CLOCKS
    filterset_class = ClockFilter
    ordering_fields = ["due_at", "started_at", "breached_at"]

    def scoped_queryset(self, user: User) -> QuerySet[Clock]:
        return clock_rows(Clock.objects.visible_to(user)).order_by("due_at", "pk")


class BreachViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Breach]):
    """Broken promises: when, which record, which metric, by how much (staff)."""

    model = Breach
    serializer_class = BreachSerializer
    default_action_permission = Action.VIEW_BREACHES
    filterset_class = BreachFilter
    ordering_fields = ["breached_at", "recorded_at"]

    def scoped_queryset(self, user: User) -> QuerySet[Breach]:
        return breach_rows(Breach.objects.visible_to(user)).order_by("-breached_at", "-pk")


class CauseCategoryViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[CauseCategory]):
    """Root-cause categories an analysis chooses from (staff)."""

    model = CauseCategory
    serializer_class = CauseCategorySerializer
    default_action_permission = Action.VIEW_BREACHES
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["is_active"]
    ordering_fields = ["position", "code"]

    def scoped_queryset(self, user: User) -> QuerySet[CauseCategory]:
        return CauseCategory.objects.order_by("position", "name", "pk")


class RootCauseViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[RootCauseAnalysis],
):
    """Root-cause analyses of breaches; POST writes (or revises) one."""

    model = RootCauseAnalysis
    serializer_class = RootCauseSerializer
    default_action_permission = Action.VIEW_BREACHES
    action_permissions = {"create": Action.WORK_CASES}
    filterset_fields = ["breach"]
    ordering_fields = ["created_at", "updated_at"]

    def scoped_queryset(self, user: User) -> QuerySet[RootCauseAnalysis]:
        return (
            RootCauseAnalysis.objects.filter(breach__in=Breach.objects.visible_to(user))
            .select_related("breach__clock__subject_type", "category", "author")
            .prefetch_related("breach__clock__subject")
            .order_by("-created_at", "-pk")
        )

    @extend_schema(
        request=RootCauseInputSerializer,
        responses={201: RootCauseSerializer, 200: RootCauseSerializer},
        description="Write the analysis of a breach (201), or revise the one it has (200).",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = RootCauseInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        breach = (
            Breach.objects.visible_to(request.user)
            .select_related("clock")
            .filter(pk=data["breach"])
            .first()
        )
        category = CauseCategory.objects.filter(code=data["category"]).first()
        errors = {}
        if breach is None:
            errors["breach"] = [
                serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"].format(
                    pk_value=data["breach"]
                )
            ]
        if category is None:
            errors["category"] = [
                serializers.SlugRelatedField.default_error_messages["does_not_exist"].format(
                    slug_name="code", value=data["category"]
                )
            ]
        if errors:
            raise serializers.ValidationError(errors)
        existed = RootCauseAnalysis.objects.filter(breach=breach).exists()
        rca = services.write_root_cause(
            actor=request.user,
            breach=breach,
            category=category,
            description=data["description"],
            corrective_action=data["corrective_action"],
            improvement_reference=data["improvement_reference"],
        )
        rca = self.get_queryset().get(pk=rca.pk)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(self.get_serializer(rca).data, status=code)


class EscalationViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Escalation]):
    """Escalation levels planned and fired per clock (staff)."""

    model = Escalation
    serializer_class = EscalationSerializer
    default_action_permission = Action.VIEW_BREACHES
    filterset_fields = ["level", "expedite"]
    ordering_fields = ["planned_at", "fired_at", "level"]

    def scoped_queryset(self, user: User) -> QuerySet[Escalation]:
        return (
            Escalation.objects.filter(clock__in=Clock.objects.visible_to(user))
            .select_related("clock")
            .prefetch_related("clock__subject")
            .order_by("-planned_at", "-pk")
        )


class BreachNoticeViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[BreachNotice]):
    """What customers were told about breaches (a customer reads those sent to it)."""

    model = BreachNotice
    serializer_class = BreachNoticeSerializer
    default_action_permission = Action.VIEW_CASES
    filterset_fields = ["language"]
    ordering_fields = ["send_at", "sent_at", "created_at"]

    def scoped_queryset(self, user: User) -> QuerySet[BreachNotice]:
        notices = BreachNotice.objects.filter(breach__in=Breach.objects.visible_to(user))
        if not can(user, Action.VIEW_BREACHES):
            notices = notices.filter(sent_at__isnull=False)
        return (
            notices.select_related("breach__clock", "recipient")
            .prefetch_related("breach__clock__subject")
            .order_by("-created_at", "-pk")
        )


class CompensationEntryViewSet(
    ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[CompensationEntry]
):
    """The credit ledger: what each breach costs under its contract."""

    model = CompensationEntry
    serializer_class = CompensationEntrySerializer
    default_action_permission = Action.VIEW_COMPENSATION
    filterset_class = CompensationFilter
    ordering_fields = ["month", "created_at", "amount"]

    def scoped_queryset(self, user: User) -> QuerySet[CompensationEntry]:
        return (
            CompensationEntry.objects.visible_to(user)
            .select_related("contract", "decided_by")
            .order_by("-month", "-created_at", "-pk")
        )
