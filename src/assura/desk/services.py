"""Every action on a case: one function each, in a transaction, audited, SLA-aware.

Intake channels (portal, e-mail, API, chat robots, an agent logging a phone call) all
call `open_case`; every later action goes through the functions below, which record
the activity, tell the clocks (`desk.clocks`) and refuse bad input before writing.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from datetime import datetime, timedelta

from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assura.commitments import matching
from assura.commitments import services as commitments
from assura.commitments.models import (
    CaseEvent,
    CaseType,
    Channel,
    Policy,
    PolicyVersion,
    Priority,
    Service,
)
from assura.core import numbering
from assura.core.audit import acting_as
from assura.core.models import Organisation, OrganisationKind, Team, User
from assura.core.permissions import Action, can
from assura.desk import clocks, signals
from assura.desk.models import (
    ACTIVE_STATUSES,
    Activity,
    ActivityKind,
    Attachment,
    Case,
    Message,
    MessageKind,
    ReferenceCounter,
    Status,
)
from assura.sla import queries as sla_queries

WAITING = (Status.WAITING_CUSTOMER, Status.WAITING_THIRD_PARTY)


def _now(at: datetime | None) -> datetime:
    if at is not None and timezone.is_naive(at):
        raise ValidationError(_("Times must carry a time zone."))
    return at or timezone.now()


def _require(actor: User | None, action: Action, case: Case | None = None) -> None:
    """The system (actor None) may do anything; people only what the matrix allows."""
    if actor is not None and not can(actor, action, case):
        raise PermissionDenied(_("You are not allowed to do this on this case."))


def _require_staff(actor: User | None, case: Case) -> None:
    if actor is not None and actor.is_customer:
        raise PermissionDenied(_("Only staff can do this."))
    _require(actor, Action.WORK_CASES, case)


def _log(
    case: Case,
    kind: str,
    at: datetime,
    actor: User | None,
    before: object = "",
    after: object = "",
    note: str = "",
) -> Activity:
    return Activity.objects.create(
        case=case,
        kind=kind,
        at=at,
        actor=actor,
        before=str(before or ""),
        after=str(after or ""),
        note=note[:300],
    )


# ---------------------------------------------------------------------------- intake


def open_case(
    *,
    actor: User | None,
    organisation: Organisation,
    case_type: str,
    subject: str,
    channel: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    contact: User | None = None,
    service: Service | None = None,
    team: Team | None = None,
    assignee: User | None = None,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
    idempotency_key: str | None = None,
) -> Case:
    """The one door every channel uses to create a case; its clocks start with it.

    A repeated `idempotency_key` returns the case it created the first time, so a
    client that retries after a timeout never makes a duplicate.
    """
    created_at = _now(at)
    if idempotency_key:
        existing = Case.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    _require(actor, Action.CREATE_CASES)
    contact = _intake_contact(actor, organisation, contact)
    _check_intake(organisation, case_type, subject, channel, priority, service, assignee)
    _check_attachments(attachments)
    reference = _next_reference(created_at.year)
    try:
        with acting_as(actor):
            case = _create_case(
                reference,
                actor,
                organisation,
                case_type,
                subject.strip(),
                channel,
                description,
                priority,
                contact,
                service,
                team,
                assignee,
                created_at,
                idempotency_key,
            )
            if attachments:
                message = Message.objects.create(
                    case=case,
                    kind=MessageKind.CUSTOMER,
                    author=contact,
                    body=description or subject,
                    created_at=created_at,
                    channel=channel,
                )
                _store_attachments(message, attachments)
            clocks.on_event(case, CaseEvent.CREATED, created_at, actor, new=True)
    except IntegrityError:
        if idempotency_key:
            return Case.objects.get(idempotency_key=idempotency_key)
        raise
    return case


def _intake_contact(
    actor: User | None, organisation: Organisation, contact: User | None
) -> User | None:
    """A contact raises cases for its own organisation, as itself."""
    if actor is not None and actor.is_customer:
        if actor.organisation_id != organisation.pk:
            raise PermissionDenied(_("You can only raise cases for your own organisation."))
        return actor
    if contact is not None and contact.organisation_id != organisation.pk:
        raise ValidationError({"contact": _("The contact belongs to another organisation.")})
    return contact


def _check_intake(
    organisation: Organisation,
    case_type: str,
    subject: str,
    channel: str,
    priority: str,
    service: Service | None,
    assignee: User | None,
) -> None:
    errors: dict[str, str] = {}
    if organisation.kind != OrganisationKind.CUSTOMER:
        errors["organisation"] = _("Cases are raised for a customer organisation.")
    if case_type not in CaseType.values:
        errors["case_type"] = _("Choose a case type.")
    if not subject or not subject.strip():
        errors["subject"] = _("Give the case a subject.")
    elif len(subject) > 300:
        errors["subject"] = _("Keep the subject under 300 characters.")
    if channel not in Channel.values:
        errors["channel"] = _("Unknown channel.")
    if priority not in Priority.values:
        errors["priority"] = _("Choose a priority.")
    if service is not None and not service.is_active:
        errors["service"] = _("This service is no longer offered.")
    if assignee is not None and not assignee.is_staff_member:
        errors["assignee"] = _("Cases are assigned to staff.")
    if errors:
        raise ValidationError(errors)


def _create_case(
    reference: str,
    actor: User | None,
    organisation: Organisation,
    case_type: str,
    subject: str,
    channel: str,
    description: str,
    priority: str,
    contact: User | None,
    service: Service | None,
    team: Team | None,
    assignee: User | None,
    created_at: datetime,
    idempotency_key: str | None,
) -> Case:
    staff_actor = actor if actor is not None and actor.is_staff_member else None
    owner = assignee or staff_actor
    case = Case(
        reference=reference,
        case_type=case_type,
        priority=priority,
        channel=channel,
        subject=subject,
        description=description,
        organisation=organisation,
        contact=contact,
        service=service,
        team=team or (assignee.team if assignee else None),
        assignee=assignee,
        first_contact_owner=owner,
        created_at=created_at,
        status=Status.OPEN if owner else Status.NEW,
        idempotency_key=idempotency_key,
    )
    case.contract = commitments.contract_for(
        organisation.pk, service.pk if service else None, created_at.date()
    )
    case.policy_version = clocks.select_policy(case)
    case.save()
    _log(case, ActivityKind.CREATED, created_at, actor, after=case.get_channel_display())
    if case.policy_version is not None:
        _log(case, ActivityKind.POLICY, created_at, actor, after=str(case.policy_version))
    return case


def _next_reference(year: int) -> str:
    """C-2026-000123: per-year numbers that never repeat.

    Claimed before the case's transaction, committed at once, so intakes on several
    workers never wait for each other; a creation that fails after its claim (a retry
    racing on the same idempotency key, say) leaves its number unused.
    """
    return f"C-{year}-{numbering.claim_at_once(ReferenceCounter, year):06d}"


# ---------------------------------------------------------------------------- messages


def reply(
    *,
    actor: User,
    case: Case,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
    channel: str = "",
    external_id: str = "",
) -> Message:
    """A public message: from staff it is a reply (it may stop the response clocks);
    from the customer it is a message (it ends waiting on the customer)."""
    at = _now(at)
    _check_body(body, attachments)
    if actor.is_customer:
        _require(actor, Action.VIEW_CASES, case)
        return _customer_message(actor, case, body, attachments, at, channel, external_id)
    _require_staff(actor, case)
    with acting_as(actor):
        message = Message.objects.create(
            case=case,
            kind=MessageKind.REPLY,
            author=actor,
            body=body,
            created_at=at,
            channel=channel,
            external_id=external_id,
        )
        _store_attachments(message, attachments)
        _take(case, actor, at)
        if case.first_reply_at is None:
            case.first_reply_at = at
            case.save(update_fields=["first_reply_at", "updated_at"])
            clocks.on_event(case, CaseEvent.FIRST_PUBLIC_REPLY, at, actor)
    return message


def _customer_message(
    actor: User,
    case: Case,
    body: str,
    attachments: Sequence[UploadedFile],
    at: datetime,
    channel: str,
    external_id: str,
) -> Message:
    if case.status == Status.CLOSED:
        raise ValidationError(_("This case is closed; please open a new one."))
    with acting_as(actor):
        message = Message.objects.create(
            case=case,
            kind=MessageKind.CUSTOMER,
            author=actor,
            body=body,
            created_at=at,
            channel=channel,
            external_id=external_id,
        )
        _store_attachments(message, attachments)
        if case.status == Status.WAITING_CUSTOMER:
            _set_status(case, Status.OPEN, at, actor)
    return message


def add_note(
    *,
    actor: User,
    case: Case,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> Message:
    """An internal note: staff only, never shown to the customer, stops no clock."""
    at = _now(at)
    _require_staff(actor, case)
    _check_body(body, attachments)
    with acting_as(actor):
        message = Message.objects.create(
            case=case, kind=MessageKind.NOTE, author=actor, body=body, created_at=at
        )
        _store_attachments(message, attachments)
    return message


def _check_body(body: str, attachments: Sequence[UploadedFile]) -> None:
    if not body.strip() and not attachments:
        raise ValidationError({"body": _("Write a message or attach a file.")})
    _check_attachments(attachments)


def _check_attachments(attachments: Sequence[UploadedFile]) -> None:
    limit = settings.ASSURA_ATTACHMENT_MAX_BYTES
    allowed = settings.ASSURA_ATTACHMENT_TYPES
    for upload in attachments:
        if upload.size is not None and upload.size > limit:
            raise ValidationError(
                {
                    "attachments": _("%(name)s is larger than %(limit)s MB.")
                    % {"name": upload.name, "limit": limit // (1024 * 1024)}
                }
            )
        kind = _content_type(upload)
        if kind not in allowed:
            raise ValidationError(
                {
                    "attachments": _("%(name)s: files of type %(type)s are not accepted.")
                    % {"name": upload.name, "type": kind}
                }
            )


def _content_type(upload: UploadedFile) -> str:
    """Judged by the file name, not the browser's claim, which a client can set freely."""
    guessed, _encoding = mimetypes.guess_type(upload.name or "")
    return guessed or "application/octet-stream"


def _store_attachments(message: Message, attachments: Sequence[UploadedFile]) -> None:
    for upload in attachments:
        digest = Attachment.digest(upload)
        attachment = Attachment(
            message=message,
            name=(upload.name or "file")[-255:],
            content_type=_content_type(upload),
            size=upload.size or 0,
            sha256=digest,
        )
        attachment.file.save(digest, upload, save=False)
        attachment.save()


# ---------------------------------------------------------------------------- workflow


def assign(
    *,
    actor: User | None,
    case: Case,
    team: Team | None,
    assignee: User | None,
    at: datetime | None = None,
    note: str = "",
) -> Case:
    """Give the case to a team and/or person; the first staff member to hold it owns it."""
    at = _now(at)
    _require_staff(actor, case)
    if assignee is not None and not assignee.is_staff_member:
        raise ValidationError({"assignee": _("Cases are assigned to staff.")})
    if assignee is not None and team is not None and assignee.team_id not in (None, team.pk):
        raise ValidationError({"assignee": _("This person is not in the chosen team.")})
    before = case.assignee or case.team
    with acting_as(actor):
        kind = ActivityKind.HANDED_OVER if case.assignee_id else ActivityKind.ASSIGNED
        case.team = team or (assignee.team if assignee else case.team)
        case.assignee = assignee
        if case.first_contact_owner_id is None and assignee is not None:
            case.first_contact_owner = assignee
        if case.status == Status.NEW and assignee is not None:
            case.status = Status.OPEN
        case.save()
        clocks.sync_team(case)
        _log(case, kind, at, actor, before=before, after=assignee or case.team, note=note)
    return case


def _take(case: Case, actor: User, at: datetime) -> None:
    """A staff member who replies to an unowned case becomes its first-contact owner."""
    changed = []
    if case.first_contact_owner_id is None:
        case.first_contact_owner = actor
        changed.append("first_contact_owner")
    if case.assignee_id is None:
        case.assignee = actor
        case.team = case.team or actor.team
        changed += ["assignee", "team"]
    if case.status == Status.NEW:
        case.status = Status.OPEN
        changed.append("status")
    if changed:
        case.save(update_fields=[*changed, "updated_at"])
        if "team" in changed:
            clocks.sync_team(case)


def change_status(*, actor: User, case: Case, status: str, at: datetime | None = None) -> Case:
    """Move between the working statuses; resolving and closing have their own rules."""
    at = _now(at)
    _require_staff(actor, case)
    if status not in Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status == Status.RESOLVED:
        return resolve(actor=actor, case=case, at=at)
    if status == Status.CLOSED:
        return close(actor=actor, case=case, at=at)
    if case.status in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError({"status": _("Reopen the case first.")})
    with acting_as(actor):
        _set_status(case, status, at, actor)
    return case


def _set_status(case: Case, status: str, at: datetime, actor: User | None) -> None:
    before = case.status
    if before == status:
        return
    case.status = status
    case.save(update_fields=["status", "updated_at"])
    _log(case, ActivityKind.STATUS, at, actor, before=before, after=status)
    clocks.on_status(case, before, at, actor)


def change_priority(*, actor: User, case: Case, priority: str, at: datetime | None = None) -> Case:
    """A new priority re-selects the policy and retargets every clock from its start."""
    return _reclassify(actor, case, case.case_type, priority, _now(at), confirm=False)


def change_type(*, actor: User, case: Case, case_type: str, at: datetime | None = None) -> Case:
    return _reclassify(actor, case, case_type, case.priority, _now(at), confirm=False)


def classify(
    *, actor: User, case: Case, case_type: str, priority: str, at: datetime | None = None
) -> Case:
    """Confirm type and priority (分类): the classification metric stops here."""
    return _reclassify(actor, case, case_type, priority, _now(at), confirm=True)


def _reclassify(
    actor: User, case: Case, case_type: str, priority: str, at: datetime, confirm: bool
) -> Case:
    _require_staff(actor, case)
    errors = {}
    if case_type not in CaseType.values:
        errors["case_type"] = _("Choose a case type.")
    if priority not in Priority.values:
        errors["priority"] = _("Choose a priority.")
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        changes = [
            (ActivityKind.TYPE, case.case_type, case_type),
            (ActivityKind.PRIORITY, case.priority, priority),
        ]
        case.case_type, case.priority = case_type, priority
        if confirm and case.classified_at is None:
            case.classified_at = at
        version = clocks.select_policy(case)
        policy_changed = version is not None and version.pk != case.policy_version_id
        case.policy_version = version or case.policy_version
        case.save()
        for kind, before, after in changes:
            if before != after:
                _log(case, kind, at, actor, before=before, after=after)
        if policy_changed:
            _log(case, ActivityKind.POLICY, at, actor, after=str(version))
        clocks.retarget(case, at, actor, reason=_("type or priority changed"))
        if confirm:
            _log(case, ActivityKind.CLASSIFIED, at, actor, after=f"{case_type}/{priority}")
            clocks.on_event(case, CaseEvent.CLASSIFIED, at, actor)
    return case


def mark_complex(*, actor: User, case: Case, at: datetime | None = None) -> Case:
    """A complex problem owes an interim plan, counted from when the case came in."""
    at = _now(at)
    _require_staff(actor, case)
    if case.is_complex:
        return case
    with acting_as(actor):
        case.is_complex = True
        case.save(update_fields=["is_complex", "updated_at"])
        _log(case, ActivityKind.COMPLEX, at, actor)
        clocks.on_event(case, CaseEvent.MARKED_COMPLEX, case.created_at, actor)
    return case


def send_interim_plan(
    *,
    actor: User,
    case: Case,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> Message:
    """A staged plan for a complex problem (阶段性方案): a public reply that stops its clock."""
    at = _now(at)
    with transaction.atomic():
        message = reply(actor=actor, case=case, body=body, attachments=attachments, at=at)
        _log(case, ActivityKind.INTERIM_PLAN, at, actor)
        clocks.on_event(case, CaseEvent.INTERIM_PLAN, at, actor)
    return message


def resolve(*, actor: User, case: Case, at: datetime | None = None) -> Case:
    at = _now(at)
    _require_staff(actor, case)
    if case.status in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError({"status": _("The case is already resolved.")})
    with acting_as(actor):
        case.resolved_at = at
        case.save(update_fields=["resolved_at", "updated_at"])
        _set_status(case, Status.RESOLVED, at, actor)
        clocks.on_event(case, CaseEvent.RESOLVED, at, actor)
        # Apps above the desk (surveys, follow-ups) react once the resolution is committed.
        _announce_resolved(case, at, actor)
    return case


def _announce_resolved(case: Case, at: datetime, actor: User | None) -> None:
    transaction.on_commit(
        lambda: signals.case_resolved.send(sender=Case, case=case, at=at, actor=actor)
    )


def close(*, actor: User, case: Case, at: datetime | None = None) -> Case:
    """Close a resolved case; refused while a breach on it lacks its root-cause analysis.

    A customer may close (confirm) its own organisation's resolved case.
    """
    at = _now(at)
    if actor.is_customer:
        _require(actor, Action.VIEW_CASES, case)
        if case.status != Status.RESOLVED:
            raise ValidationError({"status": _("Only a resolved case can be confirmed.")})
    else:
        _require_staff(actor, case)
    if case.status == Status.CLOSED:
        raise ValidationError({"status": _("The case is already closed.")})
    missing = sla_queries.breaches_without_rca(case)
    if missing:
        raise ValidationError(
            {
                "status": _(
                    "Each breach needs a root-cause analysis before the case can close: "
                    "%(metrics)s."
                )
                % {"metrics": ", ".join(sorted({b.metric for b in missing}))}
            }
        )
    with acting_as(actor):
        if case.resolved_at is None:
            case.resolved_at = at
            clocks.on_event(case, CaseEvent.RESOLVED, at, actor)
            _announce_resolved(case, at, actor)
        case.closed_at = at
        case.save(update_fields=["resolved_at", "closed_at", "updated_at"])
        _set_status(case, Status.CLOSED, at, actor)
        clocks.on_event(case, CaseEvent.CLOSED, at, actor)
    return case


def reopen(*, actor: User, case: Case, reason: str = "", at: datetime | None = None) -> Case:
    """Reopen a resolved (or closed) case: a second attempt (二次解决) within the window.

    The resolution clock runs on from where it stopped, so the time the customer spent
    with a wrong answer does not count, but the earlier working time does.
    """
    at = _now(at)
    if actor.is_customer:
        _require(actor, Action.VIEW_CASES, case)
    else:
        _require_staff(actor, case)
    if case.status not in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError({"status": _("Only a resolved or closed case can be reopened.")})
    window = timedelta(days=settings.ASSURA_REOPEN_WINDOW_DAYS)
    if case.resolved_at and at - case.resolved_at > window:
        raise ValidationError(
            {
                "status": _(
                    "The case was resolved more than %(days)s days ago; please open a new case."
                )
                % {"days": settings.ASSURA_REOPEN_WINDOW_DAYS}
            }
        )
    with acting_as(actor):
        case.reopen_count += 1
        case.resolved_at = case.closed_at = None
        case.save(update_fields=["reopen_count", "resolved_at", "closed_at", "updated_at"])
        _set_status(case, Status.OPEN, at, actor)
        _log(case, ActivityKind.REOPENED, at, actor, after=case.reopen_count, note=reason)
        clocks.on_reopen(case, at, actor)
    return case


def merge(*, actor: User, duplicate: Case, into: Case, at: datetime | None = None) -> Case:
    """Fold a duplicate into the case that carries on; the duplicate's clocks end."""
    at = _now(at)
    _require_staff(actor, duplicate)
    _require_staff(actor, into)
    if duplicate.pk == into.pk:
        raise ValidationError({"into": _("A case cannot be merged into itself.")})
    if duplicate.organisation_id != into.organisation_id:
        raise ValidationError({"into": _("Only cases of the same customer can be merged.")})
    if into.merged_into_id is not None or into.status not in ACTIVE_STATUSES:
        raise ValidationError({"into": _("Merge into an open case that was not merged itself.")})
    with acting_as(actor):
        Message.objects.filter(case=duplicate).update(case=into)
        duplicate.merged_into = into
        duplicate.closed_at = at
        duplicate.save(update_fields=["merged_into", "closed_at", "updated_at"])
        _set_status(duplicate, Status.CLOSED, at, actor)
        clocks.cancel_all(duplicate, at, actor, reason=_("merged"))
        _log(duplicate, ActivityKind.MERGED, at, actor, after=into.reference)
        _log(into, ActivityKind.MERGED, at, actor, before=duplicate.reference)
    return into


def expedite(*, actor: User | None, case: Case, at: datetime | None = None, note: str = "") -> Case:
    """Put the case in the managers' expedite channel (加急处理通道), once.

    The conditional UPDATE decides who expedites: of two callers racing (an escalation
    level and a manager, say), only the one whose update applied logs the activity.
    """
    at = _now(at)
    if case.expedited_at is not None:
        return case
    with acting_as(actor), transaction.atomic():
        applied = Case.objects.filter(pk=case.pk, expedited_at__isnull=True).update(expedited_at=at)
        case.refresh_from_db(fields=["expedited_at"])
        if applied:
            _log(case, ActivityKind.EXPEDITED, at, actor, note=note)
    return case


# ---------------------------------------------------------------------------- policies


def cases_to_reapply(policy: Policy) -> list[tuple[Case, PolicyVersion]]:
    """Open cases whose policy changes when selected again now, with the version each gets.

    Two kinds: cases under an older version of `policy` (they get whatever matches now,
    usually its current version), and cases that `policy` would take now although they
    were opened under another one. Cases that neither were nor would be under `policy`
    are left alone: re-applying one policy never moves another policy's cases.
    """
    current = {
        version.definition["policy"]: version
        for version in PolicyVersion.objects.filter(
            pk__in=Policy.objects.in_order().values("current_version")
        )
    }
    definitions = [version.definition for version in current.values()]
    mine = set(policy.versions.values_list("pk", flat=True))
    moves = []
    cases = Case.objects.active().filter(merged_into__isnull=True).select_related("policy_version")
    for case in cases.order_by("created_at", "pk"):
        chosen = matching.choose(definitions, clocks.facts_of(case))
        version = current.get(chosen["policy"]) if chosen else None
        if version is None or version.pk == case.policy_version_id:
            continue
        if case.policy_version_id in mine or version.policy_id == policy.pk:
            moves.append((case, version))
    return moves


def reapply_policy(*, actor: User | None, policy: Policy, at: datetime | None = None) -> int:
    """Move the open cases of `policy` to its current version, on purpose; how many moved.

    A case normally keeps the version it was opened under. A manager may decide that the
    open ones follow the new promise: each case is matched again, its clocks take the new
    targets measured from their start (a retarget event each), and the timeline and the
    audit log say who did it and why.
    """
    at = _now(at)
    if actor is not None and not can(actor, Action.REAPPLY_POLICY):
        raise PermissionDenied(_("You are not allowed to re-apply SLA policies."))
    if policy.current_version is None:
        raise ValidationError(_("The policy has no published version yet."))
    version = policy.current_version
    reason = _("%(policy)s v%(number)s re-applied to open cases") % {
        "policy": policy.code,
        "number": version.number,
    }
    moves = cases_to_reapply(policy)
    with acting_as(actor):
        for case, new_version in moves:
            before = case.policy_version
            case.policy_version = new_version
            case.save(update_fields=["policy_version", "updated_at"])
            _log(case, ActivityKind.POLICY, at, actor, before, new_version, note=reason)
            clocks.retarget(case, at, actor, reason=reason)
        LogEntry.objects.log_create(
            policy,
            action=LogEntry.Action.UPDATE,
            changes={"reapplied_to_open_cases": ["", f"v{version.number}: {len(moves)}"]},
            actor=actor,
        )
    return len(moves)
