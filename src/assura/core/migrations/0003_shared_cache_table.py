"""The table of the database cache (ASSURA_CACHE=database), where API rate limits are counted.

Django creates it with `createcachetable` rather than a model; doing that here means
`assura migrate` leaves a database ready for either cache setting, and a switch from
`memory` to `database` later needs no extra command. Creating it is a no-op when the
table is already there.

On PostgreSQL the table is UNLOGGED: its rows are request counts, worthless after a
crash, so its writes skip the write-ahead log and the API request that counts itself
does not wait for a disk flush at commit. A crash empties it, which only resets budgets.
"""

from django.core.management import call_command
from django.db import migrations

TABLE = "assura_cache"


def forward(apps, schema_editor):
    call_command("createcachetable", TABLE, database=schema_editor.connection.alias, verbosity=0)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(TABLE)} SET UNLOGGED")


def backward(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_entries_are_immutable")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
