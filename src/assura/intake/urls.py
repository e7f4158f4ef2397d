from django.urls import path

from assura.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.channels, name="channels"),
    path("channels/new/", views.channel_new, name="channel_new"),
    path("channels/<int:pk>/", views.channel_detail, name="channel"),
    path("channels/<int:pk>/active/", views.channel_active, name="channel_active"),
    path("channels/<int:pk>/check/", views.check, name="check"),
    path("messages/<int:pk>/retry/", views.retry, name="retry"),
    path("messages/<int:pk>/import/", views.import_anyway, name="import_anyway"),
    path("messages/<int:pk>/original/", views.original, name="original"),
    path("outgoing/<int:pk>/resend/", views.resend, name="resend"),
]
