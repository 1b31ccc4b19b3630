"""The validation and certification report of one submission, as HTML and as PDF.

Everything here reads: `submission_report_context` gathers what the report shows, the two render
functions turn it into a document. The PDF is cached on disk under DATA_DIR/reports, keyed by the
submission's `lock_version` plus a fingerprint of the few records that change without raising it
(comments, conditions, the certificate's status, the classification's status), so a new key
appears whenever the report would read differently and an old file is simply never asked for again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone

from audits.certification.choices import OPEN_STATUSES
from audits.certification.models import Submission
from audits.choices import SEVERITY_RANK
from core.permissions import get_for_user

# Raise when the template or the context changes shape: cached PDFs of the old layout are then
# never served again.
REPORT_LAYOUT_VERSION = "1"
# Charts printed at most; the rest are counted and named in the report. Each chart costs about
# 0.1-0.3 s (matplotlib plus WeasyPrint), and the failing and warning checks are the ones a reader
# of an audit file needs to see.
MAX_CHARTS = 24
DRAFT_STAMP = "DRAFT — not signed off"
STATUS_RANK = {"fail": 0, "warn": 1, "not_evaluable": 2, "info": 3, "pass": 4}


def submission_report_get(*, user, pk) -> Submission:
    """The submission if the user may see it, else 404 (another organisation's is not found)."""
    queryset = Submission.objects.select_related(
        "organisation",
        "system",
        "model_version__artifact",
        "model_version__uploaded_by",
        "validation_run",
        "validation_run__test_dataset__artifact",
        "validation_run__train_dataset__artifact",
        "determination",
        "determination__approved_by",
        "submitted_by",
        "previous",
    )
    return get_for_user(queryset, user, "submission.view", pk=pk)


def is_draft(submission: Submission) -> bool:
    """Not signed off yet: no approval or rejection has been recorded."""
    return submission.status in OPEN_STATUSES


# --- context ------------------------------------------------------------------------------------


def submission_report_context(*, submission: Submission) -> dict:
    from audits.certification.freeze import results_digest
    from audits.selectors import validation_results_by_family

    run = submission.validation_run
    groups = validation_results_by_family(run=run)
    charts = _charts(run, groups)
    frozen = submission.frozen or {}
    recomputed = results_digest(run)
    return {
        "submission": submission,
        "system": submission.system,
        "version": submission.model_version,
        "run": run,
        "draft": is_draft(submission),
        "draft_stamp": DRAFT_STAMP,
        "classification": _classification(submission.determination),
        "model_card": _model_card(submission.model_version),
        "datasets": frozen.get("datasets") or _live_datasets(run),
        "groups": groups,
        "charts": charts,
        "findings": _findings(submission),
        "carried_points": submission.carried_points,
        "assignments": list(submission.assignments.select_related("reviewer")),
        "signoffs": list(submission.signoffs.select_related("signer")),
        "conditions": list(submission.conditions.select_related("owner")),
        "dissents": list(submission.dissents.select_related("author")),
        "certificate": _certificate(submission),
        "frozen": frozen,
        "results_recomputed_sha256": recomputed,
        "results_match": bool(frozen) and frozen.get("validation", {}).get("results_sha256") == recomputed,
        "generated_at": timezone.now(),
    }


def _classification(determination) -> dict:
    from governance.choices import OutcomeChoice
    from governance.presentation import (
        needs_unsure_review,
        open_points,
        outcome_headline,
        overlay_lines,
        review_headline,
    )
    from models_registry.choices import RiskTier

    result = determination.result or {}
    outcome = determination.effective_outcome
    # "Unsure" answers read the stricter way: the approver's justification of each, or, without
    # one (an approval from before the rule), the result is still provisional (issue #14 defect 7).
    provisional = needs_unsure_review(result, determination.unsure_justifications)
    headline = outcome_headline(outcome, result)
    return {
        "determination": determination,
        "outcome_label": OutcomeChoice(outcome).label if outcome in OutcomeChoice.values else outcome,
        "headline": review_headline(headline, result) if provisional else headline,
        "provisional": provisional,
        "open_points": open_points(result, determination.unsure_justifications),
        "overlays": overlay_lines(result),
        "tier_label": dict(RiskTier.choices).get(determination.effective_risk_tier, determination.effective_risk_tier),
        "legal_bases": result.get("legal_bases", []),
        "rationale": result.get("rationale", []),
        "overridden": determination.is_overridden,
    }


def _model_card(version) -> list[tuple[str, object]]:
    metrics = ", ".join(f"{k} = {v}" for k, v in (version.claimed_metrics or {}).items())
    return [
        ("Version", version.version_label),
        ("Framework", version.get_framework_display()),
        ("Task", version.get_task_display()),
        ("Features", ", ".join(version.feature_columns or []) or "—"),
        ("Intended use", version.intended_use or "—"),
        ("Limitations", version.limitations or "—"),
        ("Training data", version.training_data_description or "—"),
        ("Claimed metrics", metrics or "—"),
        ("Substantial modification", "yes" if version.substantial_modification else "no"),
        ("Model file", f"{version.artifact.original_name} ({version.artifact.size:,} bytes)"),
        ("Safety scan", version.get_scan_verdict_display()),
        ("Registered", f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.uploaded_by.display_name}"),
    ]


def _live_datasets(run) -> list[dict]:
    """A draft has frozen nothing yet: show the run's datasets as they are."""
    datasets = [("train", run.train_dataset), ("test", run.test_dataset)]
    return [
        {
            "role": role,
            "name": d.name,
            "version": d.version,
            "sha256": d.artifact.sha256,
            "rows": d.row_count,
            "file_name": d.artifact.original_name,
        }
        for role, d in datasets
        if d is not None
    ]


@dataclass
class ChartSelection:
    by_check: dict[str, list[str]]  # check id -> data URIs of the printed charts
    printed: int
    total: int
    omitted_checks: list[tuple[str, int]]  # (check id, charts left out)

    @property
    def omitted(self) -> int:
        return self.total - self.printed


def _charts(run, groups) -> ChartSelection:
    """Charts of the checks that matter most (failures and warnings, most severe first), up to
    MAX_CHARTS, as static SVG. Only the chosen checks' figures are loaded from the database."""
    from audits.models import CheckResultRecord

    records = [r for g in groups for r in g["results"] if r.chart_count]
    records.sort(key=lambda r: (STATUS_RANK.get(r.status, 5), SEVERITY_RANK.get(r.severity, 9), r.check_id))
    budget, chosen, omitted = MAX_CHARTS, {}, []
    for record in records:
        take = min(record.chart_count, budget)
        if take:
            chosen[record.check_id] = take
            budget -= take
        if take < record.chart_count:
            omitted.append((record.check_id, record.chart_count - take))
    figures = dict(
        CheckResultRecord.objects.filter(run=run, check_id__in=list(chosen)).values_list("check_id", "charts")
    )
    by_check = {check_id: [_chart_uri(f) for f in (figures.get(check_id) or [])[:n]] for check_id, n in chosen.items()}
    total = sum(r.chart_count for r in records)
    return ChartSelection(
        by_check=by_check, printed=sum(len(v) for v in by_check.values()), total=total, omitted_checks=sorted(omitted)
    )


_SVG_CACHE: OrderedDict[str, str] = OrderedDict()
_SVG_CACHE_SIZE = 128
_SVG_LOCK = threading.Lock()


def _chart_uri(figure: dict) -> str:
    """The figure as an SVG data URI, remembered by the figure's content: a figure takes 0.1-0.3 s
    to draw, and the HTML report is drawn again on every visit (the PDF is cached on disk)."""
    from audits.reports.chart_svg import figure_to_svg, svg_data_uri

    key = hashlib.sha256(json.dumps(figure, sort_keys=True, default=str).encode()).hexdigest()
    with _SVG_LOCK:  # the web server's threads share the cache
        if key in _SVG_CACHE:
            _SVG_CACHE.move_to_end(key)
            return _SVG_CACHE[key]
    uri = svg_data_uri(figure_to_svg(figure))
    with _SVG_LOCK:
        _SVG_CACHE[key] = uri
        while len(_SVG_CACHE) > _SVG_CACHE_SIZE:
            _SVG_CACHE.popitem(last=False)
    return uri


def _findings(submission) -> list[dict]:
    decisions = {d.finding_id: d for d in submission.decisions.select_related("decided_by", "risk")}
    comments = dict(submission.comments.values_list("finding_id").annotate(n=Count("id")).order_by())
    findings = sorted(
        submission.validation_run.findings.all(), key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.check_id)
    )
    return [{"finding": f, "decision": decisions.get(f.pk), "comments": comments.get(f.pk, 0)} for f in findings]


def _certificate(submission) -> dict | None:
    from audits.certification.certificates import effective_status
    from audits.certification.models import Certificate

    certificate = Certificate.objects.filter(submission=submission).first()
    if certificate is None:
        return None
    payload = (certificate.document or {}).get("payload", {})
    return {
        "certificate": certificate,
        "status": effective_status(certificate),
        "verification_url": payload.get("verification_url", ""),
    }


# --- rendering ----------------------------------------------------------------------------------


def submission_report_html(*, submission: Submission, for_print: bool = False, links: dict | None = None) -> str:
    context = submission_report_context(submission=submission)
    context.update(for_print=for_print, links=links or {})
    return render_to_string("audits/reports/submission_report.html", context)


def submission_report_title(submission: Submission) -> str:
    return (
        f"Validation and certification report {submission.reference}: {submission.system.name} "
        f"{submission.model_version.version_label}"
    )


def submission_report_pdf(*, submission: Submission) -> tuple[bytes, bool]:
    """The PDF and whether it came from the cache."""
    from audits.reports.pdf import html_to_pdf

    path = _cache_path(submission)
    try:
        return path.read_bytes(), True
    except FileNotFoundError:
        pass
    html = submission_report_html(submission=submission, for_print=True)
    pdf = html_to_pdf(html, title=submission_report_title(submission), author=submission.organisation.name)
    _cache_write(path, pdf)
    return pdf, False


def report_fingerprint(submission: Submission) -> str:
    """What the report depends on beyond `lock_version`: comments are added, conditions met and
    certificates suspended without raising the submission's lock_version."""
    from audits.certification.models import Certificate

    state = {
        "layout": REPORT_LAYOUT_VERSION,
        "comments": list(submission.comments.values_list("finding_id").annotate(n=Count("id")).order_by("finding_id")),
        "conditions": [
            [pk, status, str(at)]
            for pk, status, at in submission.conditions.order_by("pk").values_list("pk", "status", "updated_at")
        ],
        "certificate": [
            [status, str(at)]
            for status, at in Certificate.objects.filter(submission=submission).values_list(
                "status", "status_changed_at"
            )
        ],
        "determination": submission.determination.status,
        "system": str(submission.system.updated_at),
        "today": timezone.localdate().isoformat(),  # "expired" is computed against today
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _cache_path(submission: Submission) -> Path:
    folder = Path(settings.DATA_DIR) / "reports" / f"submission-{submission.pk}"
    return folder / f"v{submission.lock_version}-{report_fingerprint(submission)}.pdf"


def _cache_write(path: Path, pdf: bytes) -> None:
    """Write atomically (two downloads racing each write a whole file, the last rename wins) and
    drop the submission's older reports, which no key can reach any more."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(pdf)
    os.replace(temporary, path)
    for old in path.parent.glob("*.pdf"):
        if old != path:
            old.unlink(missing_ok=True)
