"""The organisation setting for four-eyes approval of high-risk classifications (issue #13 item 2), on by default."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_trail_models"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="four_eyes_high_risk",
            field=models.BooleanField(
                default=True,
                help_text="A high-risk or prohibited EU AI Act determination must be approved by someone who did not answer or submit it.",
                verbose_name="Four-eyes on high-risk classification",
            ),
        ),
    ]
