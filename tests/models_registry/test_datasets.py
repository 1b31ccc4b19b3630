import gzip

import pytest
from rest_framework.test import APIClient

from core.errors import ValidationFailed
from core.models import AuditEvent
from core.services import api_token_create
from models_registry.models import Dataset
from models_registry.services import dataset_register
from tests.models_registry.conftest import uploaded

pytestmark = pytest.mark.django_db

CSV = "age;income;sex;email;default\n" + "".join(
    f"{20 + n % 50};{1000 + 37 * n};{'F' if n % 3 else 'M'};person{n}@example.org;{n % 2}\n" for n in range(60)
)


def register(system, actor, file_name="applications.csv", data=None, **kwargs):
    data = CSV.encode() if data is None else data
    args = {"name": "", "role": "test", "target_column": "default", "sensitive_columns": ["sex", "age"]}
    args.update(kwargs)
    return dataset_register(actor=actor, system=system, file=uploaded(file_name, data), **args)


def test_a_csv_dataset_is_profiled_and_its_personal_data_flagged(system, ml_engineer, stored_files):
    dataset = register(system, ml_engineer)
    assert (dataset.row_count, dataset.column_count, dataset.file_format) == (60, 5, "csv")
    assert dataset.read_options["delimiter"] == ";"
    assert dataset.pii_columns == ["email"]
    assert [c["name"] for c in dataset.schema] == ["age", "income", "sex", "email", "default"]
    assert AuditEvent.objects.get(verb="dataset.registered").after["pii_columns"] == ["email"]
    assert len(stored_files()) == 1


def test_uploading_the_same_name_again_makes_the_next_version(system, ml_engineer):
    first = register(system, ml_engineer, file_name="applications.csv")
    second = register(
        system, ml_engineer, file_name="applications.csv.gz", data=gzip.compress(CSV.encode()), name=first.name
    )
    assert (first.version, second.version) == (1, 2) and second.read_options["compression"] == "gzip"


@pytest.mark.parametrize(
    "name, data, code",
    [
        ("empty.csv", b"", "empty_file"),
        ("header.csv", b"a,b\n", "no_rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "ragged_rows"),
        ("dup.csv", b"a,a\n1,2\n", "duplicate_columns"),
        ("fake.parquet", b"a,b\n1,2\n", "format_mismatch"),
        ("model.pkl", b"\x80\x04K\x01.", "unsupported_format"),
        ("truncated.csv.gz", gzip.compress(CSV.encode(), mtime=0)[:-30], "truncated_file"),
    ],
)
def test_bad_files_get_a_specific_error_and_leave_nothing_behind(system, ml_engineer, stored_files, name, data, code):
    with pytest.raises(ValidationFailed) as refused:
        register(system, ml_engineer, file_name=name, data=data, target_column="", sensitive_columns=[])
    assert refused.value.code == code
    assert stored_files() == [] and not Dataset.objects.exists()
    assert AuditEvent.objects.get(verb="dataset.upload_refused").after["code"] == code


def test_a_target_column_that_does_not_exist_is_named_with_close_matches(system, ml_engineer):
    with pytest.raises(ValidationFailed) as refused:
        register(system, ml_engineer, target_column="Default")
    assert refused.value.code == "missing_column" and "default" in str(refused.value.extra)


def test_ci_uploads_a_dataset_and_reads_its_schema(system, ml_engineer):
    _, secret = api_token_create(actor=ml_engineer, name="ci")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = api.post(
        f"/api/v1/systems/{system.pk}/datasets/",
        {
            "role": "train",
            "file": uploaded("train.csv", CSV.encode()),
            "target_column": "default",
            "sensitive_columns": ["sex"],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = api.get(f"/api/v1/datasets/{response.json()['id']}/").json()
    assert body["row_count"] == 60 and body["pii_columns"] == ["email"] and body["sensitive_columns"] == ["sex"]
    bad = api.post(
        f"/api/v1/systems/{system.pk}/datasets/",
        {"role": "train", "file": uploaded("train.csv", CSV.encode()), "target_column": "nope"},
        format="multipart",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "missing_column"
