from django.urls import path

from assura.voice import views

app_name = "voice"
urlpatterns = [
    # Public: a customer's one-time link, no login.
    path("s/thanks/", views.thanks, name="thanks"),
    path("s/<str:token>/", views.answer, name="answer"),
    path("s/<str:token>/opt-out/", views.opt_out, name="opt_out"),
    # Customer portal.
    path("my-surveys/", views.my_surveys, name="my_surveys"),
    path("my-surveys/<int:pk>/answer/", views.my_survey_answer, name="my_survey_answer"),
    # Staff: surveys.
    path("surveys/", views.surveys, name="surveys"),
    path("surveys/new/", views.survey_new, name="survey_new"),
    path("surveys/<str:code>/", views.survey, name="survey"),
    path("surveys/<str:code>/edit/", views.survey_edit, name="survey_edit"),
    path("surveys/<str:code>/preview/", views.survey_preview, name="survey_preview"),
    path("surveys/<str:code>/send/", views.survey_send, name="survey_send"),
    path("surveys/<str:code>/questions/new/", views.question_new, name="question_new"),
    path("surveys/<str:code>/questions/<int:pk>/", views.question_edit, name="question_edit"),
    path("surveys/<str:code>/questions/<int:pk>/move/", views.question_move, name="question_move"),
    path(
        "surveys/<str:code>/questions/<int:pk>/remove/",
        views.question_remove,
        name="question_remove",
    ),
    path("surveys/<str:code>/triggers/new/", views.trigger_new, name="trigger_new"),
    path("triggers/<int:pk>/toggle/", views.trigger_toggle, name="trigger_toggle"),
    path("invitations/", views.invitations, name="invitations"),
    path("results/", views.results, name="results"),
    # Staff: follow-ups.
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/on-time/", views.follow_up_report, name="follow_up_report"),
    path("follow-ups/<str:reference>/", views.follow_up, name="follow_up"),
    path("follow-ups/<str:reference>/take/", views.follow_up_take, name="follow_up_take"),
    path("follow-ups/<str:reference>/cancel/", views.follow_up_cancel, name="follow_up_cancel"),
    path("programmes/", views.programmes, name="programmes"),
    path("programmes/new/", views.programme_new, name="programme_new"),
    path("programmes/<str:code>/", views.programme_edit, name="programme_edit"),
]
