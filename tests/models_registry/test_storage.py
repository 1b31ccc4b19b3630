"""Files go through one adapter: a local folder by default, S3-compatible storage when configured."""

import hashlib

import boto3
import pytest
from moto import mock_aws

from models_registry import storage
from models_registry.services import model_version_register
from tests.models_registry.conftest import model_args, uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3_bucket(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("s3", region_name="eu-central-1").create_bucket(
            Bucket="portal-artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        settings.STORAGES = {
            **settings.STORAGES,
            "artifacts": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": "portal-artifacts",
                    "region_name": "eu-central-1",
                    "location": "artifacts",
                    "file_overwrite": False,
                    "default_acl": None,
                },
            },
        }
        from django.core.files.storage import storages

        storages._storages.pop("artifacts", None)
        yield boto3.client("s3", region_name="eu-central-1")
        storages._storages.pop("artifacts", None)


def test_with_s3_configured_a_model_is_stored_in_the_bucket_under_its_organisation_and_hash(
    s3_bucket, system, ml_engineer, joblib_bytes
):
    version = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )
    digest = hashlib.sha256(joblib_bytes).hexdigest()
    keys = [o["Key"] for o in s3_bucket.list_objects_v2(Bucket="portal-artifacts").get("Contents", [])]
    assert keys == [f"artifacts/org/{ml_engineer.organisation_id}/sha256/{digest[:2]}/{digest}"]
    with storage.local_copy(version.artifact.storage_key, suffix=".joblib") as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_locally_a_stored_file_is_read_back_byte_for_byte(stored_files, system, ml_engineer, joblib_bytes):
    version = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )
    with storage.local_copy(version.artifact.storage_key) as path:
        assert path.read_bytes() == joblib_bytes


def test_deleting_a_version_removes_its_unshared_file_and_is_audited(
    stored_files, system, ml_engineer, joblib_bytes, django_capture_on_commit_callbacks
):
    from core.errors import ValidationFailed
    from core.models import AuditEvent
    from models_registry.services import model_version_delete

    version = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )
    with pytest.raises(ValidationFailed, match="why"):
        model_version_delete(actor=ml_engineer, version=version, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        model_version_delete(actor=ml_engineer, version=version, reason="uploaded to the wrong system")
    assert stored_files() == []
    assert AuditEvent.objects.get(verb="model_version.deleted").reason == "uploaded to the wrong system"


def test_two_organisations_uploading_the_same_bytes_get_two_files_and_deleting_one_keeps_the_other(
    stored_files, system, ml_engineer, other_organisation, joblib_bytes, django_capture_on_commit_callbacks
):
    from core.choices import Role
    from models_registry.services import model_version_delete, system_create
    from tests.conftest import make_user

    stranger = make_user(other_organisation, "gus", Role.ML_ENGINEER)
    theirs = system_create(actor=stranger, name="Globex pricing", purpose="Price policies")
    ours = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )
    other = model_version_register(
        actor=stranger, system=theirs, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )
    digest = hashlib.sha256(joblib_bytes).hexdigest()
    assert ours.artifact.storage_key == f"org/{ml_engineer.organisation_id}/sha256/{digest[:2]}/{digest}"
    assert other.artifact.storage_key == f"org/{stranger.organisation_id}/sha256/{digest[:2]}/{digest}"
    assert stored_files() == [digest, digest]  # same name, two folders
    with django_capture_on_commit_callbacks(execute=True):
        model_version_delete(actor=ml_engineer, version=ours, reason="wrong system")
    assert not storage.exists(ours.artifact.storage_key)
    with storage.local_copy(other.artifact.storage_key) as path:
        assert path.read_bytes() == joblib_bytes


def test_a_file_stored_under_the_old_global_key_is_reused_not_stored_again(
    stored_files, system, ml_engineer, joblib_bytes, tmp_path
):
    from models_registry.models import Artifact

    digest = hashlib.sha256(joblib_bytes).hexdigest()
    (tmp_path / "m.joblib").write_bytes(joblib_bytes)
    legacy, _ = storage.store(tmp_path / "m.joblib", digest)
    assert legacy == f"sha256/{digest[:2]}/{digest}"
    Artifact.objects.create(
        organisation_id=ml_engineer.organisation_id,
        kind="model",
        sha256=digest,
        size=len(joblib_bytes),
        storage_key=legacy,
        original_name="old.joblib",
        detected_format="joblib",
        uploaded_by=ml_engineer,
    )
    version = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )
    assert version.artifact.storage_key == legacy and stored_files() == [digest]
