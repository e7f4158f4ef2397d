"""/api/v1/: each app's api.py assembled under one router; the schema and its reference page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from assura.api.views import not_found
from assura.calendars import api as calendars_api
from assura.commitments import api as commitments_api
from assura.core import api as core_api
from assura.desk import api as desk_api
from assura.sla import api as sla_api
from assura.voice import api as voice_api

router = DefaultRouter()
# core
router.register("organisations", core_api.OrganisationViewSet, basename="organisation")
router.register("teams", core_api.TeamViewSet, basename="team")
router.register("people", core_api.PersonViewSet, basename="person")
router.register("audit-log", core_api.AuditEntryViewSet, basename="audit-entry")
router.register("tokens", core_api.ApiTokenViewSet, basename="token")
# calendars and commitments
router.register("calendars", calendars_api.CalendarViewSet, basename="calendar")
router.register("services", commitments_api.ServiceViewSet, basename="service")
router.register("contracts", commitments_api.ContractViewSet, basename="contract")
router.register("metrics", commitments_api.MetricViewSet, basename="metric")
router.register("policies", commitments_api.PolicyViewSet, basename="policy")
# cases
router.register("cases", desk_api.CaseViewSet, basename="case")
# SLA
router.register("clocks", sla_api.ClockViewSet, basename="clock")
router.register("breaches", sla_api.BreachViewSet, basename="breach")
router.register("cause-categories", sla_api.CauseCategoryViewSet, basename="cause-category")
router.register("root-causes", sla_api.RootCauseViewSet, basename="root-cause")
router.register("escalations", sla_api.EscalationViewSet, basename="escalation")
router.register("notices", sla_api.BreachNoticeViewSet, basename="notice")
router.register("compensation", sla_api.CompensationEntryViewSet, basename="compensation")
# voice of the customer
router.register("surveys", voice_api.SurveyViewSet, basename="survey")
router.register("survey-invitations", voice_api.InvitationViewSet, basename="survey-invitation")
router.register("survey-responses", voice_api.ResponseViewSet, basename="survey-response")
router.register("survey-links", voice_api.SurveyLinkViewSet, basename="survey-link")
router.register("follow-ups", voice_api.FollowUpViewSet, basename="follow-up")
router.register("follow-up-programmes", voice_api.ProgrammeViewSet, basename="follow-up-programme")

app_name = "api"
urlpatterns = [
    path("v1/ping/", core_api.PingView.as_view(), name="ping"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ answers in the API's error format, not with an HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]
