"""Reliable jobs (issue #12): validation runs become their own outbox (published_at, publish
attempts and backoff) and record their attempts (a run whose worker died is taken over and started
again); submission numbers come from a per-organisation counter row instead of "max + 1"."""

import django.db.models.deletion
from django.db import migrations, models


def forwards(apps, schema_editor):
    """Existing rows: every run past the queue was evidently delivered, and started once; a queued
    run is left unpublished so the outbox sweep sends it (it may be one the broker never got).
    Each organisation's counter starts at its highest submission number."""
    from django.db.models import Max

    ValidationRun = apps.get_model("audits", "ValidationRun")
    Submission = apps.get_model("audits", "Submission")
    SubmissionCounter = apps.get_model("audits", "SubmissionCounter")
    for run in ValidationRun.objects.exclude(status="queued").only("pk", "created_at", "started_at"):
        ValidationRun.objects.filter(pk=run.pk).update(published_at=run.created_at, attempts=1 if run.started_at else 0)
    highest = Submission.objects.values("organisation_id").annotate(last=Max("number"))
    SubmissionCounter.objects.bulk_create(
        [SubmissionCounter(organisation_id=row["organisation_id"], last_number=row["last"]) for row in highest]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0005_certification"),
        ("core", "0002_notification"),
    ]

    operations = [
        migrations.CreateModel(
            name="SubmissionCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_number", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="validationrun",
            name="attempt_log",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="One entry per attempt: number, worker, started_at, and why the previous attempt was given up.",
            ),
        ),
        migrations.AddField(
            model_name="validationrun",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, help_text="How many times a worker started this run."),
        ),
        migrations.AddField(
            model_name="validationrun",
            name="next_publish_at",
            field=models.DateTimeField(
                blank=True, help_text="When the outbox sweep may next try to publish it.", null=True
            ),
        ),
        migrations.AddField(
            model_name="validationrun",
            name="publish_attempts",
            field=models.PositiveIntegerField(default=0, help_text="Failed attempts to hand it to the broker."),
        ),
        migrations.AddField(
            model_name="validationrun",
            name="publish_error",
            field=models.TextField(blank=True, help_text="Why the last attempt to publish failed."),
        ),
        migrations.AddField(
            model_name="validationrun",
            name="published_at",
            field=models.DateTimeField(blank=True, help_text="When the broker last accepted its message.", null=True),
        ),
        migrations.AddField(
            model_name="validationrun",
            name="stale_after_s",
            field=models.PositiveIntegerField(
                default=300,
                help_text="No heartbeat for this long means the worker is gone (VALIDATION_STALE_AFTER_S when the run was started): the run may be taken over, and the reaper acts on it.",
            ),
        ),
        migrations.AlterField(
            model_name="validationrun",
            name="claim_token",
            field=models.CharField(
                blank=True,
                help_text="Set when a worker claims the run; a retry of that task resumes with it. A takeover replaces it, which fences the previous worker out: every write of a worker is conditional on its token.",
                max_length=32,
            ),
        ),
        migrations.AddIndex(
            model_name="validationrun",
            index=models.Index(fields=["status", "published_at", "next_publish_at"], name="validation_outbox"),
        ),
        migrations.AddField(
            model_name="submissioncounter",
            name="organisation",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="core.organisation"
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
