"""Background work of the connect app: importing a checked file of cases."""

from __future__ import annotations

from django.tasks import task

from assura.connect import importer


@task()
def run_import(batch_id: int) -> int:
    """Import the valid rows of a queued file (see `importer.run`)."""
    return importer.run(batch_id)
