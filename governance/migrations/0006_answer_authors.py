"""Who gave each classification answer, so the four-eyes rule knows everyone who answered (issue #13 item 2)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0005_evidence_validation_run_link"),
    ]

    operations = [
        migrations.AddField(
            model_name="classificationdraft",
            name="answer_authors",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="determination",
            name="answer_authors",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Who gave each answer: {question id: user id} (empty before 2026-12).",
            ),
        ),
    ]
