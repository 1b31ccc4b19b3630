"""Seed the built-in AI threat library and give every existing organisation its risk settings
with the default scale definitions, bands and appetite."""

from django.db import migrations


def seed(apps, schema_editor):
    from governance.risks.scoring import DEFAULT_APPETITE, DEFAULT_BANDS, DEFAULT_IMPACT_SCALE, DEFAULT_LIKELIHOOD_SCALE
    from governance.risks.threat_library import BUILT_IN_THREATS

    Threat = apps.get_model("governance", "Threat")
    for entry in BUILT_IN_THREATS:
        fields = {key: entry[key] for key in ("name", "description", "references", "typical_controls", "components")}
        Threat.objects.update_or_create(organisation=None, code=entry["code"], defaults=fields)
    Organisation = apps.get_model("core", "Organisation")
    RiskSettings = apps.get_model("governance", "RiskSettings")
    for organisation in Organisation.objects.all():
        RiskSettings.objects.get_or_create(
            organisation=organisation,
            defaults={
                "appetite": DEFAULT_APPETITE,
                "bands": DEFAULT_BANDS,
                "likelihood_scale": DEFAULT_LIKELIHOOD_SCALE,
                "impact_scale": DEFAULT_IMPACT_SCALE,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_risk_register"), ("core", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
