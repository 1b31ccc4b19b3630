"""Indexes for the audit-trail page at size (issue #15, target 5).

The page reads its rows by keyset on the chain's `(chain, seq)` unique index, which exists. Its
two filter selects (verbs, object types) list the distinct values of the organisation's events by
a loose index scan (audits.selectors._distinct_values): one probe of `(organisation_id, verb)` or
`(organisation_id, object_type)` per distinct value instead of a DISTINCT over a million rows.
The indexes are SQL only, not in the model's Meta: the model moved to `core` (migration 0008) and
its state is kept there, while the table, its triggers and these indexes stay with this app.
"""

from django.db import migrations

INDEXES = {
    "audit_event_org_verb_idx": "(organisation_id, verb)",
    "audit_event_org_object_type_idx": "(organisation_id, object_type)",
}


class Migration(migrations.Migration):
    dependencies = [("audits", "0012_report_jobs")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON audits_auditevent {columns}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, columns in INDEXES.items()
    ]
