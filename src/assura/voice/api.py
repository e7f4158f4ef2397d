"""Surveys and follow-ups over the API.

Staff read surveys, invitations, responses, results and follow-ups, and complete a
follow-up; a customer contact reads only the invitations and responses addressed to it.
A survey link (the one-time token) can also be answered over the API without signing
in, with the same checks and the same single response as the web page. Every write
calls `voice.services`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from assura.core.api import ScopedViewSetMixin
from assura.core.models import User
from assura.core.permissions import Action
from assura.voice import queries, services
from assura.voice.models import (
    Answer,
    FollowUp,
    Invitation,
    NextStep,
    Outcome,
    Programme,
    Question,
    Response,
    Survey,
)

# ------------------------------------------------------------------------ serializers


class ChoiceOptionSerializer(serializers.Serializer[Any]):
    """One option of a single- or multiple-choice question."""

    code = serializers.CharField()
    zh = serializers.CharField()
    en = serializers.CharField()
    negative = serializers.BooleanField(default=False)


class QuestionSerializer(serializers.ModelSerializer[Question]):
    choices = ChoiceOptionSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = [
            "code",
            "position",
            "kind",
            "text_zh",
            "text_en",
            "required",
            "ask_why",
            "dimension",
            "choices",
        ]


class SurveySerializer(serializers.ModelSerializer[Survey]):
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "code",
            "kind",
            "title_zh",
            "title_en",
            "intro_zh",
            "intro_en",
            "is_active",
            "questions",
        ]


class InvitationSerializer(serializers.ModelSerializer[Invitation]):
    survey = serializers.SlugRelatedField[Survey](slug_field="code", read_only=True)
    contact = serializers.SlugRelatedField[User](slug_field="username", read_only=True)
    case = serializers.SlugRelatedField(slug_field="reference", read_only=True, allow_null=True)  # type: ignore[var-annotated]

    class Meta:
        model = Invitation
        fields = [
            "id",
            "survey",
            "contact",
            "case",
            "language",
            "status",
            "skip_reason",
            "send_at",
            "sent_at",
            "expires_at",
            "reminders_sent",
            "responded_at",
        ]


class AnswerSerializer(serializers.ModelSerializer[Answer]):
    question = serializers.SlugRelatedField[Question](slug_field="code", read_only=True)

    choices = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Answer
        fields = ["question", "value", "expectation", "perception", "choices", "text"]


class ResponseSerializer(serializers.ModelSerializer[Response]):
    survey = serializers.SlugRelatedField[Survey](slug_field="code", read_only=True)
    contact = serializers.SlugRelatedField[User](slug_field="username", read_only=True)
    case = serializers.SlugRelatedField(slug_field="reference", read_only=True, allow_null=True)  # type: ignore[var-annotated]
    answers = AnswerSerializer(many=True, read_only=True)

    low_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Response
        fields = [
            "id",
            "survey",
            "contact",
            "case",
            "language",
            "submitted_at",
            "is_low",
            "low_reasons",
            "answers",
        ]


class FollowUpSerializer(serializers.ModelSerializer[FollowUp]):
    programme = serializers.SlugRelatedField[Programme](slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)  # type: ignore[var-annotated]
    contact = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)  # type: ignore[var-annotated]
    case = serializers.SlugRelatedField(slug_field="reference", read_only=True, allow_null=True)  # type: ignore[var-annotated]
    team = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)  # type: ignore[var-annotated]
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)  # type: ignore[var-annotated]
    complaint_case = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="reference", read_only=True, allow_null=True
    )
    suggestion_case = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="reference", read_only=True, allow_null=True
    )

    next_steps = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "reference",
            "programme",
            "kind",
            "status",
            "reason",
            "organisation",
            "contact",
            "case",
            "team",
            "assignee",
            "created_at",
            "due_at",
            "completed_at",
            "outcome",
            "notes",
            "next_steps",
            "suggestion",
            "complaint_case",
            "suggestion_case",
        ]


class CompleteSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    next_steps = serializers.ListField(
        child=serializers.ChoiceField(choices=NextStep.choices), required=False, default=list
    )
    suggestion = serializers.CharField(required=False, allow_blank=True, default="")


class SubmitSerializer(serializers.Serializer[Any]):
    answers = serializers.DictField(
        help_text="Question code → answer: a number for ratings and NPS (or {value, why}), "
        "{expectation, perception} for SERVQUAL items, a choice code, a list of codes, or text."
    )
    language = serializers.ChoiceField(choices=["zh-hans", "en"], required=False)


class ProgrammeSerializer(serializers.ModelSerializer[Programme]):
    calendar = serializers.SlugRelatedField(slug_field="code", read_only=True)  # type: ignore[var-annotated]
    team = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)  # type: ignore[var-annotated]
    target_seconds = serializers.SerializerMethodField()

    case_types = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Programme
        fields = [
            "code",
            "name",
            "kind",
            "is_active",
            "sample",
            "case_types",
            "target_seconds",
            "calendar",
            "team",
            "assign_to",
        ]

    def get_target_seconds(self, programme: Programme) -> int:
        return int(programme.target.total_seconds())


class ResultsSerializer(serializers.Serializer[Any]):
    csat = serializers.DictField()
    nps = serializers.DictField()
    response_rate = serializers.DictField()
    servqual = serializers.DictField()


# ------------------------------------------------------------------------ viewsets


class _ContactOrStaffMixin(ScopedViewSetMixin):
    """Staff need `view_surveys`; a customer contact `answer_surveys` (its own rows only)."""

    @property
    def required_action(self) -> Action:
        user = getattr(self.request, "user", None)
        if user is not None and getattr(user, "is_customer", False):
            return Action.ANSWER_SURVEYS
        return Action.VIEW_SURVEYS


class SurveyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Survey]):
    """Surveys with their questions in both languages (staff)."""

    model = Survey
    serializer_class = SurveySerializer
    default_action_permission = Action.VIEW_SURVEYS
    lookup_field = "code"
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ["code"]

    def scoped_queryset(self, user: User) -> QuerySet[Survey]:
        return Survey.objects.prefetch_related("questions").order_by("code", "pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("survey", str, description="Survey code (all surveys if absent)"),
            OpenApiParameter("start", datetime, description="From (inclusive)"),
            OpenApiParameter("end", datetime, description="Until (exclusive)"),
        ],
        responses={200: ResultsSerializer},
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def results(self, request: Request) -> ApiResponse:
        """CSAT, NPS, response rate and SERVQUAL gaps for a period (docs/kpis.md)."""
        return ApiResponse(_results(request))


class InvitationViewSet(_ContactOrStaffMixin, viewsets.ReadOnlyModelViewSet[Invitation]):
    """Survey invitations (a contact sees the ones addressed to it)."""

    model = Invitation
    serializer_class = InvitationSerializer
    filterset_fields = ["status", "language"]
    ordering_fields = ["send_at", "sent_at"]

    def scoped_queryset(self, user: User) -> QuerySet[Invitation]:
        rows = Invitation.objects.visible_to(user).select_related("survey", "contact", "case")
        return rows.order_by("-send_at", "-pk")


class ResponseFilter(filters.FilterSet):
    survey = filters.CharFilter(field_name="survey__code")
    after = filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    before = filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="lt")

    class Meta:
        model = Response
        fields = ["survey", "is_low", "after", "before"]


class ResponseViewSet(_ContactOrStaffMixin, viewsets.ReadOnlyModelViewSet[Response]):
    """Survey responses with their answers (a contact sees its own)."""

    model = Response
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter
    ordering_fields = ["submitted_at"]

    def scoped_queryset(self, user: User) -> QuerySet[Response]:
        rows = Response.objects.visible_to(user).select_related("survey", "contact", "case")
        return rows.prefetch_related("answers__question").order_by("-submitted_at", "-pk")


class SurveyLinkViewSet(viewsets.GenericViewSet[Invitation]):
    """A one-time survey link: read its questions, answer it once. No sign-in."""

    permission_classes: ClassVar[list[Any]] = [AllowAny]  # type: ignore[misc]
    authentication_classes: ClassVar[list[Any]] = []  # type: ignore[misc]
    serializer_class = SurveySerializer
    lookup_field = "token"
    lookup_value_regex = r"[A-Za-z0-9_-]{1,200}"
    queryset = Invitation.objects.none()

    def _open(self, token: str) -> Invitation:
        try:
            return services.open_link(token)
        except services.LinkError as error:
            raise _link_error(error) from error

    @extend_schema(responses={200: SurveySerializer})
    def retrieve(self, request: Request, token: str | None = None) -> ApiResponse:
        invitation = self._open(token or "")
        return ApiResponse(SurveySerializer(invitation.survey).data)

    @extend_schema(request=SubmitSerializer, responses={201: ResponseSerializer})
    @action(detail=True, methods=["post"])
    def respond(self, request: Request, token: str | None = None) -> ApiResponse:
        """Answer the survey; refused when the link is used, expired or unknown."""
        incoming = SubmitSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            response = services.submit(
                token or "",
                incoming.validated_data["answers"],
                language=incoming.validated_data.get("language"),
            )
        except services.LinkError as error:
            raise _link_error(error) from error
        return ApiResponse(ResponseSerializer(response).data, status=status.HTTP_201_CREATED)


class LinkGone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "gone"
    default_detail = "This survey link can no longer be used."


def _link_error(error: services.LinkError) -> exceptions.APIException:
    if error.code == services.LinkError.UNKNOWN:
        return exceptions.NotFound(error.message)
    return LinkGone(error.message)


class FollowUpFilter(filters.FilterSet):
    assignee = filters.CharFilter(field_name="assignee__username")
    team = filters.CharFilter(field_name="team__code")
    due_after = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = FollowUp
        fields = ["status", "kind", "outcome", "assignee", "team", "due_after", "due_before"]


class FollowUpViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[FollowUp]):
    """Follow-up tasks (回访), by reference; `complete` records the outcome."""

    model = FollowUp
    serializer_class = FollowUpSerializer
    default_action_permission = Action.VIEW_FOLLOW_UPS
    action_permissions: ClassVar[dict[str, Action]] = {"complete": Action.WORK_FOLLOW_UPS}
    lookup_field = "reference"
    filterset_class = FollowUpFilter
    ordering_fields = ["due_at", "created_at", "completed_at"]

    def scoped_queryset(self, user: User) -> QuerySet[FollowUp]:
        rows = FollowUp.objects.visible_to(user).select_related(
            "programme", "organisation", "contact", "case", "team", "assignee"
        )
        return rows.order_by("due_at", "pk")

    @extend_schema(request=CompleteSerializer, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, reference: str | None = None) -> ApiResponse:
        follow_up = self.get_object()
        incoming = CompleteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        done = services.complete(actor=request.user, follow_up=follow_up, **incoming.validated_data)
        return ApiResponse(self.get_serializer(done).data)


class ProgrammeViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Programme]):
    """Follow-up programmes: the rules that create follow-up tasks (staff)."""

    model = Programme
    serializer_class = ProgrammeSerializer
    default_action_permission = Action.VIEW_FOLLOW_UPS
    lookup_field = "code"
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ["code"]

    def scoped_queryset(self, user: User) -> QuerySet[Programme]:
        return Programme.objects.select_related("calendar", "team").order_by("kind", "code")


def _estimate(value: Any) -> dict[str, Any]:
    return {"n": value.n, "mean": value.mean, "low": value.low, "high": value.high}


def _results(request: Request) -> dict[str, Any]:
    params = request.query_params
    survey = None
    if params.get("survey"):
        survey = Survey.objects.filter(code=params["survey"]).first()
        if survey is None:
            raise exceptions.ValidationError({"survey": ["Unknown survey."]})
    scope = queries.Scope(
        start=_instant(params.get("start"), "start"),
        end=_instant(params.get("end"), "end"),
        survey=survey,
    )
    user = request.user
    csat = queries.csat(scope, user)  # type: ignore[arg-type]
    nps = queries.nps(scope, user)  # type: ignore[arg-type]
    rate = queries.response_rate(scope, user)  # type: ignore[arg-type]
    gaps = queries.servqual_result(scope, user)  # type: ignore[arg-type]
    return {
        "csat": {
            **_estimate(csat.estimate),
            "distribution": csat.distribution,
            "satisfied_share": csat.satisfied_share,
        },
        "nps": {
            "n": nps.n,
            "score": nps.score,
            "low": nps.low,
            "high": nps.high,
            "promoters": nps.promoters,
            "passives": nps.passives,
            "detractors": nps.detractors,
        },
        "response_rate": {"sent": rate.sent, "answered": rate.answered, "rate": rate.rate},
        "servqual": {
            "respondents": gaps.respondents,
            "overall": _estimate(gaps.overall),
            "dimensions": {
                d.dimension: {
                    "gap": _estimate(d.gap),
                    "alpha_gap": d.alpha_gap.alpha if d.alpha_gap else None,
                    "alpha_perception": d.alpha_perception.alpha if d.alpha_perception else None,
                }
                for d in gaps.dimensions
            },
            "items": {
                i.item: {
                    "dimension": i.dimension,
                    "expectation": i.expectation.mean,
                    "perception": i.perception.mean,
                    "gap": _estimate(i.gap),
                }
                for i in gaps.items
            },
        },
    }


def _instant(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise exceptions.ValidationError({name: ["Use an ISO 8601 date or time."]}) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value
