"""Cases over the API: list and read with filters, create idempotently, act through services.

A case is addressed by its reference (C-2026-000123). Every write calls a function of
`desk.services`, which checks the permission and the object rules (a customer contact
acts on its organisation's cases only; an agent changes only its team's), records the
activity and the audit entry, and tells the clocks.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assura.commitments.models import CaseType, Channel, Contract, Priority, Service
from assura.core.api import (
    CodeField,
    InstantFilter,
    ScopedViewSetMixin,
    viewer,
)
from assura.core.models import Organisation, Team, User
from assura.core.permissions import Action
from assura.desk import services
from assura.desk.models import Attachment, Case, Message, MessageKind, Status
from assura.sla.api import BreachSerializer, ClockSerializer, breach_rows, clock_rows
from assura.sla.models import Breach, Clock

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"
    default_detail = "This Idempotency-Key was used with another request body."


# ------------------------------------------------------------------------ serializers


class CaseSerializer(serializers.ModelSerializer[Case]):
    organisation = serializers.SlugRelatedField[Organisation](slug_field="code", read_only=True)
    contact = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    service = serializers.SlugRelatedField[Service](
        slug_field="code", read_only=True, allow_null=True
    )
    contract = serializers.SlugRelatedField[Contract](
        slug_field="code", read_only=True, allow_null=True
    )
    policy = serializers.CharField(
        source="policy_version.policy.code", read_only=True, allow_null=True
    )
    policy_version = serializers.IntegerField(
        source="policy_version.number", read_only=True, allow_null=True
    )
    team = serializers.SlugRelatedField[Team](slug_field="code", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    first_contact_owner = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    merged_into = serializers.SlugRelatedField[Case](
        slug_field="reference", read_only=True, allow_null=True
    )
    breached = serializers.SerializerMethodField(
        help_text="Whether a promise on the case is broken (a standing breach)."
    )

    class Meta:
        model = Case
        fields = [
            "reference",
            "case_type",
            "priority",
            "status",
            "channel",
            "subject",
            "description",
            "organisation",
            "contact",
            "service",
            "contract",
            "policy",
            "policy_version",
            "team",
            "assignee",
            "first_contact_owner",
            "is_complex",
            "expedited_at",
            "classified_at",
            "first_reply_at",
            "resolved_at",
            "closed_at",
            "reopen_count",
            "merged_into",
            "breached",
            "created_at",
            "updated_at",
        ]

    def get_breached(self, case: Case) -> bool:
        known = getattr(case, "is_breached", None)
        if known is not None:
            return bool(known)
        return standing_breaches(Case.objects.filter(pk=case.pk)).exists()


class Withheld(serializers.Field[Any, Any, Any, Any]):
    """A field shown as null without being read (what a customer contact may not see)."""

    def __init__(self) -> None:
        super().__init__(read_only=True)

    def get_attribute(self, instance: Any) -> None:
        return None

    def to_representation(self, value: Any) -> None:  # pragma: no cover - never reached
        return None


class CustomerCaseSerializer(CaseSerializer):
    """A case as a customer contact reads it: no internal teams, staff, policies."""

    team = Withheld()
    assignee = Withheld()
    first_contact_owner = Withheld()
    policy = Withheld()
    policy_version = Withheld()
    expedited_at = Withheld()


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    class Meta:
        model = Attachment
        fields = ["name", "content_type", "size", "sha256"]


class MessageSerializer(serializers.ModelSerializer[Message]):
    author = serializers.SerializerMethodField(
        help_text="Username of the author (null for staff when a customer reads)."
    )
    author_name = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "kind",
            "author",
            "author_name",
            "body",
            "channel",
            "created_at",
            "attachments",
        ]

    def get_author(self, message: Message) -> str | None:
        author = message.author
        if author is None:
            return None
        reader = viewer(self.context)
        if (reader is None or reader.is_customer) and author.is_staff_member:
            return None
        return author.username

    def get_author_name(self, message: Message) -> str | None:
        return str(message.author) if message.author else None


def _related(queryset: QuerySet[Any], slug_field: str, help_text: str) -> CodeField:
    return CodeField(
        slug_field=slug_field,
        queryset=queryset,
        required=False,
        allow_null=True,
        help_text=help_text,
    )


def services_for(user: User) -> QuerySet[Service]:
    """Staff name any service; a customer contact those its organisation's contracts cover."""
    if user.is_staff_member:
        return Service.objects.all()
    return Service.objects.filter(contract__in=Contract.objects.visible_to(user)).distinct()


class ScopedInputSerializer(serializers.Serializer[Any]):
    """Input whose related codes resolve only to records the caller may see."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = viewer(self.context)
        if user is None:
            return
        scopes = {
            "organisation": Organisation.objects.visible_to(user).customers(),
            "contact": User.objects.visible_to(user).filter(is_active=True),
            "assignee": User.objects.visible_to(user).filter(is_active=True),
            "service": services_for(user),
            "team": Team.objects.visible_to(user),
        }
        for name, queryset in scopes.items():
            field = self.fields.get(name)
            if isinstance(field, serializers.SlugRelatedField):
                field.queryset = queryset


class CaseCreateSerializer(ScopedInputSerializer):
    organisation = _related(
        Organisation.objects.none(),
        "code",
        "Customer code. Required for staff; a customer contact's own organisation by default.",
    )
    case_type = serializers.ChoiceField(choices=CaseType.choices)
    subject = serializers.CharField(max_length=300)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100_000
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        default=Channel.API,
        help_text="How the case came in (staff logging a phone call say phone). Always api "
        "for a customer contact.",
    )
    contact = _related(User.objects.none(), "username", "Username of the customer contact")
    service = _related(Service.objects.none(), "code", "Service code")
    team = _related(Team.objects.none(), "code", "Team code (staff)")
    assignee = _related(User.objects.none(), "username", "Username of the assignee (staff)")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = viewer(self.context)
        if user is not None and user.is_customer:
            attrs["organisation"] = attrs.get("organisation") or user.organisation
            attrs["channel"] = Channel.API
        elif attrs.get("organisation") is None:
            raise serializers.ValidationError(
                {"organisation": [serializers.Field.default_error_messages["required"]]}
            )
        return attrs


class BodySerializer(serializers.Serializer[Any]):
    body = serializers.CharField(max_length=100_000)


class StatusSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=Status.choices)


class PrioritySerializer(serializers.Serializer[Any]):
    priority = serializers.ChoiceField(choices=Priority.choices)


class ClassifySerializer(serializers.Serializer[Any]):
    case_type = serializers.ChoiceField(choices=CaseType.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)


class AssignSerializer(ScopedInputSerializer):
    team = _related(Team.objects.none(), "code", "Team code; empty keeps the case's team")
    assignee = _related(User.objects.none(), "username", "Username; null leaves it unassigned")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


# ------------------------------------------------------------------------ filters


def standing_breaches(cases: QuerySet[Case]) -> QuerySet[Breach]:
    """Standing breaches of the cases' clocks (withdrawn ones do not count)."""
    return Breach.objects.filter(
        clock__subject_type=ContentType.objects.get_for_model(Case),
        clock__subject_id__in=cases.values("pk"),
        withdrawn_at__isnull=True,
    )


def with_breached_flag(cases: QuerySet[Case]) -> QuerySet[Case]:
    standing = Breach.objects.filter(
        clock__subject_type=ContentType.objects.get_for_model(Case),
        clock__subject_id=OuterRef("pk"),
        withdrawn_at__isnull=True,
    )
    return cases.annotate(is_breached=Exists(standing))


class CaseFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Status.choices)
    case_type = filters.MultipleChoiceFilter(choices=CaseType.choices)
    priority = filters.MultipleChoiceFilter(choices=Priority.choices)
    channel = filters.MultipleChoiceFilter(choices=Channel.choices)
    organisation = filters.CharFilter(field_name="organisation__code", help_text="Customer code")
    service = filters.CharFilter(field_name="service__code", help_text="Service code")
    contact = filters.CharFilter(field_name="contact__username", help_text="Contact's username")
    team = filters.CharFilter(method="staff_only", help_text="Team code (staff)")
    assignee = filters.CharFilter(method="staff_only", help_text="Assignee's username (staff)")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")
    breached = filters.BooleanFilter(
        field_name="is_breached", help_text="With (true) or without (false) a standing breach"
    )
    open = filters.BooleanFilter(method="filter_open", help_text="Not yet resolved or closed")

    class Meta:
        model = Case
        fields = [
            "status",
            "case_type",
            "priority",
            "channel",
            "organisation",
            "service",
            "contact",
            "team",
            "assignee",
            "created_after",
            "created_before",
            "breached",
            "open",
        ]

    def staff_only(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        """Filters on internal teams and staff are ignored for a customer contact."""
        user = getattr(self.request, "user", None)
        if not isinstance(user, User) or user.is_customer:
            return queryset
        lookup = {"team": "team__code", "assignee": "assignee__username"}[name]
        return queryset.filter(**{lookup: value})

    def filter_open(self, queryset: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        closed = (Status.RESOLVED, Status.CLOSED)
        return queryset.exclude(status__in=closed) if value else queryset.filter(status__in=closed)


# ------------------------------------------------------------------------ the viewset

CASE_ACTIONS = {
    "list": Action.VIEW_CASES,
    "retrieve": Action.VIEW_CASES,
    "messages": Action.VIEW_CASES,
    "clocks": Action.VIEW_CLOCKS,
    "breaches": Action.VIEW_BREACHES,
    "create": Action.CREATE_CASES,
    "reply": Action.CREATE_CASES,
    "close": Action.CREATE_CASES,
    "reopen": Action.CREATE_CASES,
    "note": Action.WORK_CASES,
    "set_status": Action.WORK_CASES,
    "set_priority": Action.WORK_CASES,
    "assign": Action.WORK_CASES,
    "classify": Action.WORK_CASES,
    "resolve": Action.WORK_CASES,
}

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[\x21-\x7e]+$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe creation: a repeated key with the same body answers 200 with the "
    "case made the first time; with another body, 409. Keys are per person.",
)


class CaseViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Case],
):
    """Cases (工单): a customer contact sees its organisation's only."""

    model = Case
    serializer_class = CaseSerializer
    default_action_permission = Action.VIEW_CASES
    action_permissions = CASE_ACTIONS
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"
    filterset_class = CaseFilter
    ordering_fields = ["created_at", "updated_at", "reference", "priority", "status"]
    ordering = ["-created_at", "-pk"]

    def scoped_queryset(self, user: User) -> QuerySet[Case]:
        related = ["organisation", "contact", "service", "contract", "merged_into"]
        if not user.is_customer:
            related += ["policy_version__policy", "team", "assignee", "first_contact_owner"]
        cases = Case.objects.visible_to(user).select_related(*related)
        return with_breached_flag(cases).order_by("-created_at", "-pk")

    def get_serializer_class(self) -> type[CaseSerializer]:
        if getattr(getattr(self.request, "user", None), "is_customer", False):
            return CustomerCaseSerializer
        return CaseSerializer

    def _answer(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        """The case as a service left it; whether it is breached is asked again."""
        case.__dict__.pop("is_breached", None)
        return Response(self.get_serializer(case).data, status=code)

    # ---------------------------------------------------------------- create

    @extend_schema(
        request=CaseCreateSerializer,
        responses={201: CaseSerializer, 200: CaseSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        description="Open a case. With an Idempotency-Key, a retry returns the same case (200).",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user: User = request.user
        stored_key = self._idempotency_key(request)
        if stored_key is not None:
            prefix = stored_key.rpartition(":")[0] + ":"
            earlier = Case.objects.filter(idempotency_key__startswith=prefix).first()
            if earlier is not None:
                if earlier.idempotency_key != stored_key:
                    raise IdempotencyConflict(
                        _("This Idempotency-Key was used with another request body.")
                    )
                return self._answer(earlier)
        incoming = CaseCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        case = services.open_case(actor=user, idempotency_key=stored_key, **incoming.validated_data)
        # Opened just now (or a moment ago, by a retry racing this one), so its clocks
        # started now with targets longer than zero: none of them can be breached yet.
        case.is_breached = False  # type: ignore[attr-defined]
        response = Response(self.get_serializer(case).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path.rstrip('/')}/{case.reference}/"
        return response

    def _idempotency_key(self, request: Request) -> str | None:
        """The key as stored: per person, with a digest of the body it came with."""
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return None
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise serializers.ValidationError(
                {
                    IDEMPOTENCY_HEADER: [
                        _("Use 1-200 visible ASCII characters for the Idempotency-Key.")
                    ]
                }
            )
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
        key_digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        body_digest = hashlib.sha256(body.encode()).hexdigest()[:32]
        return f"api:{request.user.pk}:{key_digest}:{body_digest}"

    # ---------------------------------------------------------------- reads

    @extend_schema(responses={200: MessageSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"])
    def messages(self, request: Request, reference: str | None = None) -> Response:
        """The case's messages, oldest first (a customer contact sees no internal notes)."""
        case = self.get_object()
        messages = (
            case.messages.select_related("author")
            .prefetch_related("attachments")
            .order_by("created_at", "pk")
        )
        if request.user.is_customer:
            messages = messages.exclude(kind=MessageKind.NOTE)
        page = self.paginate_queryset(messages)
        serializer = MessageSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @extend_schema(responses={200: ClockSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None)
    def clocks(self, request: Request, reference: str | None = None) -> Response:
        """The case's SLA clocks, one per metric."""
        case = self.get_object()
        clocks = clock_rows(
            Clock.objects.visible_to(request.user).filter(
                subject_type=ContentType.objects.get_for_model(Case), subject_id=case.pk
            )
        ).order_by("pk")
        context = self.get_serializer_context()
        return Response(ClockSerializer(clocks, many=True, context=context).data)

    @extend_schema(responses={200: BreachSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None)
    def breaches(self, request: Request, reference: str | None = None) -> Response:
        """The case's breaches, withdrawn ones included (staff)."""
        case = self.get_object()
        breaches = breach_rows(
            Breach.objects.visible_to(request.user).filter(
                clock__subject_type=ContentType.objects.get_for_model(Case),
                clock__subject_id=case.pk,
            )
        ).order_by("breached_at", "pk")
        context = self.get_serializer_context()
        return Response(BreachSerializer(breaches, many=True, context=context).data)

    # ---------------------------------------------------------------- actions

    def _input(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        incoming = serializer_class(data=self.request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        return dict(incoming.validated_data)

    @extend_schema(request=BodySerializer, responses={201: MessageSerializer}, filters=False)
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, reference: str | None = None) -> Response:
        """A public message: staff reply to the customer, or the customer writes."""
        case = self.get_object()
        message = services.reply(
            actor=request.user, case=case, body=self._input(BodySerializer)["body"]
        )
        serializer = MessageSerializer(message, context=self.get_serializer_context())
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BodySerializer, responses={201: MessageSerializer}, filters=False)
    @action(detail=True, methods=["post"])
    def note(self, request: Request, reference: str | None = None) -> Response:
        """An internal note, never shown to the customer (staff)."""
        case = self.get_object()
        message = services.add_note(
            actor=request.user, case=case, body=self._input(BodySerializer)["body"]
        )
        serializer = MessageSerializer(message, context=self.get_serializer_context())
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StatusSerializer, responses={200: CaseSerializer}, filters=False)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, reference: str | None = None) -> Response:
        """Move the case to another status (resolved and closed follow their own rules)."""
        case = self.get_object()
        data = self._input(StatusSerializer)
        return self._answer(
            services.change_status(actor=request.user, case=case, status=data["status"])
        )

    @extend_schema(request=PrioritySerializer, responses={200: CaseSerializer}, filters=False)
    @action(detail=True, methods=["post"], url_path="priority")
    def set_priority(self, request: Request, reference: str | None = None) -> Response:
        """Change the priority: the policy is chosen again and the clocks retargeted."""
        case = self.get_object()
        data = self._input(PrioritySerializer)
        return self._answer(
            services.change_priority(actor=request.user, case=case, priority=data["priority"])
        )

    @extend_schema(request=AssignSerializer, responses={200: CaseSerializer}, filters=False)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, reference: str | None = None) -> Response:
        """Give the case to a team and/or a person."""
        case = self.get_object()
        data = self._input(AssignSerializer)
        return self._answer(
            services.assign(
                actor=request.user,
                case=case,
                team=data.get("team"),
                assignee=data.get("assignee"),
                note=data["note"],
            )
        )

    @extend_schema(request=ClassifySerializer, responses={200: CaseSerializer}, filters=False)
    @action(detail=True, methods=["post"])
    def classify(self, request: Request, reference: str | None = None) -> Response:
        """Confirm type and priority (stops the classification clock)."""
        case = self.get_object()
        data = self._input(ClassifySerializer)
        return self._answer(
            services.classify(
                actor=request.user,
                case=case,
                case_type=data["case_type"],
                priority=data["priority"],
            )
        )

    @extend_schema(request=None, responses={200: CaseSerializer}, filters=False)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, reference: str | None = None) -> Response:
        """Mark the case resolved (stops the resolution clock)."""
        case = self.get_object()
        return self._answer(services.resolve(actor=request.user, case=case))

    @extend_schema(request=None, responses={200: CaseSerializer}, filters=False)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, reference: str | None = None) -> Response:
        """Close a resolved case (a customer contact confirms it); every breach needs its RCA."""
        case = self.get_object()
        return self._answer(services.close(actor=request.user, case=case))

    @extend_schema(request=ReopenSerializer, responses={200: CaseSerializer}, filters=False)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, reference: str | None = None) -> Response:
        """Reopen a resolved or closed case within the reopen window (二次解决)."""
        case = self.get_object()
        data = self._input(ReopenSerializer)
        return self._answer(services.reopen(actor=request.user, case=case, reason=data["reason"]))
