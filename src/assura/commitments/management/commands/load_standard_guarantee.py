"""Load the standard guarantee's policies (safe to run again: existing ones are kept)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from assura.commitments import standard


class Command(BaseCommand):
    help = "Create the standard guarantee's SLA policies where they do not exist yet."

    def handle(self, *args: Any, **options: Any) -> None:
        created = standard.load()
        names = ", ".join(policy.name for policy in created) or "none (all present)"
        self.stdout.write(f"Policies created: {names}")
