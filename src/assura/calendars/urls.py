from django.urls import path

from assura.calendars import views

app_name = "calendars"
urlpatterns = [
    path("", views.calendar_list, name="list"),
    path("new/", views.calendar_create, name="create"),
    path("<str:code>/", views.calendar_detail, name="detail"),
    path("<str:code>/settings/", views.calendar_settings, name="settings"),
    path("<str:code>/days/", views.special_day_set, name="day_set"),
    path("<str:code>/days/<str:day>/remove/", views.special_day_remove, name="day_remove"),
    path("<str:code>/official/", views.load_official, name="official"),
    path("<str:code>/import/", views.import_ics, name="import"),
    path("<str:code>/export.ics", views.export_ics, name="export"),
    path("<str:code>/progress/", views.recompute_progress, name="progress"),
]
