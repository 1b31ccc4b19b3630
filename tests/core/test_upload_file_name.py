"""A file name too long for Django's multipart parser (1 KB of headers per part) is refused with a
sentence that says what to do, on the page and in the API, instead of the parser's own words."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
BOUNDARY = "portal-test-boundary"


def multipart(file_name: str) -> bytes:
    """Built by hand: the test client's upload objects cut names to 255 characters, browsers do not."""
    fields = {"version_label": "1.0.0", "framework": "sklearn", "task": "binary"}
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\nnot a model\r\n--{BOUNDARY}--\r\n"
    )
    return "".join(parts).encode()


@pytest.fixture
def system(ml_engineer):
    from models_registry.services import system_create

    return system_create(actor=ml_engineer, name="Credit scoring", purpose="Score loans")


def post(client, url, file_name):
    return client.generic("POST", url, multipart(file_name), content_type=f"multipart/form-data; boundary={BOUNDARY}")


def test_a_thousand_character_file_name_gets_a_sentence_in_the_api(ml_engineer, system):
    api = APIClient()
    api.force_authenticate(ml_engineer)
    response = post(api, f"/api/v1/systems/{system.pk}/versions/", "m" * 1000 + ".joblib")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "file_name_too_long"
    assert "the name of the file is too long" in body["message"] and "Rename the file" in body["message"]
    assert "header size exceeded" not in body["message"]


def test_a_thousand_character_file_name_gets_a_sentence_on_the_upload_page(ml_engineer, system):
    client = Client()
    client.force_login(ml_engineer)
    response = post(client, reverse("registry:version_create", args=[system.pk]), "m" * 1000 + ".joblib")
    assert response.status_code == 400
    page = response.content.decode()
    assert "the name of the file is too long" in page and "Multipart" not in page
