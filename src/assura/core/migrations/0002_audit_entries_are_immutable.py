"""Audit entries cannot be changed once written (and, on PostgreSQL, not deleted).

The application offers no way to edit or delete them; these triggers make the database
refuse too, so not even a script or a shell session can rewrite history. SQLite keeps
DELETE possible because the test runner empties tables with DELETE between tests;
PostgreSQL empties them with TRUNCATE, which row triggers do not see.
"""

from django.db import migrations

SQLITE_FORWARD = """
CREATE TRIGGER assura_audit_no_update BEFORE UPDATE ON auditlog_logentry
BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS assura_audit_no_update;"

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION assura_audit_immutable() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit entries cannot be changed or deleted'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assura_audit_no_change BEFORE UPDATE OR DELETE ON auditlog_logentry
FOR EACH ROW EXECUTE FUNCTION assura_audit_immutable();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS assura_audit_no_change ON auditlog_logentry;
DROP FUNCTION IF EXISTS assura_audit_immutable();
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auditlog", "__latest__"),
    ]

    operations = [migrations.RunPython(forward, backward)]
