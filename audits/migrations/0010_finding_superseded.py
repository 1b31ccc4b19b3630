"""Findings of a run superseded by a newer run of the same version and suite (issue #13 item 4)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0009_finding_resolution"),
    ]

    operations = [
        migrations.AddField(
            model_name="finding",
            name="superseded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="finding",
            name="superseded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="superseded_findings",
                to="audits.validationrun",
            ),
        ),
        migrations.AlterField(
            model_name="finding",
            name="status",
            field=models.CharField(
                choices=[
                    ("open", "Open"),
                    ("accepted", "Risk accepted"),
                    ("mitigation_required", "Mitigation required"),
                    ("false_positive", "False positive"),
                    ("escalated", "Escalated"),
                    ("superseded", "Superseded by a newer run"),
                ],
                db_index=True,
                default="open",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="finding",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "superseded"), _negated=True), ("superseded_by__isnull", False), _connector="OR"
                ),
                name="superseded_finding_names_its_run",
            ),
        ),
    ]
