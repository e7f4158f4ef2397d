"""Demo: one webhook subscription to an address where nothing listens.

Its deliveries fail, are retried with backoff and end up given up, all recorded in the
delivery log: what an administrator sees when a receiving system is down.
"""

from __future__ import annotations

from assura.connect import services
from assura.connect.events import EVENTS
from assura.connect.models import WebhookSubscription

DEMO_NAME = "演示 Demo receiver (nothing listens)"
DEMO_URL = "http://127.0.0.1:9/assura-demo-webhook"  # the discard port: refused at once


def load() -> list[str]:
    if WebhookSubscription.objects.filter(name=DEMO_NAME).exists():
        return []
    services.save_subscription(
        actor=None,
        name=DEMO_NAME,
        url=DEMO_URL,
        events=list(EVENTS),
        secret="demo-secret-not-for-production",  # noqa: S106 - a demo receiver
    )
    return [f"  webhook subscription to {DEMO_URL} (its deliveries fail and are logged)"]
