"""Load the demo data of every assura app that has a `demo` module, in app order."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo organisations, people and data (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        lines: list[str] = []
        for config in apps.get_app_configs():
            if not config.name.startswith("assura.") or find_spec(f"{config.name}.demo") is None:
                continue
            loaded = import_module(f"{config.name}.demo").load()
            lines.extend(loaded or [])
        self.stdout.write("Demo logins:")
        for line in lines:
            self.stdout.write(line)
