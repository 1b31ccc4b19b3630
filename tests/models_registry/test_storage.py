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
            Bucket="portal-artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        settings.STORAGES = {**settings.STORAGES, "artifacts": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "portal-artifacts", "region_name": "eu-central-1", "location": "artifacts",
                        "file_overwrite": False, "default_acl": None}}}
        from django.core.files.storage import storages

        storages._storages.pop("artifacts", None)
        yield boto3.client("s3", region_name="eu-central-1")
        storages._storages.pop("artifacts", None)


def test_with_s3_configured_a_model_is_stored_in_the_bucket_under_its_hash(s3_bucket, system, ml_engineer, joblib_bytes):
    version = model_version_register(actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes),
                                     **model_args())
    digest = hashlib.sha256(joblib_bytes).hexdigest()
    keys = [o["Key"] for o in s3_bucket.list_objects_v2(Bucket="portal-artifacts").get("Contents", [])]
    assert keys == [f"artifacts/sha256/{digest[:2]}/{digest}"]
    with storage.local_copy(version.artifact.storage_key, suffix=".joblib") as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_locally_a_stored_file_is_read_back_byte_for_byte(stored_files, system, ml_engineer, joblib_bytes):
    version = model_version_register(actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes),
                                     **model_args())
    with storage.local_copy(version.artifact.storage_key) as path:
        assert path.read_bytes() == joblib_bytes


def test_deleting_a_version_removes_its_unshared_file_and_is_audited(stored_files, system, ml_engineer, joblib_bytes,
                                                                    django_capture_on_commit_callbacks):
    from audits.models import AuditEvent
    from core.errors import ValidationFailed
    from models_registry.services import model_version_delete

    version = model_version_register(actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes),
                                     **model_args())
    with pytest.raises(ValidationFailed, match="why"):
        model_version_delete(actor=ml_engineer, version=version, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        model_version_delete(actor=ml_engineer, version=version, reason="uploaded to the wrong system")
    assert stored_files() == []
    assert AuditEvent.objects.get(verb="model_version.deleted").reason == "uploaded to the wrong system"
