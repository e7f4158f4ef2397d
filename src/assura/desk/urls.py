"""The desk's pages: staff work cases under /cases/, customer contacts use /portal/."""

from django.urls import include, path

from assura.desk import views

app_name = "desk"

staff = [
    path("", views.case_list, name="cases"),
    path("bulk/", views.bulk, name="bulk"),
    path("views/", views.view_save, name="view_save"),
    path("views/<int:pk>/delete/", views.view_delete, name="view_delete"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("<str:reference>/", views.case_detail, name="case"),
    path("<str:reference>/clocks/", views.case_clocks, name="case_clocks"),
    path("<str:reference>/reply/", views.case_reply, name="case_reply"),
    path("<str:reference>/status/", views.case_status, name="case_status"),
    path("<str:reference>/reopen/", views.case_reopen, name="case_reopen"),
    path("<str:reference>/classify/", views.case_classify, name="case_classify"),
    path("<str:reference>/assign/", views.case_assign, name="case_assign"),
    path("<str:reference>/complex/", views.case_complex, name="case_complex"),
    path("<str:reference>/merge/", views.case_merge, name="case_merge"),
    path(
        "<str:reference>/breaches/<str:metric>/root-cause/",
        views.case_root_cause,
        name="case_root_cause",
    ),
]

portal = [
    path("", views.portal, name="portal"),
    path("new/", views.portal_submit, name="submit"),
    path("attachments/<int:pk>/", views.attachment, name="portal_attachment"),
    path("<str:reference>/", views.portal_case, name="portal_case"),
    path("<str:reference>/reply/", views.portal_reply, name="portal_reply"),
    path("<str:reference>/confirm/", views.portal_confirm, name="portal_confirm"),
    path("<str:reference>/reopen/", views.portal_reopen, name="portal_reopen"),
]

urlpatterns = [
    path("cases/", include(staff)),
    path("portal/", include(portal)),
]
