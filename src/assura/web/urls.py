from django.contrib.auth import views as auth_views
from django.urls import path

from assura.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(
            template_name="web/password_change.html", success_url="/password/done/"
        ),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="web/password_done.html"),
        name="password_change_done",
    ),
    path("preferences/", views.preferences, name="preferences"),
    path("people/", views.people, name="people"),
    path("organisations/", views.organisations, name="organisations"),
    path("audit/", views.audit_log, name="audit_log"),
]
