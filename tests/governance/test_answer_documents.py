"""A document behind an answer (issue #14): attached to an answer of the draft on a page of its
own or through the API, stored once per organisation under its SHA-256, copied to the
determination on submission, shown and downloadable on the approval page, frozen into a
certification submission; refused clearly when it is not an acceptable file."""

import hashlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from core.choices import Role
from core.models import ApiToken
from governance.answer_document_services import answer_document_attach, clean_file_name
from governance.models import ClassificationDraft, Determination
from governance.services import classification_draft_save, determination_submit
from tests.conftest import make_user
from tests.governance.conftest import CREDIT_SCORING, events

pytestmark = pytest.mark.django_db

API = "/api/v1/classification/systems"
QUESTION = "annex3_5b_creditworthiness"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def url(name, *args):
    return reverse(f"governance:{name}", args=args)


def api(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def key(org_id: int, data: bytes) -> str:
    return f"governance/evidence/{org_id}/{hashlib.sha256(data).hexdigest()}"


def stored_files(media) -> list:
    root = media / "governance" / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def drafted(credit_system, ml_engineer):
    classification_draft_save(system=credit_system, answers=CREDIT_SCORING, actor=ml_engineer)
    return credit_system


@pytest.fixture
def engineer_client(client, ml_engineer):
    client.force_login(ml_engineer)
    return client


@pytest.fixture
def other_drafter(other_organisation):
    return make_user(other_organisation, "otto", Role.ML_ENGINEER)


def attach(system, user, name="assessment.pdf", data=PDF, question=QUESTION):
    return answer_document_attach(
        system=system, question_id=question, actor=user, uploaded_file=SimpleUploadedFile(name, data)
    )


def test_a_document_uploaded_on_the_attach_page_is_kept_with_the_answer_and_shown_on_the_approval_page(
    engineer_client, drafted, ml_engineer, compliance_officer
):
    questionnaire = engineer_client.get(url("classify", drafted.pk)).content.decode()
    assert url("answer_document", drafted.pk, QUESTION) in questionnaire  # linked from the answer's notes
    page = url("answer_document", drafted.pk, QUESTION)
    assert engineer_client.get(page).status_code == 200

    response = engineer_client.post(page, {"file": SimpleUploadedFile("Credit assessment.pdf", PDF)})
    assert response.status_code == 302
    document = ClassificationDraft.objects.get(system=drafted).answer_notes[QUESTION]["document"]
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["name"] == "Credit assessment.pdf" and document["size"] == len(PDF)
    assert document["content_type"] == "application/pdf" and document["added_by"] == ml_engineer.pk
    assert default_storage.exists(key(drafted.organisation_id, PDF))
    assert "Credit assessment.pdf" in engineer_client.get(url("classify", drafted.pk)).content.decode()

    response = engineer_client.post(url("classify", drafted.pk), dict(CREDIT_SCORING, action="submit"))
    determination = Determination.objects.get(system=drafted)
    assert determination.answer_notes[QUESTION]["document"] == document
    assert events("classification.submitted").get().after["answer_notes"][QUESTION]["document"] == document
    engineer_client.force_login(compliance_officer)
    approval_page = engineer_client.get(response["Location"]).content.decode()
    download = url("determination_answer_document", determination.pk, QUESTION)
    assert f'href="{download}"' in approval_page
    assert "Credit assessment.pdf" in approval_page and "bytes" in approval_page
    assert b"".join(engineer_client.get(download).streaming_content) == PDF


def test_the_same_bytes_attached_twice_are_stored_once(drafted, ml_engineer, media):
    attach(drafted, ml_engineer, name="one.pdf")
    attach(drafted, ml_engineer, name="two.pdf", question="is_ai_system")
    assert len(stored_files(media)) == 1


def test_a_file_name_keeps_no_folders_or_control_characters(drafted, ml_engineer):
    draft = attach(drafted, ml_engineer, name="../../etc/\x07report.pdf")
    assert draft.answer_notes[QUESTION]["document"]["name"] == "report.pdf"
    assert clean_file_name("C:\\Users\\mia\\..\\scan.png") == "scan.png"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.pdf", b"", "empty_file"),
        ("big.txt", b"a" * (10 * 1024 * 1024 + 1), "file_too_large"),
        ("tool.exe", b"MZ\x90\x00", "file_type_not_allowed"),
        ("no-extension", b"plain words", "file_type_not_allowed"),
        ("fake.pdf", b"<html><script>alert(1)</script>", "file_content_mismatch"),
        ("fake.png", PDF, "file_content_mismatch"),
        ("fake.jpg", PNG, "file_content_mismatch"),
        ("fake.docx", PDF, "file_content_mismatch"),
        ("fake.xlsx", b"not a zip", "file_content_mismatch"),
        ("binary.csv", b"a,b\x00\x01", "file_content_mismatch"),
    ],
)
def test_an_unacceptable_file_is_refused_with_a_400_and_nothing_is_stored(
    engineer_client, drafted, ml_engineer, media, name, data, code
):
    response = engineer_client.post(
        url("answer_document", drafted.pk, QUESTION), {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 400
    assert 'data-testid="attach-error"' in response.content.decode()
    assert stored_files(media) == []
    assert "document" not in ClassificationDraft.objects.get(system=drafted).answer_notes.get(QUESTION, {})
    assert not events("classification.answer_document_attached").exists()

    api_response = api(ml_engineer).post(
        f"{API}/{drafted.pk}/draft/answers/{QUESTION}/document/",
        {"file": SimpleUploadedFile(name, data)},
        format="multipart",
    )
    assert api_response.status_code == 400 and api_response.json()["code"] == code
    assert stored_files(media) == []


def test_a_document_for_a_question_not_answered_in_the_draft_is_refused_with_a_400(
    engineer_client, credit_system, ml_engineer, media
):
    classification_draft_save(system=credit_system, answers={"is_ai_system": "yes"}, actor=ml_engineer)
    response = engineer_client.post(
        url("answer_document", credit_system.pk, QUESTION), {"file": SimpleUploadedFile("a.pdf", PDF)}
    )
    assert response.status_code == 400
    assert "Answer this question in the draft" in response.content.decode()
    assert stored_files(media) == []
    api_response = api(ml_engineer).post(
        f"{API}/{credit_system.pk}/draft/answers/{QUESTION}/document/",
        {"file": SimpleUploadedFile("a.pdf", PDF)},
        format="multipart",
    )
    assert api_response.status_code == 400 and api_response.json()["code"] == "question_not_answered"


def test_an_unknown_question_has_no_attach_page(engineer_client, drafted):
    assert engineer_client.get(url("answer_document", drafted.pk, "no_such_question")).status_code == 404


def test_a_document_key_sent_in_answer_notes_is_ignored_and_the_stored_one_kept(drafted, ml_engineer):
    forged = {
        "sha256": hashlib.sha256(b"another organisation's file").hexdigest(),
        "name": "their-secret.pdf",
        "size": 10,
        "content_type": "application/pdf",
    }
    client = api(ml_engineer)
    notes = {"is_ai_system": {"reason": "It infers.", "document": forged}}
    saved = client.put(f"{API}/{drafted.pk}/draft/", {"answers": CREDIT_SCORING, "answer_notes": notes}, format="json")
    assert saved.status_code == 200
    assert saved.json()["answer_notes"]["is_ai_system"] == {"reason": "It infers.", "link": ""}

    mine = attach(drafted, ml_engineer).answer_notes[QUESTION]["document"]
    notes = {QUESTION: {"reason": "Scores loans.", "document": forged}}
    saved = client.put(f"{API}/{drafted.pk}/draft/", {"answers": CREDIT_SCORING, "answer_notes": notes}, format="json")
    assert saved.json()["answer_notes"][QUESTION] == {"reason": "Scores loans.", "link": "", "document": mine}

    submitted = client.post(
        f"{API}/{drafted.pk}/submit/", {"answers": CREDIT_SCORING, "answer_notes": notes}, format="json"
    )
    assert submitted.status_code == 201
    assert submitted.json()["answer_notes"][QUESTION]["document"] == mine
    assert "document" not in submitted.json()["answer_notes"].get("is_ai_system", {})


def test_the_questionnaire_autosave_keeps_the_attached_document(engineer_client, drafted, ml_engineer):
    attach(drafted, ml_engineer)
    engineer_client.post(url("classify", drafted.pk), dict(CREDIT_SCORING, **{f"reason-{QUESTION}": "Scores loans."}))
    note = ClassificationDraft.objects.get(system=drafted).answer_notes[QUESTION]
    assert note["reason"] == "Scores loans." and note["document"]["name"] == "assessment.pdf"


def test_a_drafter_of_another_organisation_gets_404_on_attach_detach_and_download(
    client, drafted, ml_engineer, other_drafter, media
):
    attach(drafted, ml_engineer)
    determination = determination_submit(system=drafted, actor=ml_engineer)
    client.force_login(other_drafter)
    page = url("answer_document", drafted.pk, QUESTION)
    assert client.get(page).status_code == 404
    assert client.post(page, {"file": SimpleUploadedFile("x.pdf", b"%PDF-x")}).status_code == 404
    assert client.post(url("answer_document_detach", drafted.pk, QUESTION)).status_code == 404
    assert client.get(url("answer_document_download", drafted.pk, QUESTION)).status_code == 404
    assert client.get(url("determination_answer_document", determination.pk, QUESTION)).status_code == 404
    path = f"{API}/{drafted.pk}/draft/answers/{QUESTION}/document/"
    other_api = api(other_drafter)
    assert other_api.post(path, {"file": SimpleUploadedFile("x.pdf", b"%PDF-x")}, format="multipart").status_code == 404
    assert other_api.delete(path).status_code == 404
    assert "document" in ClassificationDraft.objects.get(system=drafted).answer_notes[QUESTION]
    assert len(stored_files(media)) == 1


def test_a_download_is_an_attachment_the_browser_must_not_sniff(engineer_client, drafted, ml_engineer):
    attach(drafted, ml_engineer, name="scan.png", data=PNG)
    response = engineer_client.get(url("answer_document_download", drafted.pk, QUESTION))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;") and "scan.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG


def test_an_answer_without_a_document_has_nothing_to_download(engineer_client, drafted):
    assert engineer_client.get(url("answer_document_download", drafted.pk, QUESTION)).status_code == 404


def test_attaching_and_detaching_are_recorded_in_the_trail(engineer_client, drafted, ml_engineer):
    engineer_client.post(url("answer_document", drafted.pk, QUESTION), {"file": SimpleUploadedFile("a.pdf", PDF)})
    attached = events("classification.answer_document_attached").get()
    assert attached.actor_id == ml_engineer.pk
    assert attached.after["question"] == QUESTION
    assert attached.after["document"]["sha256"] == hashlib.sha256(PDF).hexdigest()

    classification_draft_save(
        system=drafted,
        answers=CREDIT_SCORING,
        actor=ml_engineer,
        answer_notes={QUESTION: {"reason": "Scores loans."}},
    )
    response = engineer_client.post(url("answer_document_detach", drafted.pk, QUESTION), follow=True)
    assert "Document removed" in response.content.decode()
    detached = events("classification.answer_document_detached").get()
    assert detached.before["document"]["name"] == "a.pdf"
    note = ClassificationDraft.objects.get(system=drafted).answer_notes[QUESTION]
    assert note == {"reason": "Scores loans.", "link": ""}  # the reason stays


def test_detaching_when_there_is_no_document_says_so(engineer_client, drafted):
    response = engineer_client.post(url("answer_document_detach", drafted.pk, QUESTION), follow=True)
    assert "has no document attached" in response.content.decode()
    assert not events("classification.answer_document_detached").exists()


def test_the_api_uploads_a_document_to_an_answer_and_shows_the_reference(drafted, ml_engineer):
    client = api(ml_engineer)
    response = client.post(
        f"{API}/{drafted.pk}/draft/answers/{QUESTION}/document/",
        {"file": SimpleUploadedFile("minutes.md", b"# Minutes\nDecided: Annex III 5(b).")},
        format="multipart",
    )
    assert response.status_code == 201
    document = response.json()["answer_notes"][QUESTION]["document"]
    assert document["name"] == "minutes.md" and document["content_type"] == "text/markdown"
    assert client.get(f"{API}/{drafted.pk}/draft/").json()["answer_notes"][QUESTION]["document"] == document
    determination = client.post(f"{API}/{drafted.pk}/submit/", {}, format="json").json()
    assert determination["answer_notes"][QUESTION]["document"] == document
    assert events("classification.answer_document_attached").count() == 1


def test_a_certification_submission_freezes_each_answers_reason_link_and_document(drafted, ml_engineer):
    from audits.certification.freeze import answer_evidence

    classification_draft_save(
        system=drafted,
        answers=CREDIT_SCORING,
        actor=ml_engineer,
        answer_notes={QUESTION: {"reason": "Scores loans.", "link": "https://wiki.example.com/x"}},
    )
    attach(drafted, ml_engineer)
    determination = determination_submit(system=drafted, actor=ml_engineer)
    assert answer_evidence(determination) == {
        QUESTION: {
            "reason": "Scores loans.",
            "link": "https://wiki.example.com/x",
            "document": {"sha256": hashlib.sha256(PDF).hexdigest(), "name": "assessment.pdf"},
        }
    }


def test_a_certificate_signs_the_reasons_links_and_documents_of_the_classification_it_relies_on(
    ml_engineer, compliance_officer, auditor, org_admin
):
    from audits.certification.models import Certificate
    from audits.certification.services import reviewer_assign, submission_create, submission_sign
    from governance.services import determination_approve
    from tests.audits.certification_support import PASSWORD, classifier, decide_all, make_certifiable

    ready = make_certifiable(ml_engineer, compliance_officer)
    note = {"reason": "Scores consumer loans.", "link": "https://wiki.example.com/credit"}
    classification_draft_save(
        system=ready.system, answers=CREDIT_SCORING, actor=ml_engineer, answer_notes={QUESTION: note}
    )
    attach(ready.system, ml_engineer)
    determination = determination_submit(system=ready.system, actor=ml_engineer)
    determination_approve(determination=determination, actor=classifier(compliance_officer))

    submission = submission_create(actor=ml_engineer, model_version=ready.version, note="Please review.")
    expected = {**note, "document": {"sha256": hashlib.sha256(PDF).hexdigest(), "name": "assessment.pdf"}}
    assert submission.frozen["classification"]["determination_id"] == determination.pk
    assert submission.frozen["classification"]["answer_evidence"] == {QUESTION: expected}

    reviewer_assign(actor=org_admin, submission=submission, reviewer=auditor)
    reviewer_assign(actor=org_admin, submission=submission, reviewer=compliance_officer)
    submission.refresh_from_db()
    decide_all(submission, auditor)
    for signer in (auditor, compliance_officer):
        submission_sign(
            actor=signer, submission=submission, decision="approve", password=PASSWORD, reason="Reviewed in full."
        )
    certificate = Certificate.objects.get(submission=submission)
    assert certificate.document["payload"]["classification"]["answer_evidence"] == {QUESTION: expected}
