from django.urls import path

from assura.sla import views

app_name = "sla"
urlpatterns = [
    path("breaches/", views.breach_list, name="breaches"),
    # A breach is one per clock, and a clock one metric of one subject: its address is the
    # subject's reference and the metric code (/sla/breaches/C-2026-000123/first_response/).
    path("breaches/<str:reference>/<str:metric>/", views.breach_detail, name="breach"),
    path(
        "breaches/<str:reference>/<str:metric>/root-cause/",
        views.breach_rca,
        name="breach_rca",
    ),
    path(
        "breaches/<str:reference>/<str:metric>/notice/",
        views.breach_notice,
        name="breach_notice",
    ),
    path("expedite/", views.expedite_channel, name="expedite"),
    path("compensation/", views.ledger, name="ledger"),
    path("compensation/<int:pk>/decide/", views.decide, name="decide"),
    path("compensation/<str:code>/<str:month>/", views.statement, name="statement"),
    path("compensation/<str:code>/<str:month>.csv", views.statement_csv, name="statement_csv"),
    path("notices/", views.notice_list, name="notices"),
]
