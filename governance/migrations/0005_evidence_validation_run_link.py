"""Validation-run evidence links a real run: its id (not a foreign key: governance must not
depend on audits) and a snapshot of its results. Earlier rows keep their free-text reference."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_seed_threat_library"),
    ]

    operations = [
        migrations.AddField(
            model_name="evidence",
            name="validation_run_id",
            field=models.PositiveBigIntegerField(
                blank=True, db_index=True, help_text="The id of the audits ValidationRun.", null=True
            ),
        ),
        migrations.AddField(
            model_name="evidence",
            name="validation_summary",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The run when it was linked: suite, model version, finished_at, result counts.",
            ),
        ),
        migrations.AddConstraint(
            model_name="evidence",
            constraint=models.CheckConstraint(
                condition=models.Q(("validation_run_id__isnull", True), ("kind", "validation_run"), _connector="OR"),
                name="evidence_run_link_only_on_validation_runs",
            ),
        ),
    ]
