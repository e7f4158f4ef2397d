"""What the voice app announces, after the transaction that made it commits.

Receivers (webhooks out, reports) see committed rows; a rolled-back action sends
nothing. Business rules never live in the receivers of these signals.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A survey was answered: `response` (a Response) and `low` (it was a low score).
survey_responded = Signal()

#: A follow-up was completed: `follow_up` (a FollowUp) with its outcome and next steps.
follow_up_done = Signal()
