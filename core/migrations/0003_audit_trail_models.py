"""The audit trail's models move from `audits` to `core` (issue #12 item 17), rows untouched.

Only Django's state moves: the tables keep their names (`db_table` on the models), so every row,
index, constraint and the PostgreSQL triggers of audits migrations 0003 (no UPDATE/DELETE) and 0007
(no TRUNCATE) stay exactly as they are. audits 0008 removes the models from the audits app's state
after this migration has added them here. The content types are relabelled so that permissions
already given on them keep working.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("auditevent", "auditchainhead")


def relabel_content_types(apps, schema_editor, source="audits", target="core"):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not content_type.objects.filter(app_label=target, model=model).exists():
            content_type.objects.filter(app_label=source, model=model).update(app_label=target)


def relabel_back(apps, schema_editor):
    relabel_content_types(apps, schema_editor, source="core", target="audits")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_notification"),
        ("contenttypes", "0002_remove_content_type_name"),
        # The tables are created (and guarded by their triggers) by the audits migrations.
        ("audits", "0007_audit_trail_truncate_guard"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditChainHead",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("chain", models.CharField(max_length=40, unique=True)),
                        ("seq", models.PositiveBigIntegerField(default=0)),
                        ("hash", models.CharField(max_length=64)),
                    ],
                    options={
                        "db_table": "audits_auditchainhead",
                    },
                ),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("chain", models.CharField(help_text='"org:<id>" or "platform".', max_length=40)),
                        ("seq", models.PositiveBigIntegerField()),
                        ("prev_hash", models.CharField(max_length=64)),
                        ("hash", models.CharField(max_length=64, unique=True)),
                        ("timestamp", models.DateTimeField(db_index=True)),
                        ("actor_username", models.CharField(blank=True, max_length=150)),
                        ("actor_role", models.CharField(blank=True, max_length=32)),
                        ("verb", models.CharField(db_index=True, max_length=80)),
                        ("object_type", models.CharField(blank=True, db_index=True, max_length=80)),
                        ("object_id", models.CharField(blank=True, max_length=64)),
                        ("object_repr", models.CharField(blank=True, max_length=300)),
                        ("before", models.JSONField(blank=True, null=True)),
                        ("after", models.JSONField(blank=True, null=True)),
                        ("reason", models.TextField(blank=True)),
                        ("request_id", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        ("origin", models.CharField(blank=True, max_length=16)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "organisation",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="core.organisation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "audits_auditevent",
                        "ordering": ["-timestamp", "-id"],
                        "indexes": [
                            models.Index(fields=["organisation", "-timestamp"], name="audits_audi_organis_8b0b88_idx"),
                            models.Index(fields=["object_type", "object_id"], name="audits_audi_object__148ded_idx"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(fields=("chain", "seq"), name="audit_event_chain_seq_unique")
                        ],
                    },
                ),
            ],
            database_operations=[migrations.RunPython(relabel_content_types, relabel_back)],
        ),
    ]
