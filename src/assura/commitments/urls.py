from django.urls import path

from assura.commitments import views

app_name = "commitments"
urlpatterns = [
    path("", views.index, name="index"),
    path("services/", views.service_list, name="services"),
    path("services/new/", views.service_create, name="service_create"),
    path("services/<str:code>/", views.service_edit, name="service_edit"),
    path("services/<str:code>/toggle/", views.service_toggle, name="service_toggle"),
    path("contracts/", views.contract_list, name="contracts"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<str:code>/", views.contract_detail, name="contract"),
    path("contracts/<str:code>/edit/", views.contract_edit, name="contract_edit"),
    path("contracts/<str:code>/rules/", views.contract_rule_set, name="contract_rule_set"),
    path(
        "contracts/<str:code>/rules/<str:metric>/remove/",
        views.contract_rule_remove,
        name="contract_rule_remove",
    ),
    path("policies/", views.policy_list, name="policies"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<str:code>/", views.policy_edit, name="policy"),
    path("policies/<str:code>/versions/", views.policy_versions, name="policy_versions"),
    path("metrics/", views.metric_list, name="metrics"),
    path("metrics/new/", views.metric_create, name="metric_create"),
    path("metrics/<str:code>/", views.metric_edit, name="metric_edit"),
]
