"""Administration pages for surveys and follow-ups (superusers).

Surveys, questions, triggers and programmes may be edited here; invitations, responses
and follow-ups are shown read-only, because they change only through the services
(single-use links, clocks, next steps).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assura.voice.models import (
    Answer,
    FollowUp,
    Invitation,
    OptOut,
    Programme,
    Question,
    Response,
    Survey,
    Trigger,
)


class QuestionInline(admin.TabularInline[Question, Survey]):
    model = Question
    extra = 0
    fields = ["position", "code", "kind", "text_zh", "text_en", "required", "dimension"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin[Survey]):
    list_display = ["code", "kind", "title_zh", "title_en", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "title_zh", "title_en"]
    inlines = [QuestionInline]


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin[Trigger]):
    list_display = ["name", "survey", "kind", "sample", "min_days_between", "is_active"]
    list_filter = ["kind", "is_active"]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin[Programme]):
    list_display = ["code", "name", "kind", "target", "calendar", "team", "is_active"]
    list_filter = ["kind", "is_active"]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "survey", "contact", "case", "status", "send_at", "responded_at"]
    list_filter = ["status", "survey"]
    exclude = ["dedup_key"]


class AnswerInline(admin.TabularInline[Answer, Response]):
    model = Answer
    extra = 0
    can_delete = False
    readonly_fields = ["question", "value", "expectation", "perception", "choices", "text"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ["pk", "survey", "contact", "case", "submitted_at", "is_low"]
    list_filter = ["survey", "is_low"]
    inlines = [AnswerInline]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["reference", "programme", "status", "contact", "assignee", "due_at", "outcome"]
    list_filter = ["status", "kind", "outcome"]
    search_fields = ["reference"]


@admin.register(OptOut)
class OptOutAdmin(ReadOnlyAdmin):
    list_display = ["contact", "opted_out_at"]
