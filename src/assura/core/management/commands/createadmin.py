"""Create an administrator interactively or from --username/--password (for scripts)."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assura.core import services
from assura.core.models import Role, User


class Command(BaseCommand):
    help = "Create an administrator account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="prefer the prompt; shells keep history")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"] or input("Username: ").strip()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A person with the login {username!r} exists already.")
        password = options["password"] or self._ask_password()
        try:
            person = services.create_person(
                actor=None,
                username=username,
                role=Role.ADMIN,
                organisation=services.provider_organisation(),
                password=password,
                email=options["email"],
                display_name=username,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        person.is_superuser = True
        person.save(update_fields=["is_superuser"])
        self.stdout.write(f"Administrator {username!r} created.")

    def _ask_password(self) -> str:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords differ.")
        if len(first) < 8:
            raise CommandError("Use at least 8 characters.")
        return first
