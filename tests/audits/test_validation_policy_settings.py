"""The validation policy settings page: an organisation admin decides whether a run may override the
policy and which keys stay locked; the change is audited, other roles and other organisations
cannot touch it, and a run that overrides a locked key is refused with a clear message."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from audits.models import ValidationPolicySettings, ValidationRun
from audits.validation.services import validation_policy_settings_fingerprint, validation_policy_settings_get
from core.models import AuditEvent
from tests.audits.validation_support import credit  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/validations/policy/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def fingerprint_of(user) -> str:
    return validation_policy_settings_fingerprint(
        settings_row=validation_policy_settings_get(organisation_id=user.organisation_id)
    )


def save(client, user, **data):
    data.setdefault("based_on", fingerprint_of(user))
    return client.post(URL, data)


def test_the_url_is_the_named_settings_page():
    assert reverse("audits:validation_policy_settings") == URL


def test_only_organisation_admins_may_open_the_settings(permission_matrix):
    assert permission_matrix(lambda c: c.get(URL)) == {
        "anonymous": 302,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 200,
        "outsider": 200,
    }


def test_other_roles_cannot_change_the_settings(permission_matrix, org_admin):
    result = permission_matrix(lambda c: c.post(URL, {"allow_overrides": "", "based_on": fingerprint_of(org_admin)}))
    assert {k: v for k, v in result.items() if k not in ("org_admin", "outsider")} == {
        "anonymous": 302,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
    }
    roles = set(AuditEvent.objects.filter(verb="validation_policy.updated").values_list("actor_role", flat=True))
    assert roles == {"org_admin"}, "nobody but an organisation admin changed anything"


def test_the_page_offers_every_policy_key_as_a_checkbox(org_admin):
    from audits.checks.policy import Policy

    page = client_for(org_admin).get(URL).content.decode()
    offered = set(re.findall(r'type="checkbox" name="locked_keys" value="([\w.]+)"', page))
    expected = {
        f"{section}.{name}"
        for section, values in Policy().to_dict().items()
        if isinstance(values, dict)
        for name in values
    }
    assert offered == expected and "fairness.dp_ratio_min" in offered
    assert 'name="locked_keys"' in page and "<textarea" not in page, "keys are picked, not typed"


def test_an_admin_turns_overrides_off_and_locks_keys_and_the_change_is_audited(org_admin):
    client = client_for(org_admin)
    response = save(
        client,
        org_admin,
        locked_keys=["fairness.dp_ratio_min", "performance.min_auc"],
        reason="model risk committee, 3 March",
    )
    assert response.status_code == 302 and response["Location"] == URL
    row = ValidationPolicySettings.objects.get(organisation=org_admin.organisation)
    assert (row.allow_overrides, row.locked_keys) == (False, ["fairness.dp_ratio_min", "performance.min_auc"])
    event = AuditEvent.objects.get(verb="validation_policy.updated")
    assert (event.actor, event.reason) == (org_admin, "model risk committee, 3 March")
    assert event.before == {"allow_overrides": True, "locked_keys": []}
    assert event.after == {"allow_overrides": False, "locked_keys": ["fairness.dp_ratio_min", "performance.min_auc"]}
    page = client.get(URL).content.decode()
    assert "Validation policy settings saved." in page
    assert 'value="performance.min_auc" checked' in page and 'value="performance.min_f1" checked' not in page


def test_another_organisations_admin_neither_sees_nor_changes_ours(org_admin, outsider):
    save(client_for(org_admin), org_admin, allow_overrides="on", locked_keys=["fairness.dp_ratio_min"])
    theirs = client_for(outsider)
    page = theirs.get(URL).content.decode()
    assert 'value="fairness.dp_ratio_min" checked' not in page, "they see their own (default) settings"
    assert save(theirs, outsider, locked_keys=["security.mia_auc_max"]).status_code == 302
    ours = ValidationPolicySettings.objects.get(organisation=org_admin.organisation)
    assert (ours.allow_overrides, ours.locked_keys) == (True, ["fairness.dp_ratio_min"])
    assert ValidationPolicySettings.objects.get(organisation=outsider.organisation).locked_keys == [
        "security.mia_auc_max"
    ]


def test_a_key_that_is_not_in_the_policy_is_refused_with_a_clear_message_and_a_400(org_admin):
    response = save(client_for(org_admin), org_admin, allow_overrides="on", locked_keys=["fairness.dp_ratio_mni"])
    assert response.status_code == 400
    assert "fairness.dp_ratio_mni is not a key of the current validation policy; reload the page" in (
        response.content.decode()
    )
    assert not AuditEvent.objects.filter(verb="validation_policy.updated").exists()


def test_a_form_without_its_fingerprint_asks_to_reload_with_a_400(org_admin):
    response = client_for(org_admin).post(URL, {"allow_overrides": "on"})
    assert response.status_code == 400 and "This form is out of date or incomplete; reload the page" in (
        response.content.decode()
    )
    assert not ValidationPolicySettings.objects.exists()


def test_a_save_on_top_of_another_admins_newer_change_is_a_409_that_shows_the_current_settings(org_admin):
    from audits.validation.services import validation_policy_settings_update

    shown = fingerprint_of(org_admin)
    validation_policy_settings_update(actor=org_admin, allow_overrides=True, locked_keys=["performance.min_auc"])
    client = client_for(org_admin)
    response = client.post(URL, {"allow_overrides": "on", "locked_keys": ["fairness.dp_ratio_min"], "based_on": shown})
    page = response.content.decode()
    assert response.status_code == 409 and "Someone changed these settings while you were editing them" in page
    assert ValidationPolicySettings.objects.get().locked_keys == ["performance.min_auc"], "nothing overwritten"
    assert "<code>performance.min_auc</code>" in page, "the settings now in force are shown"
    assert 'value="fairness.dp_ratio_min" checked' in page, "the admin's own choice is kept on the form"
    rebased = re.search(r'name="based_on" value="(\w+)"', page).group(1)
    assert (
        client.post(
            URL, {"allow_overrides": "on", "locked_keys": ["fairness.dp_ratio_min"], "based_on": rebased}
        ).status_code
        == 302
    ), "saving again is a deliberate decision"
    assert ValidationPolicySettings.objects.get().locked_keys == ["fairness.dp_ratio_min"]


def test_locked_keys_no_longer_in_the_policy_are_named_before_they_are_dropped(org_admin):
    ValidationPolicySettings.objects.create(organisation=org_admin.organisation, locked_keys=["fairness.retired_key"])
    page = client_for(org_admin).get(URL).content.decode()
    assert 'data-testid="retired-keys"' in page and "<code>fairness.retired_key</code>" in page


def test_the_validation_list_links_to_the_settings_for_admins_only(org_admin, ml_engineer):
    list_url = reverse("audits:validation_list")
    assert f'href="{URL}"' in client_for(org_admin).get(list_url).content.decode()
    assert f'href="{URL}"' not in client_for(ml_engineer).get(list_url).content.decode()


def test_a_run_overriding_a_locked_key_is_refused_on_the_start_form_with_a_clear_message_and_a_403(
    org_admin, ml_engineer, credit
):
    save(client_for(org_admin), org_admin, allow_overrides="on", locked_keys=["fairness.dp_ratio_min"])
    client = client_for(ml_engineer)
    form_url = reverse("audits:validation_create", args=[credit.system.pk])
    assert "Locked by your organisation: <code>fairness.dp_ratio_min</code>" in client.get(form_url).content.decode()
    response = client.post(
        form_url,
        {
            "model_version": credit.version.pk,
            "test_dataset": credit.test.pk,
            "policy_overrides": "fairness.dp_ratio_min = 0.5",
        },
    )
    assert response.status_code == 403
    assert "Your organisation has locked these policy keys: fairness.dp_ratio_min." in response.content.decode()
    assert not ValidationRun.objects.exists()


def test_a_run_with_overrides_is_refused_on_the_start_form_when_overrides_are_off(org_admin, ml_engineer, credit):
    save(client_for(org_admin), org_admin)
    client = client_for(ml_engineer)
    form_url = reverse("audits:validation_create", args=[credit.system.pk])
    assert 'data-testid="overrides-not-allowed"' in client.get(form_url).content.decode()
    response = client.post(
        form_url,
        {
            "model_version": credit.version.pk,
            "test_dataset": credit.test.pk,
            "policy_overrides": "performance.min_auc = 0.6",
        },
    )
    assert response.status_code == 403
    assert "Your organisation does not allow policy overrides" in response.content.decode()
    assert not ValidationRun.objects.exists()
