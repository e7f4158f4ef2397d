"""Read access to organisations, teams and people, and the read-only audit log."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets

from assura.core.drf import ActionPermission
from assura.core.models import Organisation, Team, User
from assura.core.permissions import Action


class OrganisationSerializer(serializers.ModelSerializer[Organisation]):
    class Meta:
        model = Organisation
        fields = ["id", "kind", "code", "name", "is_active"]


class TeamSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ["id", "code", "name", "lead", "is_active"]


class PersonSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "username", "display_name", "email", "role", "organisation", "team"]


class AuditEntrySerializer(serializers.ModelSerializer[LogEntry]):
    model = serializers.CharField(source="content_type.model", read_only=True)
    action = serializers.SerializerMethodField()

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

    def get_action(self, entry: LogEntry) -> str:
        return {0: "create", 1: "update", 2: "delete", 3: "access"}.get(entry.action, "other")


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet[Organisation]):
    serializer_class = OrganisationSerializer
    permission_classes = [ActionPermission]
    required_action = Action.VIEW_ORGANISATIONS
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ["name", "code"]

    def get_queryset(self) -> QuerySet[Organisation]:
        return Organisation.objects.visible_to(self.request.user).order_by("name")


class TeamViewSet(viewsets.ReadOnlyModelViewSet[Team]):
    serializer_class = TeamSerializer
    permission_classes = [ActionPermission]
    required_action = Action.VIEW_TEAMS

    def get_queryset(self) -> QuerySet[Team]:
        return Team.objects.visible_to(self.request.user).order_by("name")


class PersonViewSet(viewsets.ReadOnlyModelViewSet[User]):
    serializer_class = PersonSerializer
    permission_classes = [ActionPermission]
    required_action = Action.VIEW_PEOPLE
    filterset_fields = ["role", "organisation", "team"]
    ordering_fields = ["username", "display_name"]

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.visible_to(self.request.user).order_by("username")


class AuditEntryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[LogEntry]
):
    serializer_class = AuditEntrySerializer
    permission_classes = [ActionPermission]
    required_action = Action.VIEW_AUDIT_LOG
    filterset_fields = ["actor", "action", "content_type__model", "object_pk"]
    ordering_fields = ["timestamp"]

    def get_queryset(self) -> QuerySet[LogEntry]:
        return LogEntry.objects.select_related("content_type").order_by("-timestamp", "-id")
