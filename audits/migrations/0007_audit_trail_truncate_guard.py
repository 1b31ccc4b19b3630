"""On PostgreSQL the database also refuses TRUNCATE on the audit trail (issue #12 item 6).

TRUNCATE fires no row trigger, so migration 0003's BEFORE UPDATE OR DELETE trigger let
`TRUNCATE audits_auditevent` empty the whole trail. A statement-level BEFORE TRUNCATE trigger
closes that. The chain-head table has no row trigger (every append updates its row), so it gets
no truncate guard either: a removed head is caught by verification (against the checkpoints).

A table owner or superuser can still disable the triggers; the signed checkpoints outside the
database (audits/checkpoints.py) are what detects a rewrite then.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audits_auditevent_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: TRUNCATE on audits_auditevent is not allowed'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audits_auditevent_no_truncate
    BEFORE TRUNCATE ON audits_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audits_auditevent_refuse_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS audits_auditevent_no_truncate ON audits_auditevent;
DROP FUNCTION IF EXISTS audits_auditevent_refuse_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audits", "0006_reliable_jobs")]
    operations = [migrations.RunPython(forwards, backwards)]
