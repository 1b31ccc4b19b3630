"""The registry's pages and endpoints as every persona: an ML engineer of another organisation
sees 404, an auditor can read but not upload."""

import pytest
from django.urls import reverse

from tests.models_registry.conftest import model_args, uploaded

pytestmark = pytest.mark.django_db
LOGIN = 302


@pytest.fixture
def version(system, ml_engineer, joblib_bytes):
    from models_registry.services import model_version_register

    return model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )


def test_the_inventory_is_readable_by_every_member(permission_matrix):
    result = permission_matrix(lambda c: c.get(reverse("registry:system_list")))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }


def test_a_system_page_is_404_for_another_organisation(permission_matrix, system):
    result = permission_matrix(lambda c: c.get(reverse("registry:system_detail", args=[system.pk])))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 404,
    }


def test_only_ml_engineers_open_the_register_form(permission_matrix):
    result = permission_matrix(lambda c: c.get(reverse("registry:system_create")))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_the_upload_form_is_for_ml_engineers_of_the_organisation(permission_matrix, system):
    result = permission_matrix(lambda c: c.get(reverse("registry:version_create", args=[system.pk])))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 404,
    }


def test_a_version_page_is_404_for_another_organisation(permission_matrix, version):
    result = permission_matrix(lambda c: c.get(reverse("registry:version_detail", args=[version.pk])))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 404,
    }


def test_api_system_list_and_create(permission_matrix):
    listed = permission_matrix(lambda c: c.get("/api/v1/systems/"), api=True)
    assert listed == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }
    counter = iter(range(100))
    created = permission_matrix(
        lambda c: c.post("/api/v1/systems/", {"name": f"S{next(counter)}", "purpose": "p"}, format="json"), api=True
    )
    assert created == {
        "anonymous": 401,
        "ml_engineer": 201,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_api_system_detail_and_update_of_another_organisation_are_404(permission_matrix, system):
    read = permission_matrix(lambda c: c.get(f"/api/v1/systems/{system.pk}/"), api=True)
    assert read == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 404,
    }
    patch = permission_matrix(
        lambda c: c.patch(f"/api/v1/systems/{system.pk}/", {"owner_team": "Risk"}, format="json"), api=True
    )
    assert patch == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 404,
    }


def test_api_upload_is_for_ml_engineers_of_the_organisation_and_an_auditor_can_read_the_scan(
    permission_matrix, system, version, joblib_bytes
):
    counter = iter(range(100))
    upload = permission_matrix(
        lambda c: c.post(
            f"/api/v1/systems/{system.pk}/versions/",
            {
                "version_label": f"2.{next(counter)}",
                "framework": "sklearn",
                "task": "binary",
                "file": uploaded("m.joblib", joblib_bytes),
            },
            format="multipart",
        ),
        api=True,
    )
    assert upload == {
        "anonymous": 401,
        "ml_engineer": 201,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 404,
    }
    read = permission_matrix(lambda c: c.get(f"/api/v1/versions/{version.pk}/"), api=True)
    assert read == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 404,
    }


def test_an_outsider_lists_none_of_another_organisations_systems_or_versions(client, outsider, version):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(outsider)
    assert api.get("/api/v1/systems/").json()["count"] == 0
    assert api.get("/api/v1/versions/").json()["count"] == 0


@pytest.fixture
def pending_upload(settings, system, ml_engineer, joblib_bytes):
    """A version and a dataset whose checks went to the worker (the request's budget is zero)."""
    from models_registry.services import dataset_register, model_version_register
    from tests.models_registry.test_datasets import CSV

    settings.UPLOAD_SCAN_INLINE_SECONDS = 0
    version = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("p.joblib", joblib_bytes), **model_args(version_label="9.9")
    )
    dataset = dataset_register(
        actor=ml_engineer, system=system, name="pending", role="test", file=uploaded("p.csv", CSV.encode())
    )
    return version, dataset


def test_a_pending_upload_answers_202_to_ml_engineers_and_its_pages_follow_the_same_rules(
    permission_matrix, system, pending_upload, joblib_bytes, django_capture_on_commit_callbacks
):
    version, dataset = pending_upload
    counter = iter(range(100))
    with django_capture_on_commit_callbacks(execute=False):
        upload = permission_matrix(
            lambda c: c.post(
                f"/api/v1/systems/{system.pk}/versions/",
                {
                    "version_label": f"3.{next(counter)}",
                    "framework": "sklearn",
                    "task": "binary",
                    "file": uploaded("m.joblib", joblib_bytes),
                },
                format="multipart",
            ),
            api=True,
        )
    assert upload == {
        "anonymous": 401,
        "ml_engineer": 202,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 404,
    }
    members = {"ml_engineer": 200, "auditor": 200, "compliance_officer": 200, "org_admin": 200, "outsider": 404}
    for url in (
        reverse("registry:version_detail", args=[version.pk]),
        reverse("registry:dataset_detail", args=[dataset.pk]),
    ):
        assert permission_matrix(lambda c, url=url: c.get(url)) == {"anonymous": LOGIN, **members}, url
    for url in (f"/api/v1/versions/{version.pk}/", f"/api/v1/datasets/{dataset.pk}/"):
        assert permission_matrix(lambda c, url=url: c.get(url), api=True) == {"anonymous": 401, **members}, url


@pytest.fixture
def stranger_engineer(other_organisation):
    """An ML engineer of another organisation: the role may change and upload, just not here."""
    from core.choices import Role
    from tests.conftest import make_user

    return make_user(other_organisation, "stan", Role.ML_ENGINEER)


def _api_as(user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize("stranger", ["stranger_engineer", "outsider"])
@pytest.mark.parametrize("request_kind", ["patch", "version upload", "dataset upload"])
def test_another_organisations_system_and_a_missing_one_answer_the_same_404_whatever_the_role(
    request, system, joblib_bytes, request_kind, stranger
):
    from tests.models_registry.test_datasets import CSV

    api = _api_as(request.getfixturevalue(stranger))

    def send(pk):
        if request_kind == "patch":
            return api.patch(f"/api/v1/systems/{pk}/", {"owner_team": "Risk"}, format="json")
        if request_kind == "version upload":
            return api.post(
                f"/api/v1/systems/{pk}/versions/",
                {
                    "version_label": "7.0",
                    "framework": "sklearn",
                    "task": "binary",
                    "file": uploaded("m.joblib", joblib_bytes),
                },
                format="multipart",
            )
        return api.post(
            f"/api/v1/systems/{pk}/datasets/",
            {"role": "test", "file": uploaded("d.csv", CSV.encode())},
            format="multipart",
        )

    theirs, missing = send(system.pk), send(system.pk + 1000)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert theirs.status_code == 404
    system.refresh_from_db()
    assert system.owner_team == "Credit risk" and not system.versions.exists() and not system.datasets.exists()


def test_the_registry_services_treat_another_organisations_system_as_not_found(system, stranger_engineer):
    from core.errors import NotFound
    from models_registry.services import system_update

    with pytest.raises(NotFound, match="does not exist"):
        system_update(actor=stranger_engineer, system=system, owner_team="Risk")
