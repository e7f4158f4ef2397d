"""Every write to organisations, teams and people: one function per business action.

Each runs in a transaction under `acting_as`, validates with the model's own rules
(`full_clean`), and raises `ValidationError` with field messages in the user's
language before anything is saved.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from assura.core.audit import acting_as
from assura.core.models import ApiToken, Organisation, OrganisationKind, Role, Team, User
from assura.core.permissions import Action, can


def _require(actor: User | None, action: Action) -> None:
    """Services are also called by the system (actor None), which may do anything."""
    if actor is not None and not can(actor, action):
        raise PermissionDenied(_("You are not allowed to do this."))


def create_organisation(*, actor: User | None, kind: str, code: str, name: str) -> Organisation:
    _require(actor, Action.MANAGE_ORGANISATIONS)
    organisation = Organisation(kind=kind, code=code.strip(), name=name.strip())
    organisation.full_clean()
    with acting_as(actor):
        organisation.save()
    return organisation


def create_team(*, actor: User | None, code: str, name: str, lead: User | None = None) -> Team:
    _require(actor, Action.MANAGE_TEAMS)
    team = Team(code=code.strip(), name=name.strip(), lead=lead)
    team.full_clean()
    if lead is not None and not lead.is_staff_member:
        raise ValidationError({"lead": _("A team lead must be a member of staff.")})
    with acting_as(actor):
        team.save()
    return team


def set_team_lead(*, actor: User | None, team: Team, lead: User | None) -> Team:
    _require(actor, Action.MANAGE_TEAMS)
    if lead is not None and not lead.is_staff_member:
        raise ValidationError({"lead": _("A team lead must be a member of staff.")})
    with acting_as(actor):
        team.lead = lead
        team.save(update_fields=["lead"])
    return team


def create_person(
    *,
    actor: User | None,
    username: str,
    role: str,
    organisation: Organisation,
    password: str | None = None,
    display_name: str = "",
    email: str = "",
    team: Team | None = None,
    language: str = "",
    time_zone: str = "",
) -> User:
    """Add a member of staff or a customer contact.

    Without a password the account cannot log in until one is set, which is how
    contacts created by imports and e-mail intake start.
    """
    _require(actor, Action.MANAGE_PEOPLE)
    person = User(
        username=username.strip(),
        role=role,
        organisation=organisation,
        display_name=display_name.strip(),
        email=email.strip(),
        team=team,
        is_staff=role == Role.ADMIN,
        is_superuser=False,
    )
    _check_preferences(language, time_zone)
    person.language, person.time_zone = language, time_zone
    if password:
        person.set_password(password)
    else:
        person.set_unusable_password()
    person.full_clean()
    with acting_as(actor):
        person.save()
    return person


def update_preferences(*, actor: User, person: User, language: str, time_zone: str) -> User:
    """A person changes its own language and time zone (or an administrator does)."""
    if actor.pk != person.pk:
        _require(actor, Action.MANAGE_PEOPLE)
    _check_preferences(language, time_zone)
    with acting_as(actor):
        person.language, person.time_zone = language, time_zone
        person.save(update_fields=["language", "time_zone"])
    return person


def deactivate_person(*, actor: User | None, person: User) -> User:
    """People are deactivated, never deleted: the audit trail and the cases keep them."""
    _require(actor, Action.MANAGE_PEOPLE)
    with acting_as(actor):
        person.is_active = False
        person.save(update_fields=["is_active"])
    return person


def _check_preferences(language: str, time_zone: str) -> None:
    errors: dict[str, Any] = {}
    if language and language not in dict(settings.LANGUAGES):
        errors["language"] = _("Choose one of the offered languages.")
    if time_zone:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _("This is not a known time zone.")
    if errors:
        raise ValidationError(errors)


def provider_organisation() -> Organisation:
    """The one provider organisation, created on first need."""
    organisation, _created = Organisation.objects.get_or_create(
        kind=OrganisationKind.PROVIDER, defaults={"code": "provider", "name": "Provider"}
    )
    return organisation


TOKEN_PREFIX = "asr_"  # noqa: S105 - a public marker, not a secret


def issue_api_token(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for `actor`; the secret is returned once and never stored."""
    import hashlib
    import secrets

    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with acting_as(actor):
        token = ApiToken.objects.create(
            user=actor,
            name=name[:100],
            prefix=secret[:12],
            digest=hashlib.sha256(secret.encode()).hexdigest(),
        )
    return token, secret


def revoke_api_token(*, actor: User, token: ApiToken) -> ApiToken:
    from django.utils import timezone

    if token.user_id != actor.pk:
        _require(actor, Action.MANAGE_PEOPLE)
    with acting_as(actor):
        token.revoked_at = token.revoked_at or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
