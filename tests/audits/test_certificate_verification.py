"""Public certificate verification: the page anyone can open, the public API endpoints and the
published key. A verifier must learn whether a certificate is genuine and current, and nothing
else of the organisation."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audits.certification import certificates as certs
from audits.certification import signing
from audits.certification.models import Certificate
from audits.certification.public_views import MAX_DOCUMENT_BYTES, CertificateVerifyThrottle, certificate_check_document
from core.errors import ValidationFailed
from tests.audits.certification_support import *  # noqa: F403
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db
VERIFY_API = "/api/v1/certificates/verify/"
SUSPENSION_REASON = "Internal: the vendor's contract ended and the bank's counsel is reviewing liability."


@pytest.fixture(autouse=True)
def fresh_throttle():
    # The throttle counts requests per address in the cache; every test starts with a clean slate.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def certificate(high_risk_approved) -> Certificate:
    return high_risk_approved.certificate


def file_bytes(document: dict) -> bytes:
    """A certificate file as a person would hold it: pretty-printed, UTF-8."""
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def post_document(data: bytes):
    return APIClient().generic("POST", VERIFY_API, data, content_type="application/json")


def status_of(certificate_id):
    return APIClient().get(f"/api/v1/certificates/{certificate_id}/status/")


# --- a good certificate --------------------------------------------------------------------------


def test_a_good_certificate_file_verifies_as_valid_and_issued_by_this_portal(certificate):
    response = post_document(file_bytes(certificate.document))
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "status": "valid",
        "signature_valid": True,
        "issued_by_this_portal": True,
        "certificate_id": str(certificate.pk),
        "reason": response.json()["reason"],
    }
    assert "This is the certificate this portal issued" in response.json()["reason"]


def test_the_status_endpoint_reports_a_valid_certificate_by_its_id(certificate):
    body = status_of(certificate.pk).json()
    assert (body["status"], body["signature_valid"], body["issued_by_this_portal"]) == ("valid", True, True)
    assert body["certificate_id"] == str(certificate.pk)


def test_the_certificates_verification_url_opens_its_public_page(certificate):
    url = certificate.document["payload"]["verification_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = Client().get("/" + path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "VALID" in html and "The signature verifies" in html
    assert certificate.document["payload"]["hashes"]["model_sha256"] in html


def test_uploading_the_file_on_the_page_says_valid_and_that_it_matches_the_issued_certificate(certificate):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("certificate.json", file_bytes(certificate.document), "application/json")
    response = Client().post(reverse("certificate_verify"), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="verdict-word">VALID<' in html
    assert "It matches the certificate issued by this portal" in html
    payload = certificate.document["payload"]
    for shown in (
        payload["system"]["name"],
        payload["model_version"]["label"],
        payload["hashes"]["results_sha256"],
        payload["valid_until"],
        payload["signers"][0]["name"],
    ):
        assert shown in html


def test_pasting_the_certificate_on_the_page_works_like_uploading_it(certificate):
    response = Client().post(reverse("certificate_verify"), {"document": file_bytes(certificate.document).decode()})
    assert response.status_code == 200
    assert 'data-testid="verdict-word">VALID<' in response.content.decode()


def test_typing_an_id_on_the_page_leads_to_that_certificates_status(certificate):
    response = Client().get(reverse("certificate_verify"), {"id": f"  {certificate.pk} "})
    assert response.status_code == 302
    assert response["Location"] == reverse("certificate_verify_id", args=[certificate.pk])


# --- altered and forged certificates ------------------------------------------------------------


def test_flipping_any_byte_of_a_certificate_file_makes_it_fail(certificate):
    data = file_bytes(certificate.document)
    assert certificate_check_document(data=data).good
    for index in range(len(data)):
        altered = bytearray(data)
        altered[index] ^= 0x01
        try:
            result = certificate_check_document(data=bytes(altered))
        except ValidationFailed:
            continue  # no longer JSON, or no longer shaped like a certificate: refused outright
        assert not result.good, f"byte {index} ({chr(data[index])!r}) changed and the certificate still verifies"
        assert result.status == "invalid"


def test_a_changed_payload_is_reported_as_not_issued_by_this_portal_with_a_bad_signature(certificate):
    document = json.loads(json.dumps(certificate.document))
    document["payload"]["risk_tier"] = "minimal"
    body = post_document(file_bytes(document)).json()
    assert body["status"] == "invalid"
    assert (body["signature_valid"], body["issued_by_this_portal"]) == (False, False)
    assert "Not issued by this portal" in body["reason"] and "altered" in body["reason"]


def test_a_flipped_signature_byte_fails_although_the_content_is_the_issued_one(certificate):
    document = dict(certificate.document)
    signature = bytearray(base64.b64decode(document["signature"]))
    signature[10] ^= 0x01
    document["signature"] = base64.b64encode(bytes(signature)).decode()
    body = post_document(file_bytes(document)).json()
    assert (body["status"], body["signature_valid"], body["issued_by_this_portal"]) == ("invalid", False, True)
    assert "signature does not verify" in body["reason"]


def test_a_certificate_signed_with_another_key_is_a_forgery(certificate):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forger = Ed25519PrivateKey.generate()
    payload = dict(certificate.document["payload"], valid_until="2099-12-31")
    data = signing.canonical_bytes(payload)
    forged = {**certificate.document, "payload": payload, "signature": base64.b64encode(forger.sign(data)).decode()}
    body = post_document(file_bytes(forged)).json()
    assert (body["status"], body["signature_valid"], body["issued_by_this_portal"]) == ("invalid", False, False)


def test_a_document_the_portal_never_issued_is_not_issued_by_this_portal_even_when_signed(db):
    # Signed with the portal's own key (as a leaked signing oracle would), but with no record.
    document = signing.sign_document({"certificate_id": str(uuid.uuid4()), "system": {"name": "Ghost"}})
    body = post_document(file_bytes(document)).json()
    assert (body["status"], body["signature_valid"], body["issued_by_this_portal"]) == ("invalid", True, False)
    assert body["certificate_id"] is None
    assert "holds no certificate" in body["reason"]


def test_the_page_says_in_plain_words_that_a_forgery_does_not_verify(certificate):
    document = json.loads(json.dumps(certificate.document))
    document["payload"]["valid_until"] = "2099-12-31"
    response = Client().post(reverse("certificate_verify"), {"document": file_bytes(document).decode()})
    html = response.content.decode()
    assert response.status_code == 200
    assert "NOT VALID" in html and "The signature does not verify" in html and "Not issued by this portal" in html
    assert "2099-12-31" not in html  # the forged claim is never shown as if it were the certificate


# --- suspended, revoked, expired ------------------------------------------------------------------


def suspend(certificate, officer):
    certs.certificate_suspend(actor=officer, certificate=certificate, reason=SUSPENSION_REASON)


def revoke(certificate, officer):
    certs.certificate_revoke(actor=officer, certificate=certificate, reason=SUSPENSION_REASON)


def expire(certificate, officer):
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=timezone.localdate() - timedelta(days=1))


@pytest.mark.parametrize(
    "change,status,word",
    [(suspend, "suspended", "SUSPENDED"), (revoke, "revoked", "REVOKED"), (expire, "expired", "EXPIRED")],
)
def test_suspended_revoked_and_expired_certificates_are_reported_as_such(
    certificate, compliance_officer, change, status, word
):
    change(certificate, compliance_officer)
    assert status_of(certificate.pk).json()["status"] == status
    uploaded = post_document(file_bytes(certificate.document)).json()
    assert (uploaded["status"], uploaded["signature_valid"], uploaded["issued_by_this_portal"]) == (status, True, True)
    html = Client().get(reverse("certificate_verify_id", args=[certificate.pk])).content.decode()
    assert f'data-testid="verdict-word">{word}<' in html


def test_the_public_page_never_shows_the_organisations_internal_reasons(certificate, compliance_officer):
    suspend(certificate, compliance_officer)
    submission = certificate.submission
    html = Client().get(reverse("certificate_verify_id", args=[certificate.pk])).content.decode()
    body = json.dumps(status_of(certificate.pk).json())
    for internal in (
        SUSPENSION_REASON,
        submission.note,
        submission.decision_reason,
        submission.signoffs.first().reason,
    ):
        assert internal and internal not in html and internal not in body


# --- unknown ids and garbage ------------------------------------------------------------------------


def test_an_unknown_id_is_a_clear_404(db):
    unknown = uuid.uuid4()
    response = status_of(unknown)
    assert response.status_code == 404
    assert response.json()["code"] == "no_such_certificate" and "No such certificate" in response.json()["message"]
    page = Client().get(reverse("certificate_verify_id", args=[unknown]))
    assert page.status_code == 404
    assert "NO SUCH CERTIFICATE" in page.content.decode()


def test_a_mistyped_id_on_the_page_is_explained(db):
    response = Client().get(reverse("certificate_verify"), {"id": "not-an-id"})
    assert response.status_code == 400
    assert "That is not a certificate id" in response.content.decode()


@pytest.mark.parametrize(
    "garbage,code",
    [
        (b"this is not json", "invalid_json"),
        (b"\xff\xfe\x00", "invalid_json"),
        (b"[1, 2, 3]", "not_a_certificate"),
        (b'{"format": "ai-portal-certificate/1"}', "not_a_certificate"),
        (b'{"format": 1, "algorithm": 2, "key_id": 3, "payload": [], "signature": 4}', "not_a_certificate"),
        (b'{"a": 1, "a": 2}', "invalid_json"),
        (b'{"value": NaN}', "invalid_json"),
        (b"[" * 100_000, "invalid_json"),
        (b"", "empty"),
    ],
)
def test_garbage_is_refused_with_a_400_and_a_message(db, garbage, code):
    response = post_document(garbage)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and body["message"] and set(body) == {"message", "code", "extra"}


def test_garbage_on_the_page_is_explained_not_a_500(db):
    response = Client().post(reverse("certificate_verify"), {"document": "{not json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()


def test_an_upload_over_256_kb_is_refused_before_it_is_read(db):
    big = b'{"payload": "' + b"x" * MAX_DOCUMENT_BYTES + b'"}'
    response = post_document(big)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = Client().post(reverse("certificate_verify"), {"file": SimpleUploadedFile("big.json", big)})
    assert page.status_code == 413
    assert "too large" in page.content.decode()


# --- no login, no CSRF token, but throttled ------------------------------------------------------


def test_a_logged_in_browser_verifies_without_a_csrf_token(certificate, auditor):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(auditor)
    response = client.generic("POST", VERIFY_API, file_bytes(certificate.document), content_type="application/json")
    assert response.status_code == 200
    page = Client(enforce_csrf_checks=True)
    assert page.post(reverse("certificate_verify"), {"document": "{}"}).status_code == 400  # not 403


def test_too_many_checks_from_one_address_are_throttled(certificate, monkeypatch):
    monkeypatch.setattr(CertificateVerifyThrottle, "THROTTLE_RATES", {"certificate_verify": "3/minute"})
    answers = [status_of(certificate.pk).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert status_of(certificate.pk).json()["code"] == "throttled"
    page = Client().get(reverse("certificate_verify_id", args=[certificate.pk]))
    assert page.status_code == 429 and "Too many verification requests" in page.content.decode()


# --- the published key ---------------------------------------------------------------------------


def test_the_public_key_is_published_as_plain_text_pem_with_its_key_id(db):
    response = Client().get(reverse("certificate_public_key"))
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert f"Key id: {signing.key_id()}" in text and response["X-Certificate-Key-Id"] == signing.key_id()
    assert signing.public_key_pem() in text


def test_the_offline_tool_verifies_a_certificate_with_the_published_key(certificate, tmp_path):
    (tmp_path / "key.pem").write_bytes(Client().get(reverse("certificate_public_key")).content)
    (tmp_path / "certificate.json").write_bytes(file_bytes(certificate.document))
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "verify_certificate.py"),
            str(tmp_path / "certificate.json"),
            "--public-key",
            str(tmp_path / "key.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("VALID")


def test_a_pasted_certificate_that_does_not_parse_stays_in_the_box_to_be_fixed(db):
    pasted = '{"format": "ai-portal-certificate/1", "payload": {"certificate_id": "<x>"}'
    response = Client().post(reverse("certificate_verify"), {"document": pasted})
    body = response.content.decode()
    assert response.status_code == 400 and "not valid JSON" in body
    assert 'data-testid="verify-document">{&quot;format&quot;: &quot;ai-portal-certificate/1&quot;' in body
    assert "&lt;x&gt;" in body and "<x>" not in body
