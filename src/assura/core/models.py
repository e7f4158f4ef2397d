"""Organisations, teams and people: who promises, who is promised, who acts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from collections.abc import Iterable

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
    _("Use 1-32 letters, digits, '-' or '_', starting with a letter or digit."),
)


class Role(models.TextChoices):
    """What a person does in assura; the permission matrix is keyed by these values."""

    ADMIN = "admin", _("Administrator")
    QUALITY_MANAGER = "quality_manager", _("Quality manager")
    MANAGER = "manager", _("Manager")
    TEAM_LEAD = "team_lead", _("Team lead")
    AGENT = "agent", _("Agent")
    AUDITOR = "auditor", _("Auditor")
    CUSTOMER = "customer", _("Customer contact")

    @classmethod
    def staff_roles(cls) -> Iterable[Role]:
        return [role for role in cls if role is not cls.CUSTOMER]


class OrganisationKind(models.TextChoices):
    PROVIDER = "provider", _("Service provider")
    CUSTOMER = "customer", _("Customer")


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def visible_to(self, user: User) -> OrganisationQuerySet:
        """Staff see every organisation; a customer contact only its own."""
        if user.is_customer:
            return self.filter(pk=user.organisation_id)
        return self.all()

    def customers(self) -> OrganisationQuerySet:
        return self.filter(kind=OrganisationKind.CUSTOMER)


class Organisation(models.Model):
    """The provider running assura, or one of its customers.

    One installation serves one provider; the customers are the tenants whose data
    must never cross (every query on their records goes through `visible_to`).
    """

    kind = models.CharField(_("kind"), max_length=16, choices=OrganisationKind.choices)
    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind="provider"),
                name="one_provider_organisation",
            )
        ]

    def __str__(self) -> str:
        return self.name


class TeamQuerySet(models.QuerySet["Team"]):
    def visible_to(self, user: User) -> TeamQuerySet:
        """Customers see no internal teams; staff see them all."""
        if user.is_customer:
            return self.none()
        return self.all()


class Team(models.Model):
    """A group of staff that owns work (cases, follow-ups) and is appraised together."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    lead = models.ForeignKey(
        "User",
        verbose_name=_("team lead"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_teams",
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PeopleManager(UserManager["User"]):
    def visible_to(self, user: User) -> models.QuerySet[User]:
        """Staff see everyone; a customer contact sees the contacts of its organisation."""
        people = self.get_queryset()
        if user.is_customer:
            return people.filter(organisation_id=user.organisation_id)
        return people


class User(AbstractUser):
    """A person who logs in: provider staff in one role, or a customer's contact.

    Roles are a single field rather than Django groups because the permission matrix is
    a product rule (docs/permissions.md), not something an administrator rewires.
    """

    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="people",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)

    objects = PeopleManager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["display_name", "username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def is_staff_member(self) -> bool:
        return bool(self.role) and self.role != Role.CUSTOMER

    def clean(self) -> None:
        super().clean()
        if not self.organisation_id:
            return
        kind = self.organisation.kind
        if self.role == Role.CUSTOMER and kind != OrganisationKind.CUSTOMER:
            raise ValidationError(
                {"organisation": _("A customer contact belongs to a customer organisation.")}
            )
        if self.role and self.role != Role.CUSTOMER and kind != OrganisationKind.PROVIDER:
            raise ValidationError(
                {"organisation": _("Staff belong to the service provider organisation.")}
            )
        if self.team_id and self.role == Role.CUSTOMER:
            raise ValidationError({"team": _("Customer contacts are not in internal teams.")})


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the secret is shown once.

    The token acts with its owner's permissions, so a customer's token sees its own
    organisation only, exactly like the web pages.
    """

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
