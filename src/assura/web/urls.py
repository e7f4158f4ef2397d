from django.contrib.auth import views as auth_views
from django.urls import path

from assura.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/at-risk/", views.dashboard_at_risk, name="dashboard_at_risk"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("preferences/", views.preferences, name="preferences"),
    path("language/", views.switch_language, name="language"),
    path("people/", views.people, name="people"),
    path("people/new/", views.person_new, name="person_new"),
    path("people/<str:username>/", views.person, name="person"),
    path("people/<str:username>/deactivate/", views.person_deactivate, name="person_deactivate"),
    path("organisations/", views.organisations, name="organisations"),
    path("organisations/new/", views.organisation_new, name="organisation_new"),
    path("organisations/<str:code>/", views.organisation, name="organisation"),
    path("audit/", views.audit_log, name="audit_log"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
