"""Pages for administrators (read-only for auditors) and the inbound callback addresses.

The pages are thin: check the permission with `can()`, read, call a service for every
change, render. The callback views verify the platform's signature first (`chat`); a
request that fails is logged with its reason and answered with an error, nothing else.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from assura.connect import chat, events, importer, services
from assura.connect.forms import (
    ChatAppForm,
    DeliveryFilterForm,
    IdentityForm,
    ImportForm,
    InboundFilterForm,
    SourceForm,
    SubscriptionForm,
)
from assura.connect.models import (
    OPEN_DELIVERY,
    CaseImport,
    ChatApp,
    DeliveryStatus,
    InboundChannel,
    InboundEvent,
    InboundSource,
    InboundStatus,
    Outcome,
    Platform,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from assura.core.forms import show_errors
from assura.core.models import User
from assura.core.permissions import Action, can

PAGE_SIZE = 50
RECENT = 20
MAX_BODY = 1024 * 1024
STATUS_FOR = {
    chat.Reason.BAD_REQUEST: 400,
    chat.Reason.UNDECRYPTABLE: 400,
    chat.Reason.BAD_SIGNATURE: 401,
    chat.Reason.STALE: 401,
    chat.Reason.BAD_TOKEN: 401,
    chat.Reason.WRONG_RECEIVER: 403,
}


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


def _tolerance() -> float:
    return float(getattr(settings, "ASSURA_CONNECT_MAX_SKEW_SECONDS", 300))


# --- the overview ------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_INTEGRATIONS)
    since = timezone.now() - timedelta(days=1)
    inbound = InboundEvent.objects.filter(received_at__gte=since).aggregate(
        accepted=Count("pk", filter=Q(status=InboundStatus.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=InboundStatus.REJECTED)),
    )
    deliveries = WebhookDelivery.objects.aggregate(
        waiting=Count("pk", filter=Q(status__in=OPEN_DELIVERY)),
        dead=Count("pk", filter=Q(status=DeliveryStatus.DEAD)),
    )
    return render(
        request,
        "connect/index.html",
        {
            "apps": ChatApp.objects.select_related("organisation"),
            "sources": InboundSource.objects.select_related("organisation"),
            "subscriptions": WebhookSubscription.objects.all(),
            "inbound": inbound,
            "deliveries": deliveries,
            "imports": CaseImport.objects.select_related("uploaded_by").defer("content")[:5],
            "can_manage": can(user, Action.MANAGE_INTEGRATIONS),
            "can_import": can(user, Action.IMPORT_CASES),
        },
    )


# --- chat applications -------------------------------------------------------------------


def callback_url(request: HttpRequest, name: str, key: str) -> str:
    return request.build_absolute_uri(reverse(name, args=[key]))


@login_required
def chat_app_new(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTEGRATIONS)
    form = ChatAppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            app = services.save_chat_app(actor=user, **form.values())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Chat application saved."))
            return redirect("connect:chat_app", pk=app.pk)
    return render(
        request, "connect/chat_app_new.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def chat_app_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.VIEW_INTEGRATIONS)
    app = get_object_or_404(ChatApp.objects.select_related("organisation"), pk=pk)
    can_manage = can(user, Action.MANAGE_INTEGRATIONS)
    if request.method == "POST" and not can_manage:
        raise PermissionDenied(_("You are not allowed to do this."))
    form = ChatAppForm(request.POST or None, app=app, initial=ChatAppForm.initial_for(app))
    if request.method == "POST" and form.is_valid():
        try:
            services.save_chat_app(actor=user, app=app, **form.values())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Chat application saved."))
            return redirect("connect:chat_app", pk=app.pk)
    context = {
        "app": app,
        "form": form,
        "identity_form": IdentityForm(app=app),
        "identities": app.identities.select_related("person").order_by("user_id"),
        "events": app.events.select_related("case")[:RECENT],
        "callback": callback_url(request, f"connect:in_{app.platform}", app.key),
        "can_manage": can_manage,
    }
    return render(request, "connect/chat_app.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def chat_identity(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTEGRATIONS)
    app = get_object_or_404(ChatApp, pk=pk)
    form = IdentityForm(request.POST, app=app)
    if form.is_valid():
        try:
            services.link_identity(actor=user, app=app, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Linked."))
    else:
        messages.error(request, _("Choose a contact and enter the user id."))
    return redirect("connect:chat_app", pk=app.pk)


# --- signed sources ----------------------------------------------------------------------


@login_required
def source_new(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTEGRATIONS)
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source, secret = services.save_source(actor=user, **form.cleaned_data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _source_page(request, user, source, new_secret=secret)
    return render(
        request, "connect/source_new.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.VIEW_INTEGRATIONS)
    source = get_object_or_404(InboundSource.objects.select_related("organisation"), pk=pk)
    if request.method != "POST":
        return _source_page(request, user, source)
    _require(request, Action.MANAGE_INTEGRATIONS)
    form = SourceForm(request.POST)
    if form.is_valid():
        try:
            source, secret = services.save_source(actor=user, source=source, **form.cleaned_data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Source saved."))
            return _source_page(request, user, source, new_secret=secret)
    return _source_page(request, user, source, form=form)


def _source_page(
    request: HttpRequest,
    user: User,
    source: InboundSource,
    *,
    form: SourceForm | None = None,
    new_secret: str = "",
) -> HttpResponse:
    form = form or SourceForm(
        initial={
            "name": source.name,
            "organisation": source.organisation_id,
            "case_type": source.case_type,
            "priority": source.priority,
            "is_active": source.is_active,
        }
    )
    context = {
        "source": source,
        "form": form,
        "new_secret": new_secret,
        "address": callback_url(request, "connect:in_signed", source.key),
        "events": source.events.select_related("case")[:RECENT],
        "can_manage": can(user, Action.MANAGE_INTEGRATIONS),
    }
    return render(request, "connect/source.html", context, status=400 if form.errors else 200)


# --- webhook subscriptions ---------------------------------------------------------------


@login_required
def subscription_new(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTEGRATIONS)
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            subscription, secret = services.save_subscription(actor=user, **data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _subscription_page(request, user, subscription, new_secret=secret)
    return render(
        request,
        "connect/subscription_new.html",
        {"form": form, "available": events.available()},
        status=400 if form.errors else 200,
    )


@login_required
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.VIEW_INTEGRATIONS)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    if request.method != "POST":
        return _subscription_page(request, user, subscription)
    _require(request, Action.MANAGE_INTEGRATIONS)
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            subscription, secret = services.save_subscription(
                actor=user, subscription=subscription, **form.cleaned_data
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Subscription saved."))
            return _subscription_page(request, user, subscription, new_secret=secret)
    return _subscription_page(request, user, subscription, form=form)


def _subscription_page(
    request: HttpRequest,
    user: User,
    subscription: WebhookSubscription,
    *,
    form: SubscriptionForm | None = None,
    new_secret: str = "",
) -> HttpResponse:
    form = form or SubscriptionForm(initial=SubscriptionForm.initial_for(subscription))
    recent = subscription.deliveries.prefetch_related(
        Prefetch("tries", queryset=WebhookAttempt.objects.order_by("number"))
    )[:RECENT]
    context = {
        "subscription": subscription,
        "form": form,
        "new_secret": new_secret,
        "deliveries": recent,
        "available": events.available(),
        "can_manage": can(user, Action.MANAGE_INTEGRATIONS),
    }
    return render(request, "connect/subscription.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def subscription_ping(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTEGRATIONS)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    services.send_ping(actor=user, subscription=subscription)
    messages.success(request, _("Test delivery queued; the worker sends it within seconds."))
    return redirect("connect:subscription", pk=subscription.pk)


# --- the delivery log --------------------------------------------------------------------


@login_required
def deliveries(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_INTEGRATIONS)
    form = DeliveryFilterForm(request.GET or None)
    rows = WebhookDelivery.objects.select_related("subscription").prefetch_related(
        Prefetch("tries", queryset=WebhookAttempt.objects.order_by("number"))
    )
    if form.is_bound and form.is_valid():
        for name in ("status", "event", "subscription"):
            if form.cleaned_data[name]:
                rows = rows.filter(**{name: form.cleaned_data[name]})
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "connect/deliveries.html",
        {"form": form, "page": page, "can_manage": can(user, Action.MANAGE_INTEGRATIONS)},
    )


@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.VIEW_INTEGRATIONS)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("subscription"), pk=pk)
    return render(
        request,
        "connect/delivery.html",
        {
            "delivery": delivery,
            "tries": delivery.tries.order_by("number"),
            "document": json.dumps(
                {"id": str(delivery.delivery_id), **delivery.payload},
                ensure_ascii=False,
                indent=2,
            ),
            "can_manage": can(user, Action.MANAGE_INTEGRATIONS),
        },
    )


@login_required
@require_POST
def redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_INTEGRATIONS)
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        services.redeliver(actor=user, delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The delivery will be sent again within seconds."))
    return redirect("connect:delivery", pk=delivery.pk)


# --- the inbound log ---------------------------------------------------------------------


@login_required
def inbound(request: HttpRequest) -> HttpResponse:
    _require(request, Action.VIEW_INTEGRATIONS)
    form = InboundFilterForm(request.GET or None)
    rows = InboundEvent.objects.select_related("chat_app", "source", "case")
    if form.is_bound and form.is_valid():
        for name in ("status", "channel"):
            if form.cleaned_data[name]:
                rows = rows.filter(**{name: form.cleaned_data[name]})
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "connect/inbound.html", {"form": form, "page": page})


# --- imports -----------------------------------------------------------------------------


@login_required
def imports(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.IMPORT_CASES)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = importer.upload(
                actor=user,
                name=upload.name or "cases.csv",
                content=upload.read(importer.MAX_BYTES + 1),
                options=importer.Options(
                    time_zone=form.cleaned_data["time_zone"],
                    channel=form.cleaned_data["channel"],
                    create_contacts=form.cleaned_data["create_contacts"],
                ),
                again=form.cleaned_data["again"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            return redirect("connect:import", pk=batch.pk)
    listed = CaseImport.objects.select_related("uploaded_by").defer("content")[:RECENT]
    return render(
        request,
        "connect/imports.html",
        {"form": form, "imports": listed, "columns": importer.COLUMNS},
        status=400 if form.errors else 200,
    )


def _batch(pk: int) -> CaseImport:
    return get_object_or_404(
        CaseImport.objects.select_related("uploaded_by").defer("content"), pk=pk
    )


def _import_context(batch: CaseImport) -> dict[str, Any]:
    shown = [
        {**problem, "message": importer.message_of(problem), "notice": importer.is_notice(problem)}
        for problem in batch.problems[:200]
    ]
    return {"batch": batch, "problems": shown, "more": max(len(batch.problems) - 200, 0)}


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Action.IMPORT_CASES)
    batch = _batch(pk)
    template = (
        "connect/_import_status.html"
        if request.headers.get("HX-Request")
        else "connect/import.html"
    )
    return render(request, template, _import_context(batch))


@login_required
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.IMPORT_CASES)
    batch = _batch(pk)
    try:
        importer.start(actor=user, batch=batch)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Import started; this page follows its progress."))
    return redirect("connect:import", pk=batch.pk)


@login_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Action.IMPORT_CASES)
    batch = _batch(pk)
    response = HttpResponse(importer.report_csv(batch), content_type="text/csv; charset=utf-8")
    stem = batch.file_name.rsplit(".", 1)[0] or "import"
    name = f"{stem}-{_('problems')}.csv"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# --- inbound addresses -------------------------------------------------------------------


def _request(request: HttpRequest, channel: str) -> services.Request:
    body = request.body if request.method == "POST" else b""
    return services.Request(
        channel=channel,
        method=request.method or "",
        path=request.get_full_path(),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        body=body,
    )


def _refuse(
    info: services.Request, outcome: str, detail: str, status: int, **fields: Any
) -> HttpResponse:
    services.reject(info, outcome, detail, **fields)
    return JsonResponse({"error": outcome, "detail": detail}, status=status)


def _app_for(
    request: HttpRequest, key: str, platform: str
) -> tuple[services.Request, ChatApp | None, HttpResponse | None]:
    info = _request(request, platform)
    if len(info.body) > MAX_BODY:
        return info, None, _refuse(info, Outcome.BAD_REQUEST, "body too large", 413)
    app = ChatApp.objects.select_related("organisation").filter(key=key, platform=platform).first()
    if app is None:
        return info, None, _refuse(info, Outcome.UNKNOWN_APP, "no application at this address", 404)
    if not app.is_active:
        return info, app, _refuse(info, Outcome.INACTIVE, "switched off", 403, app=app)
    return info, app, None


def _rejected(info: services.Request, rejection: chat.RejectedError, **fields: Any) -> HttpResponse:
    return _refuse(info, rejection.reason, rejection.detail, STATUS_FOR[rejection.reason], **fields)


@csrf_exempt
def in_wecom(request: HttpRequest, key: str) -> HttpResponse:
    """WeCom: GET checks the address (echo the decrypted echostr), POST delivers messages."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    info, app, refusal = _app_for(request, key, Platform.WECOM)
    if refusal is not None or app is None:
        return refusal  # type: ignore[return-value]
    query = request.GET
    common = {
        "token": app.token,
        "encoding_aes_key": app.encryption_key,
        "receive_id": app.app_id,
        "msg_signature": query.get("msg_signature", ""),
        "timestamp": query.get("timestamp", ""),
        "nonce": query.get("nonce", ""),
        "now": time.time(),
        "tolerance": _tolerance(),
    }
    try:
        if request.method == "GET":
            echo = chat.wecom_verify_url(echostr=query.get("echostr", ""), **common)
            services.log_request(
                info, status=InboundStatus.ACCEPTED, outcome=Outcome.CHALLENGE, app=app
            )
            return HttpResponse(echo, content_type="text/plain; charset=utf-8")
        opened = chat.wecom_open(body=info.body, **common)
    except chat.RejectedError as rejection:
        return _rejected(info, rejection, app=app)
    services.take_chat(app, opened, info)
    return HttpResponse("", status=200, content_type="text/plain")


@csrf_exempt
@require_POST
def in_dingtalk(request: HttpRequest, key: str) -> HttpResponse:
    """DingTalk: a robot forwards what people @-mention it with; we may answer in the chat."""
    info, app, refusal = _app_for(request, key, Platform.DINGTALK)
    if refusal is not None or app is None:
        return refusal  # type: ignore[return-value]
    try:
        opened = chat.dingtalk_open(
            app_secret=app.app_secret,
            timestamp=request.headers.get("timestamp", ""),
            sign=request.headers.get("sign", ""),
            body=info.body,
            now=time.time(),
        )
    except chat.RejectedError as rejection:
        return _rejected(info, rejection, app=app)
    event = services.take_chat(app, opened, info)
    answer = _answer_text(event)
    if not answer:
        return JsonResponse({})
    return JsonResponse({"msgtype": "text", "text": {"content": answer}})


@csrf_exempt
@require_POST
def in_feishu(request: HttpRequest, key: str) -> HttpResponse:
    """Feishu: event callbacks, the address check included (answered with its challenge)."""
    info, app, refusal = _app_for(request, key, Platform.FEISHU)
    if refusal is not None or app is None:
        return refusal  # type: ignore[return-value]
    try:
        opened = chat.feishu_open(
            verification_token=app.token,
            encrypt_key=app.encryption_key,
            timestamp=request.headers.get("X-Lark-Request-Timestamp", ""),
            nonce=request.headers.get("X-Lark-Request-Nonce", ""),
            signature=request.headers.get("X-Lark-Signature", ""),
            body=info.body,
            now=time.time(),
            tolerance=_tolerance(),
        )
    except chat.RejectedError as rejection:
        return _rejected(info, rejection, app=app)
    services.take_chat(app, opened, info)
    if opened.challenge is not None:
        return JsonResponse({"challenge": opened.challenge})
    return JsonResponse({})


def _answer_text(event: InboundEvent) -> str:
    """What the chat is told (in the contact's language) after a message was taken."""
    if event.case is None or event.outcome not in (Outcome.CREATED, Outcome.REPLIED):
        return ""
    contact = event.case.contact
    with translation.override((contact.language if contact else "") or settings.LANGUAGE_CODE):
        if event.outcome == Outcome.CREATED:
            return _("Thank you. Your case %(reference)s is open; we will answer here soon.") % {
                "reference": event.case.reference
            }
        return _("Added to your case %(reference)s.") % {"reference": event.case.reference}


@csrf_exempt
@require_POST
def in_signed(request: HttpRequest, key: str) -> HttpResponse:
    """Signed JSON from another system: opens one case per event id."""
    info = _request(request, InboundChannel.SIGNED)
    if len(info.body) > MAX_BODY:
        return _refuse(info, Outcome.BAD_REQUEST, "body too large", 413)
    source = InboundSource.objects.select_related("organisation").filter(key=key).first()
    if source is None:
        return _refuse(info, Outcome.UNKNOWN_APP, "no source at this address", 404)
    if not source.is_active:
        return _refuse(info, Outcome.INACTIVE, "switched off", 403, source=source)
    try:
        document = chat.verify_signed(
            secret=source.secret,
            timestamp=request.headers.get("X-Assura-Timestamp", ""),
            signature=request.headers.get("X-Assura-Signature", ""),
            body=info.body,
            now=time.time(),
            tolerance=_tolerance(),
        )
    except chat.RejectedError as rejection:
        return _rejected(info, rejection, source=source)
    result = services.take_signed(source, document, info)
    event = result.event
    if result.created and result.case is not None:
        return JsonResponse(
            {
                "case": result.case.reference,
                "status": "created",
                "url": events.case_url(result.case.reference),
            },
            status=201,
        )
    if event.outcome == Outcome.REPLAYED and result.case is not None:
        return JsonResponse(
            {
                "case": result.case.reference,
                "status": "duplicate",
                "url": events.case_url(result.case.reference),
            },
            status=200,
        )
    status = 400 if event.outcome == Outcome.BAD_REQUEST else 422
    if event.outcome == Outcome.REPLAYED:
        status = 409
    return JsonResponse({"error": event.outcome, "detail": event.detail}, status=status)
