"""The compensation ledger: what each breach costs under its contract (docs/compensation.md).

One entry per breach (a unique constraint), booked when the breach is handled, with the
contract's rule for the metric and its monthly cap applied at booking time: the cap
counts the pending and approved entries of the same contract and month, and an entry
that would pass it is booked with what is left (possibly nothing) and marked capped.
Bookings for one contract are serialised by locking the contract row, so two workers
booking at once cannot both use the last of the cap.

A quality manager approves or waives each pending entry (a waiver needs a reason). A
breach that is withdrawn (its clock recomputed as not breached) voids its pending
entry; if it stands again, the entry is pending again, with the cap applied anew.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from assura.commitments.models import CompensationRule, Contract
from assura.core.audit import acting_as
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.sla.escalation import reference_of
from assura.sla.models import (
    CAP_COUNTED,
    Breach,
    CompensationEntry,
    CompensationStatus,
)

ZERO = Decimal("0.00")


def month_of(instant: datetime) -> date:
    """The ledger month of an instant: its first day in the installation's time zone."""
    return timezone.localtime(instant).date().replace(day=1)


def contract_of(breach: Breach, subject: object = None) -> Contract | None:
    """The contract the breached subject is measured under (a case carries its own)."""
    subject = breach.clock.subject if subject is None else subject
    contract = getattr(subject, "contract", None)
    return contract if isinstance(contract, Contract) else None


def book(breach: Breach, subject: object = None) -> CompensationEntry | None:
    """Book the compensation for `breach`, once; None when no rule applies."""
    contract = contract_of(breach, subject)
    if contract is None:
        return None
    rule = (
        CompensationRule.objects.select_related("contract")
        .filter(contract=contract, metric__code=breach.metric)
        .first()
    )
    if rule is None:
        return None
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        existing = CompensationEntry.objects.filter(breach=breach).first()
        if existing is not None:
            return existing
        month = month_of(breach.breached_at)
        uncapped = rule.amount()
        amount = _within_cap(locked, month, uncapped)
        return CompensationEntry.objects.create(
            breach=breach,
            contract=locked,
            metric=breach.metric,
            month=month,
            amount=amount,
            uncapped_amount=uncapped,
            capped=amount < uncapped,
            currency=locked.currency,
        )


def _within_cap(
    contract: Contract, month: date, uncapped: Decimal, exclude: int | None = None
) -> Decimal:
    if contract.compensation_cap is None:
        return uncapped
    counted = CompensationEntry.objects.filter(
        contract=contract, month=month, status__in=CAP_COUNTED
    ).exclude(pk=exclude)
    used = counted.aggregate(total=Sum("amount"))["total"] or ZERO
    return max(min(uncapped, contract.compensation_cap - used), ZERO)


def void(breach: Breach, now: datetime | None = None) -> int:
    """A withdrawn breach owes nothing: its pending entry becomes void."""
    return CompensationEntry.objects.filter(
        breach=breach, status=CompensationStatus.PENDING
    ).update(
        status=CompensationStatus.VOID,
        decided_at=now or timezone.now(),
        decided_by=None,
        reason=_("The breach was withdrawn."),
    )


def reinstate(breach: Breach) -> CompensationEntry | None:
    """A breach that stands again: its void entry is pending again, capped anew."""
    entry = CompensationEntry.objects.filter(breach=breach, status=CompensationStatus.VOID).first()
    if entry is None:
        return None
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=entry.contract_id)
        entry.month = month_of(breach.breached_at)
        entry.amount = _within_cap(locked, entry.month, entry.uncapped_amount, exclude=entry.pk)
        entry.capped = entry.amount < entry.uncapped_amount
        entry.status, entry.decided_at, entry.decided_by, entry.reason = (
            CompensationStatus.PENDING,
            None,
            None,
            "",
        )
        entry.save()
    return entry


def approve(*, actor: User, entry: CompensationEntry, reason: str = "") -> CompensationEntry:
    """The credit is owed: it appears as approved on the contract's statement."""
    return _decide(actor, entry, CompensationStatus.APPROVED, reason)


def waive(*, actor: User, entry: CompensationEntry, reason: str) -> CompensationEntry:
    """No credit after all (e.g. the customer caused the delay); the reason is required."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the compensation is waived.")})
    return _decide(actor, entry, CompensationStatus.WAIVED, reason)


def _decide(actor: User, entry: CompensationEntry, status: str, reason: str) -> CompensationEntry:
    if not can(actor, Action.APPROVE_COMPENSATION, entry):
        raise PermissionDenied(_("You are not allowed to decide on compensation."))
    with acting_as(actor):
        locked = CompensationEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.status != CompensationStatus.PENDING:
            raise ValidationError(_("This entry has already been decided."))
        locked.status = status
        locked.reason = (reason or "").strip()
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    return locked


# ---------------------------------------------------------------------------- statement


@dataclass
class Statement:
    """A contract's compensation for one month: every entry and the totals."""

    contract: Contract
    month: date
    entries: list[CompensationEntry] = field(default_factory=list)

    def _total(self, *statuses: str) -> Decimal:
        return sum((e.amount for e in self.entries if e.status in statuses), ZERO)

    @property
    def currency(self) -> str:
        return self.contract.currency

    @property
    def approved(self) -> Decimal:
        return self._total(CompensationStatus.APPROVED)

    @property
    def pending(self) -> Decimal:
        return self._total(CompensationStatus.PENDING)

    @property
    def waived(self) -> Decimal:
        return self._total(CompensationStatus.WAIVED)

    @property
    def booked(self) -> Decimal:
        """What counts against the cap: pending plus approved."""
        return self.approved + self.pending

    @property
    def uncapped(self) -> Decimal:
        """What the rules alone give for the entries that count (pending and approved)."""
        return sum((e.uncapped_amount for e in self.entries if e.status in CAP_COUNTED), ZERO)

    @property
    def cap(self) -> Decimal | None:
        return self.contract.compensation_cap

    @property
    def cap_left(self) -> Decimal | None:
        return None if self.cap is None else max(self.cap - self.booked, ZERO)


def statement(contract: Contract, month: date) -> Statement:
    entries = list(
        CompensationEntry.objects.filter(contract=contract, month=month.replace(day=1))
        .select_related("breach__clock", "decided_by")
        .prefetch_related("breach__clock__subject")
        .order_by("breach__breached_at", "pk")
    )
    return Statement(contract=contract, month=month.replace(day=1), entries=entries)


def statement_csv(report: Statement) -> str:
    """The statement as CSV (UTF-8 with a byte-order mark so spreadsheets read Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Contract"),
            _("Month"),
            _("Case"),
            _("Metric"),
            _("Breached"),
            _("Status"),
            _("Before the cap"),
            _("Amount"),
            _("Capped"),
            _("Currency"),
            _("Decided by"),
            _("Decided"),
            _("Reason"),
        ]
    )
    month = report.month.strftime("%Y-%m")
    for entry in report.entries:
        writer.writerow(
            [
                report.contract.code,
                month,
                reference_of(entry.breach.clock.subject),
                entry.metric,
                timezone.localtime(entry.breach.breached_at).strftime("%Y-%m-%d %H:%M"),
                entry.status,
                f"{entry.uncapped_amount:.2f}",
                f"{entry.amount:.2f}",
                _("yes") if entry.capped else "",
                entry.currency,
                str(entry.decided_by or ""),
                timezone.localtime(entry.decided_at).strftime("%Y-%m-%d %H:%M")
                if entry.decided_at
                else "",
                entry.reason,
            ]
        )
    writer.writerow([])
    totals: list[tuple[str, Decimal | str]] = [
        (_("Approved"), report.approved),
        (_("Pending"), report.pending),
        (_("Waived"), report.waived),
        (_("Booked (pending and approved)"), report.booked),
    ]
    cap = "" if report.cap is None else f"{report.cap:.2f}"
    totals.append((_("Cap per month"), cap))
    for label, value in totals:
        amount = value if isinstance(value, str) else f"{value:.2f}"
        writer.writerow(
            [
                report.contract.code,
                month,
                _("Total"),
                label,
                "",
                "",
                "",
                amount,
                "",
                report.currency,
            ]
        )
    return out.getvalue()
