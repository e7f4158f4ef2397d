"""The intake page: mail channels and their connection, the messages that need a person;
the pages that create and change a mail channel.

Thin views: `can()` decides, a service does every change, the page renders.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assura.core.forms import show_errors
from assura.core.http import safe_next
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.intake import outgoing, services
from assura.intake.forms import MailChannelForm
from assura.intake.models import (
    Connection,
    InboundMessage,
    InboundStatus,
    MailChannel,
    OutboundMail,
    OutboundStatus,
)

LISTED = 50


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


@login_required
def channels(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_INTAKE)
    since = timezone.now() - timedelta(days=1)
    listed = MailChannel.objects.select_related("default_organisation", "default_team").annotate(
        imported_today=Count(
            "inbound",
            filter=Q(inbound__status=InboundStatus.IMPORTED, inbound__received_at__gte=since),
        ),
        failed=Count("inbound", filter=Q(inbound__status=InboundStatus.FAILED)),
    )
    failed = (
        InboundMessage.objects.filter(status__in=(InboundStatus.FAILED, InboundStatus.RECEIVED))
        .select_related("channel")
        .defer("raw")[:LISTED]
    )
    set_aside = (
        InboundMessage.objects.filter(status__in=(InboundStatus.IGNORED, InboundStatus.REJECTED))
        .select_related("channel")
        .defer("raw")[:LISTED]
    )
    unsent = OutboundMail.objects.filter(
        status__in=(OutboundStatus.FAILED, OutboundStatus.DEAD)
    ).select_related("case", "channel")[:LISTED]
    return render(
        request,
        "intake/channels.html",
        {
            "channels": listed,
            "failed": failed,
            "set_aside": set_aside,
            "unsent": unsent,
            "can_manage": can(user, Action.MANAGE_INTAKE),
        },
    )


# --- a channel's settings ----------------------------------------------------------------


@login_required
def channel_new(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTAKE)
    form = MailChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.create_channel(actor=user, **form.values())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(
                request,
                _("Mail channel created. Test the connection to see whether assura can log in."),
            )
            return redirect("intake:channel", pk=channel.pk)
    status = 400 if form.errors else 200
    return render(request, "intake/channel_new.html", {"form": form}, status=status)


@login_required
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.VIEW_INTAKE)
    channel = get_object_or_404(
        MailChannel.objects.select_related("default_organisation", "default_team"), pk=pk
    )
    can_manage = can(user, Action.MANAGE_INTAKE)
    if request.method == "POST" and not can_manage:
        raise PermissionDenied(_("You are not allowed to do this."))
    form = MailChannelForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.update_channel(actor=user, channel=channel, **form.values())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Mail channel saved."))
            return redirect("intake:channel", pk=channel.pk)
    context = {
        "channel": channel,
        "form": form,
        "can_manage": can_manage,
        # About what is stored: after a refused save the form shows what is wrong instead.
        "warnings": [] if form.errors else services.channel_warnings(channel),
    }
    return render(request, "intake/channel.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def channel_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTAKE)
    channel = get_object_or_404(MailChannel, pk=pk)
    active = request.POST.get("active") == "1"
    channel = services.set_channel_active(actor=user, channel=channel, active=active)
    if channel.is_active:
        messages.success(
            request, _("%(channel)s is active: it is fetched again.") % {"channel": channel.name}
        )
    else:
        messages.success(
            request,
            _(
                "%(channel)s is switched off: its mailbox is no longer read. Its messages "
                "and cases stay as they are."
            )
            % {"channel": channel.name},
        )
    return redirect(safe_next(request, reverse("intake:channel", args=[channel.pk])))


@login_required
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTAKE)
    channel = services.check_connection(actor=user, channel=get_object_or_404(MailChannel, pk=pk))
    values = {"channel": channel.name, "minutes": max(1, channel.poll_seconds // 60)}
    if channel.connection == Connection.CONNECTED:
        messages.success(request, _("%(channel)s: connected to the mail server.") % values)
    elif channel.connection == Connection.DISCONNECTED:
        messages.info(
            request,
            _(
                "%(channel)s: the mail server cannot be reached at the moment. assura tries "
                "again every %(minutes)s min; nothing is lost while it waits."
            )
            % values,
        )
    else:
        messages.warning(
            request,
            _("%(channel)s: the mail server refused the connection: %(detail)s")
            % {**values, "detail": channel.connection_detail},
        )
    return redirect(safe_next(request, reverse("intake:channels")))


def _retry(request: HttpRequest, pk: int, *, force: bool) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTAKE)
    inbound = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    try:
        result = services.retry(actor=user, inbound=inbound, force=force)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("intake:channels")
    if result.status == InboundStatus.IMPORTED:
        messages.success(
            request,
            _("The message is imported into %(reference)s.")
            % {"reference": result.case.reference if result.case else "—"},
        )
    else:
        messages.warning(
            request,
            _("The message could not be imported: %(error)s")
            % {"error": result.error or result.get_reason_display()},
        )
    return redirect("intake:channels")


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    return _retry(request, pk, force=False)


@login_required
@require_POST
def import_anyway(request: HttpRequest, pk: int) -> HttpResponse:
    return _retry(request, pk, force=True)


@login_required
def original(request: HttpRequest, pk: int) -> HttpResponse:
    """The message exactly as received, for a closer look in a mail program."""
    _require(request, Action.VIEW_INTAKE)
    inbound = get_object_or_404(InboundMessage, pk=pk)
    response = HttpResponse(bytes(inbound.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{inbound.pk}.eml"'
    return response


@login_required
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTAKE)
    mail = get_object_or_404(OutboundMail, pk=pk)
    try:
        outgoing.retry_now(actor=user, outbound=mail)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The mail will be sent again shortly."))
    return redirect("intake:channels")
