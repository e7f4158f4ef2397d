"""People, organisations, teams, the read-only audit log, and the caller's own API tokens.

Also the pieces every app's api.py shares (core is the lowest layer, so each may import
them): a viewset base that scopes its queryset through `visible_to` and names the
permission each action needs, and small fields that show related records by code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assura.core import services
from assura.core.drf import ActionPermission
from assura.core.models import ApiToken, Organisation, Team, User
from assura.core.permissions import Action

# ------------------------------------------------------------------------ shared pieces


class ScopedViewSetMixin:
    """A viewset whose rows come from `scoped_queryset(user)` (a `visible_to` call).

    `required_action` is the permission the matrix must grant for the current action:
    `action_permissions` maps viewset actions (list, create, reply…) to permissions and
    `default_action_permission` covers the rest. Schema generation runs without a user
    and gets an empty queryset of `model`.
    """

    model: ClassVar[type[Model]]
    default_action_permission: ClassVar[Action] = Action.USE_API
    action_permissions: ClassVar[Mapping[str, Action]] = {}
    permission_classes = [ActionPermission]
    request: Request
    action: str | None

    @property
    def required_action(self) -> Action:
        return self.action_permissions.get(self.action or "", self.default_action_permission)

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return self.model._default_manager.none()
        return self.scoped_queryset(self.request.user)

    def scoped_queryset(self, user: User) -> QuerySet[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_object(self) -> Any:
        # A NUL byte cannot be in any identifier (and PostgreSQL refuses it in a query).
        value = self.kwargs.get(getattr(self, "lookup_url_kwarg", None) or self.lookup_field)
        if "\x00" in str(value):
            raise exceptions.NotFound()
        return super().get_object()  # type: ignore[misc]


def viewer(context: Mapping[str, Any]) -> User | None:
    """The person a serializer is rendering for (None outside a request)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


def is_customer_viewer(context: Mapping[str, Any]) -> bool:
    user = viewer(context)
    return user is None or user.is_customer


class CodeField(serializers.SlugRelatedField[Any]):
    """A related record given by its code (or username); unknown codes are a field error."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


class InstantField(IsoDateTimeField):
    """An ISO 8601 instant, handed on in UTC.

    Python accepts offsets up to ±23:59 and the database fewer, so the offset is resolved
    here; an instant that leaves years 1-9999 on the way is refused like any bad value.
    """

    def to_python(self, value: Any) -> datetime | None:
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class InstantFilter(filters.IsoDateTimeFilter):
    field_class = InstantField


def duration_seconds(value: Any) -> int | None:
    return None if value is None else int(value.total_seconds())


# ------------------------------------------------------------------------ serializers


class OrganisationSerializer(serializers.ModelSerializer[Organisation]):
    class Meta:
        model = Organisation
        fields = ["id", "kind", "code", "name", "is_active"]


class TeamSerializer(serializers.ModelSerializer[Team]):
    lead = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Team
        fields = ["id", "code", "name", "lead", "is_active"]


class PersonSerializer(serializers.ModelSerializer[User]):
    organisation = serializers.SlugRelatedField[Organisation](slug_field="code", read_only=True)
    team = serializers.SlugRelatedField[Team](slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "email",
            "role",
            "organisation",
            "team",
            "is_active",
        ]


AUDIT_ACTIONS = {0: "create", 1: "update", 2: "delete", 3: "access"}


class AuditEntrySerializer(serializers.ModelSerializer[LogEntry]):
    model = serializers.CharField(source="content_type.model", read_only=True)
    action = serializers.SerializerMethodField()  # typed by get_action's annotation
    actor = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    changes = serializers.SerializerMethodField()

    class Meta:
        model = LogEntry
        fields = [
            "id",
            "timestamp",
            "actor",
            "model",
            "object_pk",
            "object_repr",
            "action",
            "changes",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=[*AUDIT_ACTIONS.values(), "other"]))
    def get_action(self, entry: LogEntry) -> str:
        return AUDIT_ACTIONS.get(entry.action, "other")

    @extend_schema_field(
        {
            "type": "object",
            "description": "Changed fields: each maps to [before, after].",
            "additionalProperties": {"type": "array", "items": {"nullable": True}},
        }
    )
    def get_changes(self, entry: LogEntry) -> dict[str, Any]:
        changes = entry.changes
        return changes if isinstance(changes, dict) else {}


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    name = serializers.CharField(max_length=100)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The whole token. Shown in this response only; store it now."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]


class PingSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    user = serializers.CharField()
    time = serializers.DateTimeField()


# ------------------------------------------------------------------------ filters


class PersonFilter(filters.FilterSet):
    organisation = filters.CharFilter(
        field_name="organisation__code", help_text="Organisation code"
    )
    team = filters.CharFilter(field_name="team__code", help_text="Team code")

    class Meta:
        model = User
        fields = ["role", "is_active", "organisation", "team"]


class AuditEntryFilter(filters.FilterSet):
    actor = filters.CharFilter(field_name="actor__username", help_text="Username of the actor")
    model = filters.CharFilter(field_name="content_type__model", help_text="e.g. case")
    action = filters.ChoiceFilter(
        choices=[(name, name) for name in AUDIT_ACTIONS.values()], method="filter_action"
    )
    after = InstantFilter(field_name="timestamp", lookup_expr="gte")
    before = InstantFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = LogEntry
        fields = ["actor", "model", "action", "object_pk", "after", "before"]

    def filter_action(self, queryset: QuerySet[LogEntry], name: str, value: str) -> Any:
        codes = [code for code, word in AUDIT_ACTIONS.items() if word == value]
        return queryset.filter(action__in=codes)


# ------------------------------------------------------------------------ viewsets


class OrganisationViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Organisation]):
    """Organisations: the provider and its customers (a customer sees its own only)."""

    model = Organisation
    serializer_class = OrganisationSerializer
    default_action_permission = Action.VIEW_ORGANISATIONS
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ["name", "code"]

    def scoped_queryset(self, user: User) -> QuerySet[Organisation]:
        return Organisation.objects.visible_to(user).order_by("name", "pk")


class TeamViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Team]):
    """Internal teams (staff only)."""

    model = Team
    serializer_class = TeamSerializer
    default_action_permission = Action.VIEW_TEAMS
    filterset_fields = ["is_active"]
    ordering_fields = ["name", "code"]

    def scoped_queryset(self, user: User) -> QuerySet[Team]:
        return Team.objects.visible_to(user).select_related("lead").order_by("name", "pk")


class PersonViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[User]):
    """People: staff and customer contacts (a customer sees its organisation's contacts)."""

    model = User
    serializer_class = PersonSerializer
    default_action_permission = Action.VIEW_PEOPLE
    filterset_class = PersonFilter
    ordering_fields = ["username", "display_name"]

    def scoped_queryset(self, user: User) -> QuerySet[User]:
        people = User.objects.visible_to(user).select_related("organisation", "team")
        return people.order_by("username", "pk")


class AuditEntryViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[LogEntry],
):
    """The audit log: every change, who made it, before → after (read-only)."""

    model = LogEntry
    serializer_class = AuditEntrySerializer
    default_action_permission = Action.VIEW_AUDIT_LOG
    filterset_class = AuditEntryFilter
    ordering_fields = ["timestamp"]

    def scoped_queryset(self, user: User) -> QuerySet[LogEntry]:
        entries = LogEntry.objects.select_related("content_type", "actor")
        return entries.order_by("-timestamp", "-id")


class ApiTokenViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[ApiToken],
):
    """The caller's own API tokens: list, create (the secret is returned once), revoke."""

    model = ApiToken
    serializer_class = ApiTokenSerializer
    default_action_permission = Action.USE_API
    filterset_fields: ClassVar[list[str]] = []
    ordering_fields = ["created_at", "name"]

    def scoped_queryset(self, user: User) -> QuerySet[ApiToken]:
        return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at", "-pk")

    @extend_schema(request=ApiTokenSerializer, responses={201: NewApiTokenSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = ApiTokenSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        token, secret = services.issue_api_token(
            actor=request.user, name=incoming.validated_data["name"]
        )
        token.secret = secret  # type: ignore[attr-defined]
        body = NewApiTokenSerializer(token, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses={200: ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke the token; requests with it are refused from now on (revoking twice is fine)."""
        token = self.get_object()
        if token.revoked_at is None:
            token = services.revoke_api_token(actor=request.user, token=token)
        return Response(self.get_serializer(token).data)


class PingView(APIView):
    """A trivial authenticated answer: who the token belongs to and the server's time."""

    permission_classes = [ActionPermission]
    required_action = Action.USE_API

    @extend_schema(responses={200: PingSerializer}, operation_id="ping")
    def get(self, request: Request) -> Response:
        return Response({"ok": True, "user": request.user.username, "time": timezone.now()})
