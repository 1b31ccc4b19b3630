"""Seed the application dates from the rules module (Art. 113 as published). Later changes are
made by staff in the admin; this migration never overwrites them."""

from django.db import migrations


def seed(apps, schema_editor):
    from governance.rules import DEFAULT_APPLICATION_DATES

    ApplicationDate = apps.get_model("governance", "ApplicationDate")
    for key, applies_from in DEFAULT_APPLICATION_DATES.items():
        ApplicationDate.objects.get_or_create(
            key=key,
            defaults={
                "applies_from": applies_from,
                "note": "Regulation (EU) 2024/1689, Art. 113, as published (OJ L, 12.7.2024).",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
