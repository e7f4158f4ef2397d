"""Per-year numbers: never handed out twice; claimed at once, a failed write leaves a gap."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction

from assura.core import numbering
from assura.desk.models import ReferenceCounter
from tests.concurrency import side_by_side


class WriteFailedError(Exception):
    pass


def claim_then_fail(claim: Callable[[type[numbering.YearCounter], int], int], year: int) -> int:
    """Claim inside a transaction that then fails; the number it saw."""
    seen = 0
    try:
        with transaction.atomic():
            seen = claim(ReferenceCounter, year)
            raise WriteFailedError
    except WriteFailedError:
        return seen


@pytest.mark.django_db(transaction=True)
def test_numbers_claimed_at_once_stay_claimed_when_the_write_after_them_fails() -> None:
    first = numbering.claim_at_once(ReferenceCounter, 2031)
    claim_then_fail(numbering.claim_at_once, 2031)  # inside: the caller's number
    assert numbering.claim_at_once(ReferenceCounter, 2031) == first + 1
    skipped = numbering.claim_at_once(ReferenceCounter, 2031)
    # The record this number was for failed: the number is gone, never reused.
    assert numbering.claim_at_once(ReferenceCounter, 2031) == skipped + 1
    assert numbering.claim_at_once(ReferenceCounter, 2032) == 1


@pytest.mark.django_db
def test_a_number_claimed_inside_a_transaction_belongs_to_it() -> None:
    first = numbering.claim(ReferenceCounter, 2033)
    assert claim_then_fail(numbering.claim, 2033) == first + 1
    assert numbering.claim(ReferenceCounter, 2033) == first + 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_claiming_side_by_side_never_get_the_same_number() -> None:
    from django.db import connection

    assert connection.vendor == "postgresql"
    claimed: list[int] = []

    def work() -> None:
        for _ in range(50):
            claimed.append(numbering.claim_at_once(ReferenceCounter, 2034))

    side_by_side(work, copies=4)
    assert sorted(claimed) == list(range(1, 201))
