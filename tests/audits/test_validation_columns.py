"""The start form offers the chosen test dataset's columns as pickers (target, features, sensitive),
prefilled from the model and the dataset, preselects the training set and keeps training sets out
of the test-set list; a column the dataset does not have is refused with a 400, input kept."""

import pytest
from django.test import Client
from django.urls import reverse

from audits.models import ValidationRun
from audits.validation.services import validation_start
from core.errors import ValidationFailed
from tests.audits.validation_support import credit  # noqa: F401

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def form_url(credit) -> str:
    return reverse("audits:validation_create", args=[credit.system.pk])


def selected(html: str, name: str) -> list[str]:
    import re

    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no {name} picker on the form"
    return re.findall(r'<option value="([^"]*)"[^>]*selected', select.group(1))


def options(html: str, name: str) -> list[str]:
    import re

    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    return [v for v in re.findall(r'<option value="([^"]*)"', select.group(1)) if v]


def test_the_form_offers_the_test_datasets_columns_prefilled_from_the_model_and_dataset(ml_engineer, credit):
    html = client_for(ml_engineer).get(form_url(credit)).content.decode()
    assert options(html, "feature_columns") == ["age", "income", "debt", "sex", "default"]
    assert selected(html, "feature_columns") == ["age", "income", "debt"]
    assert selected(html, "target_column") == ["default"]
    assert selected(html, "sensitive_columns") == ["sex"]


def test_the_training_set_is_preselected_and_never_offered_as_the_test_set(ml_engineer, credit):
    html = client_for(ml_engineer).get(form_url(credit)).content.decode()
    assert str(credit.train.pk) not in options(html, "test_dataset")
    assert selected(html, "train_dataset") == [str(credit.train.pk)]
    assert selected(html, "test_dataset") == [str(credit.test.pk)]


def test_a_note_names_the_models_features_the_dataset_lacks(ml_engineer, credit):
    credit.version.feature_columns = ["age", "income", "debt", "employment_years"]
    credit.version.save(update_fields=["feature_columns"])
    html = client_for(ml_engineer).get(form_url(credit)).content.decode()
    assert 'data-testid="missing-features"' in html and "employment_years" in html


def test_the_picked_columns_are_what_the_run_uses(ml_engineer, credit):
    response = client_for(ml_engineer).post(
        form_url(credit),
        {
            "model_version": credit.version.pk,
            "test_dataset": credit.test.pk,
            "train_dataset": credit.train.pk,
            "target_column": "default",
            "feature_columns": ["age", "income", "debt"],
            "sensitive_columns": ["sex", "age"],
        },
    )
    assert response.status_code == 302
    run = ValidationRun.objects.get()
    assert run.reproducibility["columns"] == {
        "target": "default",
        "features": ["age", "income", "debt"],
        "sensitive": ["sex", "age"],
    }
    from audits.validation.services import _local_inputs

    with _local_inputs(run) as spec:
        assert (spec.target, spec.features, spec.sensitive) == ("default", ["age", "income", "debt"], ["sex", "age"])


@pytest.mark.parametrize("field", ["feature_columns", "sensitive_columns", "target_column"])
def test_a_column_the_dataset_does_not_have_is_a_400_with_the_input_kept(ml_engineer, credit, field):
    data = {
        "model_version": credit.version.pk,
        "test_dataset": credit.test.pk,
        "seed": "42",
        "policy_overrides": "performance.min_auc = 0.7",
        field: "no_such_column",
    }
    response = client_for(ml_engineer).post(form_url(credit), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "no_such_column is not a column of the chosen test dataset" in html
    assert 'value="42"' in html and "performance.min_auc = 0.7" in html
    assert not ValidationRun.objects.exists()


def test_the_target_cannot_also_be_a_feature(ml_engineer, credit):
    response = client_for(ml_engineer).post(
        form_url(credit),
        {"model_version": credit.version.pk, "test_dataset": credit.test.pk, "feature_columns": ["age", "default"]},
    )
    assert response.status_code == 400 and "cannot also be a feature column" in response.content.decode()


def test_the_columns_refresh_for_another_dataset_without_javascript(ml_engineer, credit):
    from models_registry.services import dataset_register
    from tests.audits.validation_support import credit_frame, csv_bytes, uploaded

    frame = credit_frame(60, seed=3).rename(columns={"default": "label", "sex": "gender"})
    other = dataset_register(
        actor=ml_engineer,
        system=credit.system,
        name="holdout",
        role="test",
        file=uploaded("holdout.csv", csv_bytes(frame)),
    )
    response = client_for(ml_engineer).post(
        form_url(credit),
        {"model_version": credit.version.pk, "test_dataset": other.pk, "seed": "5", "refresh_columns": "1"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and not ValidationRun.objects.exists()
    assert "gender" in options(html, "sensitive_columns") and "sex" not in options(html, "sensitive_columns")
    assert selected(html, "target_column") == ["label"]  # a column named like a target
    assert selected(html, "test_dataset") == [str(other.pk)] and 'value="5"' in html


def test_the_htmx_refresh_returns_only_the_column_pickers(ml_engineer, credit):
    response = client_for(ml_engineer).get(
        form_url(credit),
        {"columns_for": "1", "test_dataset": credit.test.pk, "model_version": credit.version.pk},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="column-fields"' in html and "<html" not in html
    assert selected(html, "feature_columns") == ["age", "income", "debt"]


def test_the_api_defaults_the_columns_from_the_model_and_the_dataset(ml_engineer, credit):
    run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
    assert run.reproducibility["columns"] == {
        "target": "default",
        "features": ["age", "income", "debt"],
        "sensitive": ["sex"],
    }


def test_the_model_declared_features_are_the_default_when_the_card_has_none(ml_engineer, credit):
    credit.version.feature_columns = []
    credit.version.model_feature_names = ["income", "debt", "age"]
    credit.version.save(update_fields=["feature_columns", "model_feature_names"])
    run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
    assert run.reproducibility["columns"]["features"] == ["income", "debt", "age"]


def test_the_service_refuses_a_feature_column_the_test_dataset_lacks(ml_engineer, credit):
    with pytest.raises(ValidationFailed) as refused:
        validation_start(
            actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, feature_columns=["age", "zip"]
        )
    assert refused.value.code == "missing_feature_columns" and refused.value.extra["columns"] == ["zip"]


def test_the_api_takes_picked_columns_and_refuses_unknown_ones(ml_engineer, credit):
    from tests.audits.test_validation_api import api_for

    api = api_for(ml_engineer)
    body = {"model_version": credit.version.pk, "test_dataset": credit.test.pk}
    refused = api.post("/api/v1/validations/", {**body, "sensitive_columns": ["nationality"]}, format="json")
    assert refused.status_code == 400 and "nationality" in refused.json()["message"]
    accepted = api.post("/api/v1/validations/", {**body, "sensitive_columns": ["sex", "age"]}, format="json")
    assert accepted.status_code == 202, accepted.json()
    run = ValidationRun.objects.get(pk=accepted.json()["id"])
    assert run.reproducibility["columns"]["sensitive"] == ["sex", "age"]
    assert run.reproducibility["columns"]["features"] == ["age", "income", "debt"]


def test_the_column_pickers_are_only_for_those_who_start_runs(permission_matrix, credit):
    url = reverse("audits:validation_create", args=[credit.system.pk])
    query = {"columns_for": "1", "test_dataset": credit.test.pk}
    result = permission_matrix(lambda c: c.get(url, query, HTTP_HX_REQUEST="true"))
    assert result == {
        "anonymous": 302,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_another_organisations_dataset_columns_are_never_shown(ml_engineer, credit, outsider):
    from core.choices import Role
    from tests.audits.validation_support import register_credit_system
    from tests.conftest import make_user

    stranger = make_user(outsider.organisation, "sven", Role.ML_ENGINEER)
    theirs = register_credit_system(stranger, name="Their system")
    theirs.test.schema = [{"name": "their_secret_column"}]
    theirs.test.save(update_fields=["schema"])
    response = client_for(ml_engineer).get(
        form_url(credit), {"columns_for": "1", "test_dataset": theirs.test.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "their_secret_column" not in response.content.decode()
    assert client_for(stranger).get(form_url(credit)).status_code == 404
