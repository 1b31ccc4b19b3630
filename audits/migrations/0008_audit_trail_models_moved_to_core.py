"""The audit trail's models now live in `core` (core 0003, issue #12 item 17).

State only: the tables audits_auditevent and audits_auditchainhead, their rows and their triggers
stay; core's models use them under the same names.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0007_audit_trail_truncate_guard"),
        ("core", "0003_audit_trail_models"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AuditChainHead"),
                migrations.DeleteModel(name="AuditEvent"),
            ],
            database_operations=[],
        ),
    ]
