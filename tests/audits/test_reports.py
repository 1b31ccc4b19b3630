"""Reports: the validation and certification report of a submission (HTML and PDF), the draft
Annex IV technical documentation, and the export of one system's audit trail."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.audits.certification_support import (  # noqa: F401  (fixtures)
    certifiable,
    high_risk_approved,
    in_review,
    minimal_certifiable,
    submission,
)
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as poppler reads it (the same reading an auditor's tools would do)."""
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def run_verifier(path: Path) -> subprocess.CompletedProcess:
    """The offline tool, with the portal's audit-trail public key (exports have signed headers)."""
    from audits import checkpoints

    key = path.parent / "audit-trail-public-key.pem"
    key.write_text(checkpoints.checkpoint_public_key_pem())
    return subprocess.run(
        ["python3", str(ROOT / "tools" / "verify_audit_export.py"), str(path), "--public-key", str(key)],
        capture_output=True,
        text=True,
    )


# --- the validation and certification report --------------------------------------------------------


def test_the_pdf_report_holds_the_hashes_the_certificate_and_the_decision(high_risk_approved, auditor):
    submission = high_risk_approved
    certificate = submission.certificate
    started = time.perf_counter()
    response = client_for(auditor).get(reverse("reports:submission_report_pdf", args=[submission.pk]))
    render_s = time.perf_counter() - started
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Report-Cache"] == "miss"
    text = pdf_text(response.content)
    assert submission.frozen["model"]["sha256"] in text
    assert submission.frozen["validation"]["results_sha256"] in text
    assert submission.frozen_sha256 in text
    for dataset in submission.frozen["datasets"]:
        assert dataset["sha256"] in text
    assert str(certificate.pk) in text
    assert certificate.payload_sha256 in text
    assert certificate.key_id in text
    assert "Decision: Approved" in text
    assert "DRAFT" not in text
    # Running header and page numbers on every page, from CSS @page.
    pages = text.split("\f")
    real_pages = [p for p in pages if p.strip()]
    assert len(real_pages) >= 2
    for number, page in enumerate(real_pages, start=1):
        assert f"Page {number} of {len(real_pages)}" in page
        assert "Validation and certification report S-" in page
    # Cold: the first render in the process also imports WeasyPrint and matplotlib. Warm: again,
    # without the cache, as every later submission's first download is.
    from audits.reports.pdf import html_to_pdf
    from audits.reports.report import submission_report_html

    started = time.perf_counter()
    html_to_pdf(submission_report_html(submission=submission, for_print=True))
    warm_s = time.perf_counter() - started
    print(
        f"\nPDF report of the fixture submission: {render_s:.2f} s cold (first in the process), "
        f"{warm_s:.2f} s warm; {len(response.content) / 1024:.0f} KiB, {len(real_pages)} pages"
    )
    assert warm_s < 15, f"the report took {warm_s:.1f} s to render"


def test_a_second_download_comes_from_the_cache_and_a_change_makes_a_new_file(
    high_risk_approved, auditor, ml_engineer, settings
):
    from audits.certification.services import finding_comment_add

    submission = high_risk_approved
    url = reverse("reports:submission_report_pdf", args=[submission.pk])
    client = client_for(auditor)
    first = client.get(url)
    started = time.perf_counter()
    second = client.get(url)
    cached_s = time.perf_counter() - started
    assert (first["X-Report-Cache"], second["X-Report-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    print(f"\nPDF report served from the cache in {cached_s * 1000:.0f} ms")
    finding = submission.validation_run.findings.first()
    # A comment does not raise the submission's lock_version, but it changes the comment counts.
    finding_comment_add(actor=ml_engineer, submission=submission, finding=finding, body="Mitigation planned for Q3.")
    third = client.get(url)
    assert third["X-Report-Cache"] == "miss"
    folder = Path(settings.DATA_DIR) / "reports" / f"submission-{submission.pk}"
    assert len(list(folder.glob("*.pdf"))) == 1, "the superseded report is removed"


def test_a_report_of_a_submission_still_in_review_is_stamped_draft(in_review, auditor):
    response = client_for(auditor).get(reverse("reports:submission_report_pdf", args=[in_review.pk]))
    text = pdf_text(response.content)
    assert "DRAFT — not signed off" in text
    assert "Not signed off." in text
    assert "No certificate has been issued" in text
    assert "Decision: Approved" not in text
    html = client_for(auditor).get(reverse("reports:submission_report_html", args=[in_review.pk])).content.decode()
    assert 'data-testid="draft-stamp"' in html


def test_a_report_of_an_unsubmitted_draft_says_nothing_is_frozen_yet(certifiable, ml_engineer, auditor):
    from audits.certification.services import submission_create

    draft = submission_create(actor=ml_engineer, model_version=certifiable.version, submit=False)
    html = client_for(auditor).get(reverse("reports:submission_report_html", args=[draft.pk])).content.decode()
    assert "DRAFT — not signed off" in html
    assert "Nothing is frozen yet" in html
    assert "applications-test v1" in html  # the run's datasets as they are, since none are frozen


def test_the_html_report_shows_every_check_the_findings_decisions_and_the_signers(
    high_risk_approved, auditor, compliance_officer
):
    submission = high_risk_approved
    html = (
        client_for(compliance_officer)
        .get(reverse("reports:submission_report_html", args=[submission.pk]))
        .content.decode()
    )
    for result in submission.validation_run.results.all():
        assert result.check_id in html
        assert result.summary in html
    assert "≥ 0.7" in html  # the thresholds
    assert "Within the bank&#x27;s documented appetite for this model." in html  # the decisions' justification
    assert "Accept the risk" in html
    assert "All checks reviewed; the residual risks are accepted." in html  # the signers' reasons
    assert "Classification and obligations are in order." in html
    assert "Compliance officer" in html and "Auditor" in html
    assert "Annex III point 5(b)" in html  # the classification's legal basis
    assert "data:image/svg+xml;base64," in html  # charts are inline, never fetched
    for remote in ('src="http', "src='http", 'href="http', "url(http", "url('http", "@import"):
        assert remote not in html, remote  # nothing a printer would have to fetch
    assert reverse("reports:submission_report_pdf", args=[submission.pk]) in html


def test_charts_beyond_the_cap_are_left_out_and_counted_failures_first(high_risk_approved, monkeypatch):
    from audits.reports import report

    monkeypatch.setattr(report, "MAX_CHARTS", 2)
    context = report.submission_report_context(submission=high_risk_approved)
    charts = context["charts"]
    assert (charts.printed, charts.total, charts.omitted) == (2, 4, 2)
    assert set(charts.by_check) == {"PERF-01", "FAIR-02"}  # the fail, then the warning
    assert dict(charts.omitted_checks) == {"DATA-01": 1, "PERF-04": 1}
    html = report.submission_report_html(submission=high_risk_approved)
    assert "2 of 4 charts printed; 2 omitted" in html


def test_a_changed_result_is_shown_as_no_longer_matching_the_frozen_digest(high_risk_approved):
    from audits.reports import report

    high_risk_approved.validation_run.results.filter(check_id="PERF-04").update(value=0.99)
    html = report.submission_report_html(submission=high_risk_approved)
    assert "not the frozen digest" in html


# --- Annex IV -------------------------------------------------------------------------------------------


def test_annex_iv_of_a_high_risk_system_fills_what_is_known_and_flags_the_gaps(high_risk_approved, compliance_officer):
    from audits.reports.annex_iv import annex_iv_build

    system = high_risk_approved.system
    doc = annex_iv_build(system=system)
    items = {item.point: item for item in doc.items}
    assert doc.required
    assert [s.number for s in doc.sections] == [str(n) for n in range(1, 10)]
    assert items["1(a)"].status == "partial"  # versions and provider known, intended use not written
    assert any(high_risk_approved.model_version.artifact.sha256 in row for t in items["1(a)"].tables for row in t.rows)
    assert items["1(e)"].status == "gap"
    assert items["1(f)"].status == "not_applicable"  # Annex III, not a product component
    assert items["2(d)"].tables and "applications-test v1" in str(items["2(d)"].tables[0].rows)
    signed = str(items["2(g)"].tables)
    assert "S-" in signed and str(high_risk_approved.certificate.pk) in signed
    assert not any("signed and dated" in gap for gap in items["2(g)"].gaps)
    assert items["6"].status == "filled"
    assert "certificate.issued" in str(items["6"].tables[0].rows)
    for point in ("5", "7", "8", "9"):
        assert items[point].status == "gap", point
    html = client_for(compliance_officer).get(reverse("reports:annex_iv", args=[system.pk])).content.decode()
    assert 'data-testid="annex-required"' in html
    assert html.count("<strong>GAP</strong>") == doc.gap_count


def test_annex_iv_items_fill_in_when_the_evidence_is_recorded(high_risk_approved, compliance_officer):
    from audits.reports.annex_iv import annex_iv_build
    from governance.risks.services import risk_create_from_source
    from governance.services import evidence_add_document

    system = high_risk_approved.system
    declaration = system.obligations.get(code="art_47_eu_declaration_of_conformity")
    evidence_add_document(
        obligation=declaration,
        actor=compliance_officer,
        title="EU declaration of conformity v1",
        uploaded_file=SimpleUploadedFile("doc.pdf", b"%PDF-1.4 declaration"),
    )
    monitoring = system.obligations.get(code="art_72_post_market_monitoring")
    evidence_add_document(
        obligation=monitoring,
        actor=compliance_officer,
        title="Post-market monitoring plan",
        uploaded_file=SimpleUploadedFile("pmm.pdf", b"%PDF-1.4 plan"),
    )
    finding = high_risk_approved.validation_run.findings.get(check_id="PERF-01")
    risk_create_from_source(
        actor=compliance_officer,
        system=system,
        title="Recall below target",
        description="PERF-01 failed.",
        category="robustness",
        source_ref={"type": "audits.finding", "id": finding.pk, "title": finding.title},
    )
    items = {item.point: item for item in annex_iv_build(system=system).items}
    assert items["8"].status == "filled"
    assert "EU declaration of conformity v1" in str(items["8"].tables[0].rows)
    assert items["9"].status == "filled"
    assert items["5"].status == "partial"  # risks listed; the Art. 9 process description is still missing
    assert "Recall below target" in str(items["5"].tables[0].rows)


def test_the_annex_iv_pdf_is_produced_with_its_gaps(high_risk_approved, auditor):
    response = client_for(auditor).get(reverse("reports:annex_iv_pdf", args=[high_risk_approved.system_id]))
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Technical documentation (Annex IV)" in text
    assert "GAP — Describe the hardware the system is intended to run on" in text
    assert "Page 1 of" in text


def test_annex_iv_of_a_minimal_risk_system_says_it_is_not_required(minimal_certifiable, compliance_officer):
    from audits.reports.annex_iv import annex_iv_build

    system = minimal_certifiable.system
    assert not annex_iv_build(system=system).required
    html = client_for(compliance_officer).get(reverse("reports:annex_iv", args=[system.pk])).content.decode()
    assert 'data-testid="annex-not-required"' in html
    assert "so it is not required" in html


# --- the system's audit trail -------------------------------------------------------------------------


def _export(client, system, tmp_path) -> tuple[Path, list[dict]]:
    response = client.get(reverse("reports:system_trail_export", args=[system.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    path = tmp_path / "system-trail.jsonl"
    path.write_text(body, encoding="utf-8")
    return path, [json.loads(line) for line in body.splitlines() if line.strip()]


def test_the_system_trail_export_verifies_with_the_tool_and_says_it_is_a_filtered_view(
    high_risk_approved, minimal_certifiable, auditor, compliance_officer, tmp_path
):
    from governance.services import obligation_transition

    system = high_risk_approved.system
    obligation_transition(
        obligation=system.obligations.get(code="art_9_risk_management"),
        to_status="in_progress",
        actor=compliance_officer,
    )
    path, lines = _export(client_for(auditor), system, tmp_path)
    header, events = lines[0]["_export"], lines[1:]
    assert header["complete_chain"] is False and header["scope"] == "system"
    assert header["note"].startswith("A FILTERED VIEW of the organisation's hash chain")
    assert header["events"] == len(events)
    types = {e["object_type"] for e in events}
    assert {
        "models_registry.aisystem",
        "models_registry.modelversion",
        "models_registry.dataset",
        "audits.validationrun",
        "audits.finding",
        "audits.submission",
        "audits.certificate",
        "governance.determination",
        "governance.obligation",
    } <= types
    assert "audit_trail.exported" in {e["verb"] for e in events}  # this export itself is on record
    other = str(minimal_certifiable.system.pk)
    assert not any(e["object_type"] == "models_registry.aisystem" and e["object_id"] == other for e in events)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    ok = run_verifier(path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "filtered export" in ok.stdout
    assert "links checked" in ok.stdout


def test_a_tampered_or_reordered_system_trail_export_fails_verification(high_risk_approved, auditor, tmp_path):
    path, lines = _export(client_for(auditor), high_risk_approved.system, tmp_path)
    header, events = lines[0], lines[1:]

    def write(rows) -> subprocess.CompletedProcess:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [header, *rows]), encoding="utf-8")
        return run_verifier(path)

    altered = [dict(e) for e in events]
    altered[2]["reason"] = "rewritten after the fact"
    result = write(altered)
    assert result.returncode == 1 and f"#{altered[2]['seq']}" in result.stdout
    swapped = [dict(e) for e in events]
    swapped[3], swapped[4] = swapped[4], swapped[3]
    assert write(swapped).returncode == 1
    # A consecutive pair whose link no longer holds: the prev_hash was rewritten and the event re-hashed.
    import hashlib

    relinked = [dict(e) for e in events]
    index = next(i for i in range(1, len(relinked)) if relinked[i]["seq"] == relinked[i - 1]["seq"] + 1)
    relinked[index]["prev_hash"] = "f" * 64
    fields = lines[0]["_export"]["hashed_fields"]
    payload = {f: relinked[index].get(f) for f in fields}
    relinked[index]["hash"] = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    result = write(relinked)
    assert result.returncode == 1 and "does not follow" in result.stdout


def test_the_system_trail_keeps_the_events_of_a_deleted_model_version(certifiable, ml_engineer, auditor, tmp_path):
    from models_registry.services import model_version_delete, model_version_register
    from tests.audits.validation_support import credit_frame, credit_model, model_bytes, uploaded

    spare = model_version_register(
        actor=ml_engineer,
        system=certifiable.system,
        version_label="2.0.0-rc",
        file=uploaded("rc.joblib", model_bytes(credit_model(credit_frame(300, seed=5)))),
        framework="sklearn",
        task="binary",
        feature_columns=["age", "income", "debt"],
    )
    spare_id = str(spare.pk)
    model_version_delete(actor=ml_engineer, version=spare, reason="Uploaded by mistake.")
    _, lines = _export(client_for(auditor), certifiable.system, tmp_path)
    verbs = {
        e["verb"]
        for e in lines[1:]
        if e["object_id"] == spare_id and e["object_type"] == "models_registry.modelversion"
    }
    assert verbs == {"model_version.registered", "model_version.deleted"}


# --- permissions ---------------------------------------------------------------------------------------

READERS = {
    "anonymous": 302,
    "ml_engineer": 200,
    "auditor": 200,
    "compliance_officer": 200,
    "org_admin": 200,
    "outsider": 404,
}


@pytest.mark.parametrize("name", ["reports:submission_report_html", "reports:submission_report_pdf"])
def test_every_member_of_the_organisation_may_read_a_submission_report_and_nobody_else(
    name, high_risk_approved, permission_matrix
):
    url = reverse(name, args=[high_risk_approved.pk])
    assert permission_matrix(lambda client: client.get(url)) == READERS


@pytest.mark.parametrize("name", ["reports:annex_iv", "reports:annex_iv_pdf"])
def test_every_member_of_the_organisation_may_read_the_annex_iv_draft_and_nobody_else(
    name, high_risk_approved, permission_matrix
):
    url = reverse(name, args=[high_risk_approved.system_id])
    assert permission_matrix(lambda client: client.get(url)) == READERS


def test_only_roles_with_audit_export_may_export_a_systems_trail(high_risk_approved, permission_matrix):
    url = reverse("reports:system_trail_export", args=[high_risk_approved.system_id])
    assert permission_matrix(lambda client: client.get(url)) == {**READERS, "ml_engineer": 403}


def test_a_report_of_an_unknown_submission_is_not_found(high_risk_approved, auditor):
    client = client_for(auditor)
    assert client.get(reverse("reports:submission_report_pdf", args=[high_risk_approved.pk + 999])).status_code == 404


def test_a_member_of_another_organisation_sees_no_report_even_with_every_role(high_risk_approved, other_organisation):
    url = reverse("reports:submission_report_html", args=[high_risk_approved.pk])
    for role in ("ml_engineer", "auditor", "compliance_officer"):
        stranger = make_user(other_organisation, f"stranger-{role}", role)
        assert client_for(stranger).get(url).status_code == 404, role
