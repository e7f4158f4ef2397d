"""The connect pages under /connect/, and the inbound addresses under /connect/in/."""

from django.urls import path

from assura.connect import views

app_name = "connect"
urlpatterns = [
    path("", views.index, name="index"),
    path("chat/new/", views.chat_app_new, name="chat_app_new"),
    path("chat/<int:pk>/", views.chat_app_detail, name="chat_app"),
    path("chat/<int:pk>/identities/", views.chat_identity, name="chat_identity"),
    path("sources/new/", views.source_new, name="source_new"),
    path("sources/<int:pk>/", views.source_detail, name="source"),
    path("webhooks/new/", views.subscription_new, name="subscription_new"),
    path("webhooks/<int:pk>/", views.subscription_detail, name="subscription"),
    path("webhooks/<int:pk>/ping/", views.subscription_ping, name="subscription_ping"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<int:pk>/redeliver/", views.redeliver, name="redeliver"),
    path("inbound/", views.inbound, name="inbound"),
    path("import/", views.imports, name="imports"),
    path("import/<int:pk>/", views.import_detail, name="import"),
    path("import/<int:pk>/start/", views.import_start, name="import_start"),
    path("import/<int:pk>/problems.csv", views.import_report, name="import_report"),
    path("in/wecom/<str:key>/", views.in_wecom, name="in_wecom"),
    path("in/dingtalk/<str:key>/", views.in_dingtalk, name="in_dingtalk"),
    path("in/feishu/<str:key>/", views.in_feishu, name="in_feishu"),
    path("in/events/<str:key>/", views.in_signed, name="in_signed"),
]
