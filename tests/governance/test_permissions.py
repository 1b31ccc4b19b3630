"""Every governance page and endpoint, run as anonymous, each role, and an admin of another
organisation. Who may draft, approve, accept, and who only reads."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.governance.conftest import CREDIT_SCORING

pytestmark = pytest.mark.django_db

LOGIN = 302
EVERY_MEMBER = {
    "anonymous": LOGIN,
    "ml_engineer": 200,
    "auditor": 200,
    "compliance_officer": 200,
    "org_admin": 200,
    "outsider": 200,
}
READ_OBJECT = dict(EVERY_MEMBER, outsider=404)
API_EVERY_MEMBER = dict(EVERY_MEMBER, anonymous=401)
API_READ_OBJECT = dict(READ_OBJECT, anonymous=401)


def url(name, *args):
    return reverse(f"governance:{name}", args=args)


# --- pages ---------------------------------------------------------------------------------------


def test_every_member_can_see_the_classification_list(permission_matrix, credit_system):
    assert permission_matrix(lambda c: c.get(url("classification_list"))) == EVERY_MEMBER


def test_only_ml_engineers_and_compliance_officers_open_the_questionnaire(permission_matrix, credit_system):
    assert permission_matrix(lambda c: c.get(url("classify", credit_system.pk))) == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }


def test_a_drafter_of_another_organisation_gets_404_for_the_questionnaire(client, other_system, ml_engineer):
    client.force_login(ml_engineer)
    assert client.get(url("classify", other_system.pk)).status_code == 404


def test_saving_answers_is_for_drafters(permission_matrix, credit_system):
    result = permission_matrix(lambda c: c.post(url("classify", credit_system.pk), {"is_ai_system": "yes"}))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 302,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_the_classification_history_and_result_pages_are_readable_by_members_only(permission_matrix, submitted):
    assert permission_matrix(lambda c: c.get(url("system_classification", submitted.system_id))) == READ_OBJECT
    assert permission_matrix(lambda c: c.get(url("determination_detail", submitted.pk))) == READ_OBJECT


def test_only_a_compliance_officer_approves(permission_matrix, submitted):
    result = permission_matrix(lambda c: c.post(url("determination_approve", submitted.pk)))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }
    submitted.refresh_from_db()
    assert submitted.status == "approved"


def test_only_a_compliance_officer_overrides(permission_matrix, submitted):
    data = {"outcome": "minimal_risk", "justification": "Reviewed by legal: the scores are not used for credit."}
    result = permission_matrix(lambda c: c.post(url("determination_override", submitted.pk), data))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }
    submitted.refresh_from_db()
    assert submitted.override_outcome == "minimal_risk"


def test_a_compliance_officer_gets_404_for_another_organisations_determination(
    client, other_system, other_organisation, compliance_officer
):
    from governance.services import determination_submit
    from tests.conftest import make_user

    their_officer = make_user(other_organisation, "globex.co", "compliance_officer")
    determination = determination_submit(system=other_system, actor=their_officer, answers=CREDIT_SCORING)
    client.force_login(compliance_officer)
    assert client.post(url("determination_approve", determination.pk)).status_code == 404
    assert client.get(url("determination_detail", determination.pk)).status_code == 404
    determination.refresh_from_db()
    assert determination.status == "submitted"


def test_the_obligations_board_and_export_are_for_every_member(permission_matrix, approved):
    assert permission_matrix(lambda c: c.get(url("obligation_board"))) == EVERY_MEMBER
    assert permission_matrix(lambda c: c.get(url("obligation_export"))) == EVERY_MEMBER


def test_a_systems_obligations_and_an_obligation_are_readable_by_members_only(permission_matrix, obligation):
    assert permission_matrix(lambda c: c.get(url("system_obligations", obligation.system_id))) == READ_OBJECT
    assert permission_matrix(lambda c: c.get(url("obligation_detail", obligation.pk))) == READ_OBJECT


def test_moving_an_obligation_is_for_compliance_officers_and_its_owner(permission_matrix, obligation):
    result = permission_matrix(
        lambda c: c.post(url("obligation_transition", obligation.pk), {"to_status": "in_progress"})
    )
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 404,
    }


def test_the_owner_of_an_obligation_may_move_it(client, obligation, ml_engineer, compliance_officer):
    from governance.services import obligation_assign

    obligation_assign(
        obligation=obligation, actor=compliance_officer, owner=ml_engineer, due_date=None, evidence_max_age_days=90
    )
    client.force_login(ml_engineer)
    client.post(url("obligation_transition", obligation.pk), {"to_status": "in_progress"})
    obligation.refresh_from_db()
    assert obligation.status == "in_progress"


def test_assigning_an_obligation_is_for_compliance_officers(permission_matrix, obligation):
    result = permission_matrix(lambda c: c.post(url("obligation_assign", obligation.pk), {"evidence_max_age_days": 30}))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_adding_evidence_is_for_compliance_officers_and_the_owner(permission_matrix, obligation):
    def call(c):
        return c.post(
            url("evidence_add", obligation.pk), {"kind": "document", "file": SimpleUploadedFile("plan.txt", b"plan")}
        )

    assert permission_matrix(call) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 404,
    }


def test_evidence_downloads_are_for_members_only(permission_matrix, obligation, compliance_officer):
    from governance.services import evidence_add_document

    evidence = evidence_add_document(
        obligation=obligation, actor=compliance_officer, uploaded_file=SimpleUploadedFile("plan.txt", b"the plan")
    )
    assert permission_matrix(lambda c: c.get(url("evidence_download", evidence.pk))) == READ_OBJECT


def _draft_with_document(system, user):
    from governance.answer_document_services import answer_document_attach
    from governance.services import classification_draft_save

    classification_draft_save(system=system, answers=CREDIT_SCORING, actor=user)
    answer_document_attach(
        system=system,
        question_id="is_ai_system",
        actor=user,
        uploaded_file=SimpleUploadedFile("sheet.txt", b"product sheet"),
    )


DRAFTERS_ONLY = {
    "anonymous": LOGIN,
    "ml_engineer": 200,
    "auditor": 403,
    "compliance_officer": 200,
    "org_admin": 403,
    "outsider": 403,
}


def test_only_drafters_open_and_use_the_page_that_attaches_a_document_to_an_answer(
    permission_matrix, credit_system, ml_engineer
):
    _draft_with_document(credit_system, ml_engineer)
    page = url("answer_document", credit_system.pk, "is_ai_system")
    assert permission_matrix(lambda c: c.get(page)) == DRAFTERS_ONLY
    upload = permission_matrix(lambda c: c.post(page, {"file": SimpleUploadedFile("n.txt", b"note")}))
    assert upload == dict(DRAFTERS_ONLY, ml_engineer=302, compliance_officer=302)
    detach = permission_matrix(lambda c: c.post(url("answer_document_detach", credit_system.pk, "is_ai_system")))
    assert detach == dict(DRAFTERS_ONLY, ml_engineer=302, compliance_officer=302)


def test_answer_documents_are_downloaded_by_members_of_the_organisation_only(
    permission_matrix, credit_system, ml_engineer
):
    from governance.services import determination_submit

    _draft_with_document(credit_system, ml_engineer)
    draft_file = url("answer_document_download", credit_system.pk, "is_ai_system")
    assert permission_matrix(lambda c: c.get(draft_file)) == READ_OBJECT
    determination = determination_submit(system=credit_system, actor=ml_engineer)
    record_file = url("determination_answer_document", determination.pk, "is_ai_system")
    assert permission_matrix(lambda c: c.get(record_file)) == READ_OBJECT


# --- API -------------------------------------------------------------------------------------------

API = "/api/v1"


def test_api_questionnaire_needs_a_token(permission_matrix):
    assert permission_matrix(lambda c: c.get(f"{API}/classification/questionnaire/"), api=True) == API_EVERY_MEMBER


def test_api_draft_save_is_for_drafters(permission_matrix, credit_system):
    result = permission_matrix(
        lambda c: c.put(
            f"{API}/classification/systems/{credit_system.pk}/draft/",
            {"answers": {"is_ai_system": "yes"}},
            format="json",
        ),
        api=True,
    )
    assert result == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }
    assert (
        permission_matrix(lambda c: c.get(f"{API}/classification/systems/{credit_system.pk}/draft/"), api=True)
        == API_READ_OBJECT
    )


def test_api_submit_is_for_drafters(permission_matrix, credit_system):
    result = permission_matrix(
        lambda c: c.post(
            f"{API}/classification/systems/{credit_system.pk}/submit/", {"answers": CREDIT_SCORING}, format="json"
        ),
        api=True,
    )
    assert result == {
        "anonymous": 401,
        "ml_engineer": 201,
        "auditor": 403,
        "compliance_officer": 201,
        "org_admin": 403,
        "outsider": 403,
    }


def test_api_answer_document_upload_and_removal_are_for_drafters(permission_matrix, credit_system, ml_engineer):
    from governance.services import classification_draft_save

    classification_draft_save(system=credit_system, answers=CREDIT_SCORING, actor=ml_engineer)
    path = f"{API}/classification/systems/{credit_system.pk}/draft/answers/is_ai_system/document/"
    result = permission_matrix(
        lambda c: c.post(path, {"file": SimpleUploadedFile("n.txt", b"note")}, format="multipart"), api=True
    )
    refused = {"anonymous": 401, "auditor": 403, "org_admin": 403, "outsider": 403}
    assert result == dict(refused, ml_engineer=201, compliance_officer=201)
    # The first removal succeeds; the second finds no document (400): both passed the permission check.
    assert permission_matrix(lambda c: c.delete(path), api=True) == dict(
        refused, ml_engineer=200, compliance_officer=400
    )


def test_api_determinations_are_readable_by_members_of_the_organisation(permission_matrix, approved):
    system = approved.system_id
    for path in (
        f"classification/systems/{system}/determinations/",
        f"classification/systems/{system}/current/",
        f"classification/determinations/{approved.pk}/",
        f"classification/systems/{system}/obligations/",
    ):
        assert permission_matrix(lambda c, path=path: c.get(f"{API}/{path}"), api=True) == API_READ_OBJECT, path


def test_api_approve_and_override_are_for_compliance_officers(permission_matrix, credit_system, ml_engineer):
    from governance.services import determination_submit

    first = determination_submit(system=credit_system, actor=ml_engineer, answers=CREDIT_SCORING)
    result = permission_matrix(
        lambda c: c.post(f"{API}/classification/determinations/{first.pk}/approve/", {}, format="json"), api=True
    )
    assert result == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }
    second = determination_submit(system=credit_system, actor=ml_engineer, answers=CREDIT_SCORING)
    data = {"outcome": "minimal_risk", "justification": "Reviewed by legal, documented in memo 2026-17."}
    result = permission_matrix(
        lambda c: c.post(f"{API}/classification/determinations/{second.pk}/override/", data, format="json"), api=True
    )
    assert result == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }


def test_api_obligations_are_readable_by_every_member_and_scoped_to_the_organisation(permission_matrix, obligation):
    assert permission_matrix(lambda c: c.get(f"{API}/obligations/"), api=True) == API_EVERY_MEMBER
    assert permission_matrix(lambda c: c.get(f"{API}/obligations/{obligation.pk}/"), api=True) == API_READ_OBJECT
