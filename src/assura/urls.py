from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("assura.api.urls")),
    path("calendars/", include("assura.calendars.urls")),
    path("connect/", include("assura.connect.urls")),
    path("commitments/causes/", include("assura.sla.config_views")),
    path("commitments/policies/", include("assura.desk.config_views")),
    path("commitments/", include("assura.commitments.urls")),
    path("", include("assura.desk.urls")),
    path("intake/", include("assura.intake.urls")),
    path("notify/", include("assura.notify.urls")),
    path("sla/", include("assura.sla.urls")),
    path("voice/", include("assura.voice.urls")),
    path("", include("assura.web.urls")),
]
