"""Small request helpers shared by the apps' views."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` page a form names (its filters kept), if it is on this site.

    Anything else, an address on another host above all, gives `fallback`: a form that
    redirects wherever it is told would let a crafted link send people elsewhere.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def client_address(request: HttpRequest) -> str:
    """The caller's address as far as it can be trusted.

    X-Forwarded-For is written by whoever sends the request, so it counts only behind
    ASSURA_PROXIES reverse proxies, and then only the entry the outermost proxy appended
    (each proxy appends the address it saw). The audit log and the API's budget for
    anonymous callers both go by this address.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(getattr(settings, "ASSURA_PROXIES", 0))
    forwarded = request.headers.get("X-Forwarded-For")
    if proxies == 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",")]
    candidate = entries[-min(proxies, len(entries))]
    # With more proxies configured than there are, the entry is the caller's own text;
    # the audit log stores addresses in an address column, which would refuse it.
    return candidate if _is_address(candidate) else remote


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def client_port(request: HttpRequest) -> int | None:
    """The caller's port: the connection's, or behind proxies the one the proxy reports."""
    raw = request.META.get("REMOTE_PORT")
    if getattr(settings, "ASSURA_PROXIES", 0):
        raw = request.headers.get("X-Forwarded-Port", raw)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
