"""Working-time calendars, read-only: weekly hours, special days and versions (staff only)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assura.calendars.models import (
    Calendar,
    CalendarVersion,
    SpecialDay,
    WeeklyInterval,
    spell_minute,
)
from assura.core.api import ScopedViewSetMixin
from assura.core.models import User
from assura.core.permissions import Action


class IntervalSerializer(serializers.ModelSerializer[WeeklyInterval]):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()

    class Meta:
        model = WeeklyInterval
        fields = ["weekday", "start", "end"]

    def get_start(self, interval: WeeklyInterval) -> str:
        return spell_minute(interval.start_minute)

    def get_end(self, interval: WeeklyInterval) -> str:
        return spell_minute(interval.end_minute)


class SpanSerializer(serializers.Serializer[Any]):
    start = serializers.CharField()
    end = serializers.CharField()


class SpecialDaySerializer(serializers.ModelSerializer[SpecialDay]):
    intervals = serializers.SerializerMethodField(
        help_text="A make-up day's hours; empty means the normal hours of its weekday."
    )

    class Meta:
        model = SpecialDay
        fields = ["date", "kind", "name", "intervals", "source"]

    @extend_schema_field(SpanSerializer(many=True))
    def get_intervals(self, day: SpecialDay) -> list[dict[str, str]]:
        return [{"start": start, "end": end} for start, end in day.spans()]


class CalendarVersionSerializer(serializers.ModelSerializer[CalendarVersion]):
    reason_text = serializers.CharField(read_only=True)

    class Meta:
        model = CalendarVersion
        fields = ["number", "created_at", "reason", "reason_text", "fingerprint"]


class CalendarSerializer(serializers.ModelSerializer[Calendar]):
    version = serializers.IntegerField(
        source="current_version.number", read_only=True, allow_null=True
    )
    intervals = IntervalSerializer(many=True, read_only=True)

    class Meta:
        model = Calendar
        fields = [
            "code",
            "name",
            "time_zone",
            "description",
            "follows_official_china",
            "is_active",
            "version",
            "intervals",
        ]


class YearQuerySerializer(serializers.Serializer[Any]):
    year = serializers.IntegerField(min_value=1900, max_value=2999, required=False)


class CalendarFilter(filters.FilterSet):
    class Meta:
        model = Calendar
        fields = ["is_active", "follows_official_china"]


class CalendarViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Calendar]):
    """Calendars, addressed by code; their special days and versions."""

    model = Calendar
    serializer_class = CalendarSerializer
    default_action_permission = Action.VIEW_CONFIGURATION
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_class = CalendarFilter
    ordering_fields = ["name", "code"]

    def scoped_queryset(self, user: User) -> QuerySet[Calendar]:
        return (
            Calendar.objects.visible_to(user)
            .select_related("current_version")
            .prefetch_related("intervals")
            .order_by("name", "pk")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "year",
                {"type": "integer", "minimum": 1900, "maximum": 2999},
                description="Only this year's days",
                required=False,
            )
        ],
        responses={200: SpecialDaySerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def days(self, request: Request, code: str | None = None) -> Response:
        """Holidays and make-up working days, by date."""
        calendar = self.get_object()
        days = calendar.special_days.order_by("date", "pk")
        query = YearQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "year" in query.validated_data:
            days = days.filter(date__year=query.validated_data["year"])
        page = self.paginate_queryset(days)
        return self.get_paginated_response(SpecialDaySerializer(page, many=True).data)

    @extend_schema(responses={200: CalendarVersionSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, code: str | None = None) -> Response:
        """Every frozen definition of the calendar, newest first."""
        calendar = self.get_object()
        page = self.paginate_queryset(calendar.versions.order_by("-number"))
        return self.get_paginated_response(CalendarVersionSerializer(page, many=True).data)
