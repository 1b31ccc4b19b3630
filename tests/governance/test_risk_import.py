"""CSV import: the dry run reports every row it would reject and why; applying writes every valid
row or none, as the user chose, and never half a row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.errors import NotAllowed, ValidationFailed
from governance.risks.importer import risk_import
from governance.risks.models import Risk
from tests.governance.conftest import events
from tests.governance.test_risk_support import control, credit_risk  # noqa: F401

pytestmark = pytest.mark.django_db

HEADER = "title,category,systems,likelihood,impact,owner,residual_likelihood,residual_impact,controls,treatment,acceptance_justification,due_date\n"
GOOD = "Unfair declines,bias,Consumer credit scoring,3,4,mia,2,2,Quarterly fairness review,mitigate,,2030-01-31\n"
GOOD_2 = "Model theft,Security,Consumer credit scoring,2,5,,,,,,,\n"
BAD = (
    "Scores off the scale,bias,Consumer credit scoring,7,4,,,,,,,\n"
    "Unknown system,privacy,Fraud detection,3,3,,,,,,,\n"
    "Worse after controls,robustness,Consumer credit scoring,2,2,,4,4,,,,\n"
    "Accepted without reason,legal,Consumer credit scoring,2,2,,,,,accept,,\n"
    "Bad date and owner,bias,Consumer credit scoring,3,3,nobody,,,,,,31/01/2030\n"
)


@pytest.fixture
def data(credit_system, ml_engineer, control):
    return credit_system


def _run(actor, text: str, apply=False, mode="all_or_nothing"):
    return risk_import(actor=actor, raw=text.encode(), apply=apply, mode=mode)


def test_a_dry_run_reports_every_rejected_row_with_its_reasons_and_writes_nothing(data, compliance_officer):
    report = _run(compliance_officer, HEADER + GOOD + BAD)
    assert not report.applied and Risk.objects.count() == 0
    rejected = {r.row: [e["code"] for e in r.errors] for r in report.rejected}
    assert rejected == {
        3: ["score_out_of_range"],
        4: ["unknown_system"],
        5: ["residual_above_inherent_needs_reason"],
        6: ["acceptance_needs_justification"],
        7: ["invalid_date", "unknown_owner"],
    }
    messages = {r.row: r.errors[0]["message"] for r in report.rejected}
    assert messages[4] == "Unknown AI system “Fraud detection”."
    assert "Likelihood must be a whole number from 1 to 5 (got 7)" in messages[3]
    assert report.valid == 1


def test_unknown_columns_reject_the_whole_file(data, compliance_officer):
    with pytest.raises(ValidationFailed) as caught:
        _run(compliance_officer, "title,category,systems,likelihood,impact,severity,colour\n" + "x,bias,a,1,1,2,red\n")
    assert caught.value.code == "invalid_header"
    assert caught.value.extra["unknown"] == ["severity", "colour"]
    assert "unknown column(s): severity, colour" in caught.value.message


def test_a_missing_required_column_rejects_the_whole_file(data, compliance_officer):
    with pytest.raises(ValidationFailed) as caught:
        _run(compliance_officer, "title,category,systems,likelihood\nx,bias,a,1\n")
    assert caught.value.extra["missing"] == ["impact"]


def test_all_or_nothing_applies_nothing_when_a_row_is_rejected(data, compliance_officer):
    report = _run(compliance_officer, HEADER + GOOD + GOOD_2 + BAD, apply=True)
    assert not report.applied and report.created == 0 and Risk.objects.count() == 0
    assert not events("risk.imported").exists()


def test_all_or_nothing_applies_every_row_when_all_are_valid(data, compliance_officer):
    report = _run(compliance_officer, HEADER + GOOD + GOOD_2, apply=True)
    assert report.applied and report.created == 2
    risk = Risk.objects.get(title="Unfair declines")
    assert (risk.owner.username, risk.residual_score, risk.due_date.isoformat()) == ("mia", 4, "2030-01-31")
    assert list(risk.controls.values_list("name", flat=True)) == ["Quarterly fairness review"]
    assert Risk.objects.get(title="Model theft").category == "security"  # by label
    assert events("risk.imported").count() == 2  # every imported risk audited
    assert all(r.revisions.get().verb == "risk.imported" for r in Risk.objects.all())


def test_valid_rows_only_applies_the_valid_rows_and_reports_the_rest(data, compliance_officer):
    report = _run(compliance_officer, HEADER + GOOD + BAD + GOOD_2, apply=True, mode="valid_only")
    assert report.applied and report.created == 2 and len(report.rejected) == 5
    assert set(Risk.objects.values_list("title", flat=True)) == {"Unfair declines", "Model theft"}


def test_a_row_with_the_wrong_number_of_values_is_rejected_not_guessed(data, compliance_officer):
    report = _run(compliance_officer, HEADER + "Short row,bias,Consumer credit scoring\n")
    assert report.rejected[0].errors[0]["code"] == "wrong_column_count"


def test_only_compliance_officers_import(data, ml_engineer):
    with pytest.raises(NotAllowed):
        _run(ml_engineer, HEADER + GOOD)


def test_semicolon_files_and_excel_bom_are_read(data, compliance_officer):
    text = "\ufeff" + (HEADER + GOOD).replace(",", ";").replace("Consumer credit scoring", "Consumer credit scoring")
    report = risk_import(actor=compliance_officer, raw=text.encode("utf-8"), apply=False)
    assert report.valid == 1


class TestImportPage:
    def _post(self, client, text, action, mode="all_or_nothing"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(
            reverse("governance:risk_import"),
            {
                "file": SimpleUploadedFile("risks.csv", text.encode(), content_type="text/csv"),
                "mode": mode,
                "action": action,
            },
        )

    def test_the_dry_run_page_lists_each_rejected_row(self, data, client, compliance_officer):
        client.force_login(compliance_officer)
        response = self._post(client, HEADER + GOOD + BAD, "dry_run")
        body = response.content.decode()
        assert response.status_code == 200 and "5 rejected" in body
        assert "Unknown AI system “Fraud detection”." in body and Risk.objects.count() == 0

    def test_applying_valid_rows_from_the_page(self, data, client, compliance_officer):
        client.force_login(compliance_officer)
        response = self._post(client, HEADER + GOOD + BAD, "apply", mode="valid_only")
        assert "1 risk created" in response.content.decode() and Risk.objects.count() == 1

    def test_a_bad_header_is_explained_on_the_page(self, data, client, compliance_officer):
        client.force_login(compliance_officer)
        response = self._post(client, "title,colour\nx,red\n", "dry_run")
        assert response.status_code == 422 and "unknown column(s): colour" in response.content.decode()

    def test_the_template_file_has_the_documented_header(self, client, compliance_officer):
        client.force_login(compliance_officer)
        response = client.get(reverse("governance:risk_import") + "?template=1")
        assert response.content.decode().splitlines()[0].startswith("title,category,systems,likelihood,impact")


# --- updates by reference -------------------------------------------------------------------------

UPDATE_HEADER = "reference,title,likelihood,impact,status,due_date\n"


@pytest.fixture
def existing(data, credit_risk):
    return credit_risk  # likelihood 3, impact 4, open, due 2030-01-31, owned by the compliance officer


def test_a_row_with_an_existing_reference_updates_that_risk_through_the_edit_service(existing, compliance_officer):
    report = _run(compliance_officer, UPDATE_HEADER + "R-1,,5,4,in treatment,\n", apply=True)
    assert report.applied and (report.created, report.updated) == (0, 1)
    existing.refresh_from_db()
    assert (existing.likelihood, existing.inherent_score, existing.status) == (5, 20, "in_treatment")
    assert existing.due_date.isoformat() == "2030-01-31"  # an empty cell leaves the field as it is
    revision = existing.revisions.get(number=2)
    assert revision.changes == {"likelihood": [3, 5], "inherent_score": [12, 20], "status": ["open", "in_treatment"]}
    assert revision.reason == "Imported from a CSV file (row 2)."
    event = events("risk.status_changed").get(object_id=str(existing.pk))
    assert event.before == {"likelihood": 3, "inherent_score": 12, "status": "open"}
    assert event.after == {"likelihood": 5, "inherent_score": 20, "status": "in_treatment"}


def test_the_dry_run_says_per_row_create_update_with_fields_or_why_it_is_rejected(existing, compliance_officer):
    text = (
        HEADER.rstrip("\n")
        + ",reference\n"
        + GOOD.rstrip("\n")
        + ",\n"
        + "Unfair declines renamed,bias,Consumer credit scoring;Fraud detection,3,5,,,,,,,,r-1\n"
        + ",,,,,,,,,,,,R-99\n"
        + "Unfair declines for young applicants,bias,Consumer credit scoring,3,4,,,,,,,,R-1\n"
    )
    report = _run(compliance_officer, text)
    outcomes = {r.row: r.outcome for r in report.rows}
    assert outcomes[2] == "create"
    assert outcomes[3] == "rejected: Unknown AI system “Fraud detection”."
    assert outcomes[4] == (
        "rejected: There is no risk “R-99” in your organisation; leave the reference empty to create a risk."
    )
    assert [r.errors[0]["code"] for r in report.rows[2:]] == ["unknown_reference", "duplicate_reference"]
    assert report.rows[1].reference == "R-1"  # written in lower case, found all the same
    assert not report.applied and existing.revisions.count() == 1 and Risk.objects.count() == 1


def test_the_dry_run_names_the_fields_an_update_changes_and_writes_nothing(existing, compliance_officer):
    report = _run(compliance_officer, UPDATE_HEADER + "R-1,Unfair declines (young),3,5,,2030-06-30\n")
    assert report.rows[0].outcome == "update (fields: title, impact, due_date)"
    existing.refresh_from_db()
    assert (existing.impact, existing.revisions.count()) == (4, 1)
    assert existing.title == "Unfair declines for young applicants"
    assert not events("risk.updated").exists()


def test_a_row_that_changes_nothing_is_reported_as_such_and_not_written(existing, compliance_officer):
    report = _run(
        compliance_officer, UPDATE_HEADER + "R-1,Unfair declines for young applicants,3,4,open,\n", apply=True
    )
    assert report.rows[0].outcome == "no change" and report.updated == 0 and existing.revisions.count() == 1


@pytest.mark.parametrize(
    "row, code",
    [
        ("R-1,,,,accepted,\n", "acceptance_needs_justification"),
        ("R-1,,9,,,\n", "score_out_of_range"),
        ("R-1,,,,done,\n", "invalid_status"),
    ],
)
def test_an_update_is_held_to_the_same_rules_as_the_edit_form(existing, compliance_officer, row, code):
    report = _run(compliance_officer, UPDATE_HEADER + row, apply=True, mode="valid_only")
    assert [e["code"] for e in report.rows[0].errors] == [code]
    assert report.updated == 0 and existing.revisions.count() == 1


def test_an_update_follows_the_transitions_table(existing, compliance_officer):
    from governance.risks.services import risk_transition

    risk_transition(risk=existing, actor=compliance_officer, to_status="closed")
    report = _run(compliance_officer, UPDATE_HEADER + "R-1,,,,in treatment,\n")
    assert report.rows[0].errors[0]["code"] == "illegal_transition"


def test_all_or_nothing_leaves_an_updated_risk_untouched_when_another_row_is_rejected(existing, compliance_officer):
    report = _run(compliance_officer, UPDATE_HEADER + "R-1,,5,,,\nR-99,,,,,\n", apply=True)
    existing.refresh_from_db()
    assert not report.applied and existing.likelihood == 3 and existing.revisions.count() == 1


def test_valid_rows_only_applies_the_update_and_reports_the_unknown_reference(existing, compliance_officer):
    report = _run(compliance_officer, UPDATE_HEADER + "R-1,,5,,,\nR-99,,,,,\n", apply=True, mode="valid_only")
    existing.refresh_from_db()
    assert report.applied and report.updated == 1 and existing.likelihood == 5
    assert [e["code"] for r in report.rejected for e in r.errors] == ["unknown_reference"]


def test_a_reference_of_another_organisation_is_unknown(data, compliance_officer, other_system, other_organisation):
    from core.choices import Role
    from tests.conftest import make_user
    from tests.governance.test_risk_support import make_risk

    foreign = make_risk(make_user(other_organisation, "otto", Role.COMPLIANCE_OFFICER), [other_system])
    report = _run(
        compliance_officer, UPDATE_HEADER + f"{foreign.reference},Taken over,,,,\n", apply=True, mode="valid_only"
    )
    assert report.rows[0].errors[0]["code"] == "unknown_reference"
    foreign.refresh_from_db()
    assert foreign.title != "Taken over"


def test_a_new_risk_in_a_file_with_references_still_needs_the_required_cells(data, compliance_officer):
    report = _run(compliance_officer, "reference,title,status\n,Half a risk,open\n")
    assert {e["field"] for e in report.rows[0].errors if e["code"] == "required"} == {
        "category",
        "systems",
        "likelihood",
        "impact",
    }


def test_the_import_page_shows_what_each_row_would_do(existing, client, compliance_officer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(compliance_officer)
    response = client.post(
        reverse("governance:risk_import"),
        {
            "file": SimpleUploadedFile("risks.csv", (UPDATE_HEADER + "R-1,,5,,,\nR-99,,,,,\n").encode()),
            "mode": "valid_only",
            "action": "dry_run",
        },
    )
    body = response.content.decode()
    assert "1 to update" in body and "update (fields: likelihood)" in body
    assert "There is no risk “R-99” in your organisation" in body
