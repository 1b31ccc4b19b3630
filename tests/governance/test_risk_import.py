"""CSV import: the dry run reports every row it would reject and why; applying writes every valid
row or none, as the user chose, and never half a row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.errors import NotAllowed, ValidationFailed
from governance.risks.importer import risk_import
from governance.risks.models import Risk
from tests.governance.conftest import events
from tests.governance.test_risk_support import control  # noqa: F401

pytestmark = pytest.mark.django_db

HEADER = "title,category,systems,likelihood,impact,owner,residual_likelihood,residual_impact,controls,treatment,acceptance_justification,due_date\n"
GOOD = "Unfair declines,bias,Consumer credit scoring,3,4,mia,2,2,Quarterly fairness review,mitigate,,2030-01-31\n"
GOOD_2 = "Model theft,Security,Consumer credit scoring,2,5,,,,,,,\n"
BAD = ("Scores off the scale,bias,Consumer credit scoring,7,4,,,,,,,\n"
       "Unknown system,privacy,Fraud detection,3,3,,,,,,,\n"
       "Worse after controls,robustness,Consumer credit scoring,2,2,,4,4,,,,\n"
       "Accepted without reason,legal,Consumer credit scoring,2,2,,,,,accept,,\n"
       "Bad date and owner,bias,Consumer credit scoring,3,3,nobody,,,,,,31/01/2030\n")


@pytest.fixture
def data(credit_system, ml_engineer, control):
    return credit_system


def _run(actor, text: str, apply=False, mode="all_or_nothing"):
    return risk_import(actor=actor, raw=text.encode(), apply=apply, mode=mode)


def test_a_dry_run_reports_every_rejected_row_with_its_reasons_and_writes_nothing(data, compliance_officer):
    report = _run(compliance_officer, HEADER + GOOD + BAD)
    assert not report.applied and Risk.objects.count() == 0
    rejected = {r.row: [e["code"] for e in r.errors] for r in report.rejected}
    assert rejected == {3: ["score_out_of_range"], 4: ["unknown_system"], 5: ["residual_above_inherent_needs_reason"],
                        6: ["acceptance_needs_justification"], 7: ["invalid_date", "unknown_owner"]}
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

        return client.post(reverse("governance:risk_import"), {
            "file": SimpleUploadedFile("risks.csv", text.encode(), content_type="text/csv"),
            "mode": mode, "action": action})

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
