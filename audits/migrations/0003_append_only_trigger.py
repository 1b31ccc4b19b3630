"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit trail.

SQLite has no equivalent that survives `ALTER TABLE` rebuilds, so there the hash chain and
`verify_audit_trail` are the protection.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audits_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on audits_auditevent is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audits_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audits_auditevent
    FOR EACH ROW EXECUTE FUNCTION audits_auditevent_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audits_auditevent_append_only ON audits_auditevent;
DROP FUNCTION IF EXISTS audits_auditevent_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audits", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
