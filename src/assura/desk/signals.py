"""Signals the desk sends for the apps above it (which may not be called from here).

Each is sent after the transaction that made the change commits, so a receiver sees
the committed case and a rolled-back action announces nothing.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A case was resolved (by `resolve`, or by `close` on a case not resolved before):
#: `case` (the Case), `at` (when it was resolved) and `actor` (a User or None).
case_resolved = Signal()
