"""The whole certification journey in Chromium: an ML engineer submits a model version, an admin
assigns an auditor and a compliance officer, the auditor triages every finding and comments, makes
the finding that needs mitigation a condition of the certificate (issue #13), both sign off with their passwords, and the signed certificate and the PDF report are downloaded."""

from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.audits.certification_support import RESULTS, make_certifiable
from tests.audits.validation_support import finish_with_results

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_users(db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")


def log_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")


def log_out(page):
    page.click("[data-testid=logout]")
    page.wait_for_selector("input[name=username]")


def decide(page, check_id, decision, justification):
    form = page.locator(f"[data-testid=decision-form-{check_id}]")
    form.locator(f"input[name$='-decision'][value={decision}]").check()
    form.locator("textarea[name$='-justification']").fill(justification)
    form.locator(f"[data-testid=decide-{check_id}]").click()
    page.wait_for_selector(f"[data-testid=finding-{check_id}] [data-testid=current-decision]")


def test_submit_assign_triage_sign_off_and_download_the_certificate_and_report(
    live_server, page, screenshot, demo_users, tmp_path, monkeypatch
):
    from audits.certification.models import Submission
    from audits.certification.signing import verify_document_json
    from core.models import User

    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{message.text} {message.location.get('url', '')}")
            if message.type == "error" and "favicon" not in message.location.get("url", "")
            else None
        ),
    )
    engineer = User.objects.get(username="engineer")
    ready = make_certifiable(engineer, User.objects.get(username="compliance"), name="Credit scoring (certification)")
    url = live_server.url
    # The test plays the worker's part for the re-run (the engine is covered by the validation
    # tests): the run is not sent to a worker that an earlier test of the session may have started.
    monkeypatch.setattr("audits.validation.services._enqueue", lambda run_id: None)

    # 1. The engineer submits the version from its page.
    log_in(page, url, "engineer")
    page.goto(url + reverse("registry:version_detail", args=[ready.version.pk]))
    page.locator("[data-testid=certification-panel]").scroll_into_view_if_needed()
    screenshot("certification-0-version-page")
    page.click("[data-testid=submit-for-certification]")
    page.fill("[data-testid=submission-form] textarea[name=note]", "First certification of the credit model.")
    screenshot("certification-1-submit-form")
    page.click("[data-testid=submit-submission]")
    page.wait_for_selector("[data-testid=submission-status]:has-text('Submitted')")
    submission = Submission.objects.get()
    workspace = url + reverse("certification:submission_detail", args=[submission.pk])
    assert ready.version.artifact.sha256 in page.inner_text("[data-testid=frozen-hashes]")
    screenshot("certification-2-submitted")
    log_out(page)

    # 2. The admin assigns an auditor and a compliance officer.
    log_in(page, url, "admin")
    page.click("nav.sidenav >> text=Certification")
    page.click(f"[data-testid=submission-table] >> text={submission.reference}")
    for username in ("auditor", "compliance"):
        person = User.objects.get(username=username)
        page.select_option("[data-testid=assign-form] select[name=reviewer]", str(person.pk))
        page.click("[data-testid=assign-submit]")
        page.wait_for_selector(f"[data-testid=assignment] >> text={person.get_full_name() or person.username}")
    assert page.locator("[data-testid=assignment]").count() == 2
    assert "In review" in page.inner_text("[data-testid=submission-status]")
    page.locator("#reviewers").screenshot(
        path=str(screenshot("certification-3-assigned").with_name("certification-3-assigned-reviewers.png"))
    )
    log_out(page)

    # 3. The auditor triages every finding (in place, no reload), comments once, opens a chart.
    log_in(page, url, "auditor")
    page.click("nav.sidenav >> text=Certification")
    page.click("[data-testid=assigned-to-me]")
    page.click(f"[data-testid=submission-table] >> text={submission.reference}")
    page.evaluate("window.__not_reloaded = true")
    decide(page, "PERF-01", "accept_risk", "Compensated by a human review of every declined application.")
    decide(page, "FAIR-02", "require_mitigation", "The gap for applicants over 60 must be closed.")
    assert "2 of 2 findings decided" in page.inner_text("[data-testid=triage-progress]")
    comments = page.locator("[data-testid=comment-form-FAIR-02]")
    comments.locator("textarea").fill("Which feature drives the gap for applicants over 60?")
    comments.locator("[data-testid=comment-submit-FAIR-02]").click()
    page.wait_for_selector("[data-testid=comments-FAIR-02] [data-testid=comment]")
    assert page.evaluate("window.__not_reloaded === true"), "decisions and comments update the page in place"
    chart = page.locator("[data-testid=charts-PERF-01]")
    chart.locator("summary").click()
    chart.locator(".js-plotly-plot").first.wait_for(timeout=30000)
    page.locator("[data-testid=finding-FAIR-02]").scroll_into_view_if_needed()
    screenshot("certification-4-triage")

    # The auditor re-runs the validation from the frozen inputs: progress, then the diff. The
    # test plays the worker's part (the engine is covered by the validation tests).
    page.click("[data-testid=rerun]")
    page.wait_for_selector("[data-testid=rerun-body] [data-testid=run-status]")
    screenshot("certification-4b-rerun-progress")
    finish_with_results(submission.reruns.get().run, RESULTS)
    page.wait_for_selector("[data-testid=diff-verdict]:has-text('Identical')", timeout=20000)
    screenshot("certification-4c-rerun-identical")
    page.goto(workspace + "#sign-off")

    # 3b. FAIR-02 at "require mitigation" blocks approval (issue #13): the sign-off card names it,
    # and the auditor makes it a condition of the certificate with an owner and a due date.
    assert "FAIR-02" in page.inner_text("[data-testid=approval-blockers]")
    resolve = page.locator("[data-testid=resolve-FAIR-02]")
    resolve.locator("summary:has-text('Make it a condition')").click()
    made = resolve.locator("[data-testid=condition-form-FAIR-02]")
    made.locator("select[name$='-owner']").select_option(str(engineer.pk))
    made.locator("input[name$='-due_date']").fill((timezone.localdate() + timedelta(days=45)).isoformat())
    made.locator("[data-testid=condition-submit-FAIR-02]").click()
    page.wait_for_selector(".msg-success:has-text('condition of the certificate')")
    page.wait_for_selector("[data-testid=approval-unblocked]")
    assert "FAIR-02" in page.inner_text("[data-testid=condition-of-FAIR-02]")
    screenshot("certification-4d-condition-from-finding")

    # 4. The auditor approves with a condition, re-entering the password.
    form = page.locator("[data-testid=sign-form]")
    form.locator("input[name=decision][value=approve_with_conditions]").check()
    form.locator("textarea[name=reason]").fill("Every finding reviewed; approval once monitoring is live.")
    row = form.locator("[data-testid=condition-row]").first
    row.locator("input[name$='-text']").fill("Set up drift monitoring for applicants over 60")
    row.locator("select[name$='-owner']").select_option(str(engineer.pk))
    row.locator("input[name$='-due_date']").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    form.locator("input[name=valid_until]").fill((timezone.localdate() + timedelta(days=180)).isoformat())
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.scroll_into_view_if_needed()
    screenshot("certification-5-sign-form")
    form.locator("[data-testid=sign-submit]").click()
    page.wait_for_selector(".msg-success:has-text('You signed')")
    assert "Approve with conditions" in page.inner_text("[data-testid=signoffs]")
    log_out(page)

    # 5. The compliance officer approves: the certificate is issued.
    log_in(page, url, "compliance")
    page.goto(workspace)
    form = page.locator("[data-testid=sign-form]")
    form.locator("input[name=decision][value=approve]").check()
    form.locator("textarea[name=reason]").fill("Classification and obligations are in order.")
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.locator("[data-testid=sign-submit]").click()
    page.wait_for_selector("[data-testid=certificate-status]:has-text('Valid')")
    assert "Approved with conditions" in page.inner_text("[data-testid=submission-status]")
    page.locator("#certificate").scroll_into_view_if_needed()
    screenshot("certification-6-certificate")

    # 6. Download the signed certificate and the PDF report.
    submission.refresh_from_db()
    certificate = submission.certificate
    with page.expect_download() as download_info:
        page.click("[data-testid=download-certificate]")
    download = download_info.value
    assert download.suggested_filename == f"certificate-{certificate.pk}.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert verify_document_json(saved.read_bytes()).ok
    try:
        reverse("reports:submission_report_pdf", args=[submission.pk])
    except NoReverseMatch:
        pytest.fail("the report URL reports:submission_report_pdf does not exist")
    # The PDF is a worker job; here the worker runs it at once, so its page opens ready.
    from audits.reports import jobs, tasks

    monkeypatch.setattr(
        jobs, "task_send", lambda name, *, args=(), kwargs=None: tasks.report_pdf_prepare.apply(args=args) and True
    )
    page.click("[data-testid=report-pdf]")
    with page.expect_download(timeout=120000) as report_info:
        page.click("[data-testid=report-job-download]")
    report = tmp_path / "report.pdf"
    report_info.value.save_as(report)
    assert report.read_bytes().startswith(b"%PDF")
    page.goto(url + reverse("certification:submission_list"))
    screenshot("certification-7-list")
    assert errors == [], "no script errors on any page"
