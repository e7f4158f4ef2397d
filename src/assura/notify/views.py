"""The outbox for administrators (read-only for auditors) and the channel editor.

Views stay thin: they check the permission with `can()`, read the rows, call a
service for every change, and render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assura.core.forms import show_errors
from assura.core.http import safe_next
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.notify import services
from assura.notify.forms import ChannelForm, OutboxFilterForm
from assura.notify.models import (
    OPEN_STATUSES,
    Notification,
    NotificationAttempt,
    NotificationChannel,
    Status,
)

PAGE_SIZE = 50
RECENT = 10
IN_FLIGHT = (Status.PENDING, Status.SENDING)


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


# --- the outbox --------------------------------------------------------------------------


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_OUTBOX)
    form = OutboxFilterForm(request.GET or None)
    notices = _filtered(form)
    page = Paginator(notices, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/outbox.html",
        {
            "form": form,
            "page": page,
            "notices": page.object_list,
            "filtered": form.is_bound and form.is_valid() and any(form.cleaned_data.values()),
            "can_retry": can(user, Action.RETRY_NOTIFICATIONS),
        },
    )


def _filtered(form: OutboxFilterForm) -> QuerySet[Notification]:
    notices = Notification.objects.select_related("channel").prefetch_related(
        Prefetch("tries", queryset=NotificationAttempt.objects.order_by("number"))
    )
    if not form.is_bound or not form.is_valid():
        return notices
    status, channel = form.cleaned_data["status"], form.cleaned_data["channel"]
    if status:
        notices = notices.filter(status=status)
    if channel == OutboxFilterForm.DIRECT:
        notices = notices.filter(channel__isnull=True)
    elif channel:
        notices = notices.filter(channel_id=channel)
    return notices


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.RETRY_NOTIFICATIONS)
    notification = get_object_or_404(Notification, pk=pk)
    try:
        services.retry_now(actor=user, notification=notification)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(key)s will be sent again shortly.") % {"key": notification.dedup_key}
        )
    return redirect(safe_next(request, reverse("notify:outbox")))


# --- channels ----------------------------------------------------------------------------


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_CHANNELS)
    listed = NotificationChannel.objects.annotate(
        waiting=Count("notifications", filter=Q(notifications__status__in=OPEN_STATUSES)),
        dead=Count("notifications", filter=Q(notifications__status="dead")),
    )
    return render(
        request,
        "notify/channels.html",
        {"channels": listed, "can_manage": can(user, Action.MANAGE_CHANNELS)},
    )


@login_required
def channel_create(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_CHANNELS)
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.create_channel(actor=user, **form.settings())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Channel created."))
            return redirect("notify:channel", pk=channel.pk)
    status = 400 if form.errors else 200
    return render(request, "notify/channel_new.html", {"form": form}, status=status)


@login_required
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.VIEW_CHANNELS)
    channel = get_object_or_404(NotificationChannel, pk=pk)
    can_manage = can(user, Action.MANAGE_CHANNELS)
    if request.method == "POST" and not can_manage:
        raise PermissionDenied(_("You are not allowed to do this."))
    form = ChannelForm(
        request.POST or None, channel=channel, initial=ChannelForm.initial_for(channel)
    )
    if request.method == "POST" and form.is_valid():
        data = form.settings()
        data.pop("kind")
        try:
            services.update_channel(
                actor=user, channel=channel, **{**data, "secret": data["secret"] or None}
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Channel saved."))
            return redirect("notify:channel", pk=channel.pk)
    context = {**_recent_context(channel), "form": form, "can_manage": can_manage}
    return render(request, "notify/channel.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_CHANNELS)
    channel = get_object_or_404(NotificationChannel, pk=pk)
    services.send_test(actor=user, channel=channel)
    messages.success(
        request, _("Test message queued: its outcome appears below within a few seconds.")
    )
    return redirect("notify:channel", pk=channel.pk)


@login_required
def channel_recent(request: HttpRequest, pk: int) -> HttpResponse:
    """The recent messages panel, polled while one of them is still on its way."""
    _require(request, Action.VIEW_CHANNELS)
    channel = get_object_or_404(NotificationChannel, pk=pk)
    return render(request, "notify/_recent.html", _recent_context(channel))


def _recent_context(channel: NotificationChannel) -> dict[str, Any]:
    recent = list(
        channel.notifications.prefetch_related(
            Prefetch("tries", queryset=NotificationAttempt.objects.order_by("number"))
        )[:RECENT]
    )
    return {
        "channel": channel,
        "recent": recent,
        # Polling stops once nothing is about to change (a failed one waits minutes).
        "in_flight": any(notice.status in IN_FLIGHT for notice in recent),
    }
