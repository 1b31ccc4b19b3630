"""The system page's "next steps" (issue #13, "the right validation at the right time"): the order
the portal enforces before a certificate, each step done, current or not yet, from the real state.

    classify → approve the classification → run the required suite → submit → review and sign-off
    → certificate

Read-only. The system page belongs to the registry, which may not import governance or audits, so
it shows this through audits' template tag `certification_steps` (audits/templatetags). The steps of
validation, submission and certificate are those of the system's newest model version; what blocks
a submission is `services.submission_blockers`, the same list the submit form shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.formats import date_format

from audits.certification.choices import (
    CERTIFIED_STATUSES,
    REVIEWABLE_STATUSES,
    CertificateStatus,
    SubmissionStatus,
)
from audits.certification.models import Certificate, Submission
from audits.certification.services import eligible_runs, required_suite, submission_blockers
from audits.choices import RunStatus
from audits.models import ValidationRun
from core.permissions import has_permission
from governance.choices import DeterminationStatus
from governance.selectors import current_determination, four_eyes_required, pending_determination
from models_registry.choices import RiskTier
from models_registry.models import AISystem, ModelVersion

DONE, CURRENT, NOT_YET = "done", "current", "not_yet"
STATE_LABELS = {DONE: "done", CURRENT: "current step", NOT_YET: "not yet"}


@dataclass
class Step:
    key: str
    title: str
    done: bool = False
    detail: str = ""
    link: str = ""  # the page that does this step, for a user allowed to do it (current step only)
    link_label: str = ""
    view_link: str = ""  # where a done step's result can be read
    view_label: str = ""
    state: str = NOT_YET

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def _tier_words(tier: str) -> str:
    return str(dict(RiskTier.choices).get(tier, tier.replace("_", " "))).lower()


def system_certification_steps(*, system: AISystem, user) -> dict:
    """{"steps": [Step, ...], "version": the model version the later steps are about (or None),
    "blocked": a sentence when the chain cannot go on (prohibited, rejected), "certified_versions":
    labels of other versions holding a valid certificate}. `system` was found for `user` already."""
    may = {p: has_permission(user, p) for p in _PERMISSIONS}
    approved = current_determination(system=system)
    needs_review = approved is not None and approved.status == DeterminationStatus.NEEDS_REVIEW
    if needs_review:
        approved = None  # a submission needs an *approved* classification (submission_blockers)
    pending = pending_determination(system=system)
    tier = approved.effective_risk_tier if approved else ""
    version = ModelVersion.objects.filter(system=system).order_by("-created_at", "-pk").first()
    submission = (
        Submission.objects.filter(model_version=version).exclude(status=SubmissionStatus.DRAFT).first()
        if version
        else None
    )
    blocked = ""

    classify = Step("classify", "Classify under the EU AI Act")
    if pending or approved:
        classify.done = True
        shown = pending or approved
        classify.detail = f"Answered (determination #{shown.number})."  # type: ignore[union-attr]
    else:
        classify.detail = (
            f"The approved classification needs review: {current_determination(system=system).review_reason}"  # type: ignore[union-attr]
            if needs_review
            else "Answer the questionnaire; the result sets the risk tier."
        )
        if may["classification.draft"]:
            classify.link, classify.link_label = reverse("governance:classify", args=[system.pk]), "Classify"

    approve = Step("approve", "Approve the classification")
    if approved:
        approve.done = True
        approve.detail = f"Approved: {_tier_words(tier)}."
        if pending:
            approve.detail += f" A newer determination (#{pending.number}) awaits approval."
        approve.view_link = reverse("governance:determination_detail", args=[approved.pk])
        approve.view_label = "Determination"
    elif pending:
        approve.detail = f"Determination #{pending.number} awaits a compliance officer's approval"
        approve.detail += (
            ", by someone who did not answer or submit it (four-eyes)."
            if four_eyes_required(determination=pending)
            else "."
        )
        if may["classification.approve"]:
            approve.link = reverse("governance:determination_detail", args=[pending.pk])
            approve.link_label = "Review and approve"

    run = Step("run", "Run the required validation suite")
    suite = str(required_suite(tier)) if approved else ""
    if not approved:
        run.detail = "The suite follows the risk tier: known once the classification is approved."
    elif tier == RiskTier.PROHIBITED:
        blocked = "The system is classified as a prohibited practice (Art. 5): it cannot be certified."
        run.detail = blocked
    elif version is None:
        run.detail = f"Upload a model version, then run the {suite} suite on it."
        if may["model.upload"]:
            run.link, run.link_label = reverse("registry:version_create", args=[system.pk]), "Upload a model version"
    else:
        succeeded = eligible_runs(model_version=version, risk_tier=tier).first()
        if succeeded:
            run.done = True
            run.detail = f"Run #{succeeded.pk} of version {version.version_label} ({succeeded.suite} suite) succeeded."
            run.view_link, run.view_label = reverse("audits:validation_detail", args=[succeeded.pk]), "Run"
        else:
            run.detail = (
                f"Version {version.version_label} needs a finished run of the {suite} suite (or stricter): "
                f"a {_tier_words(tier)} system needs it."
            )
            if version.scan_verdict != "safe":
                run.detail += " Its model file did not pass the safety scan."
            else:
                in_progress = ValidationRun.objects.filter(
                    model_version=version, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
                ).first()
                if in_progress:
                    run.detail += f" Run #{in_progress.pk} is {in_progress.get_status_display().lower()}."
                if may["validation.start"]:
                    run.link = (
                        reverse("audits:validation_create", args=[system.pk]) + f"?version={version.pk}&suite={suite}"
                    )
                    run.link_label = "Start the required run"

    submit = Step("submit", "Submit for certification")
    if submission and submission.status != SubmissionStatus.CHANGES_REQUESTED:
        submit.done = True
        submit.detail = f"{submission.reference} submitted (version {version.version_label})."  # type: ignore[union-attr]
        submit.view_link = reverse("certification:submission_detail", args=[submission.pk])
        submit.view_label = submission.reference
    elif submission:
        submit.detail = f"The reviewers asked for changes to {submission.reference}: answer them and resubmit."
        if may["submission.create"]:
            submit.link = reverse("certification:submission_detail", args=[submission.pk])
            submit.link_label = "Open the submission"
    elif run.done:
        blockers = submission_blockers(model_version=version)
        submit.detail = " ".join(blockers) if blockers else f"Version {version.version_label} can be submitted."  # type: ignore[union-attr]
        if may["submission.create"] and not blockers:
            submit.link = reverse("certification:submission_new", args=[version.pk])  # type: ignore[union-attr]
            submit.link_label = "Submit this version"
    else:
        submit.detail = "Needs an approved classification and the required run."

    review = Step("review", "Review and sign-off")
    if submission and submission.status in REVIEWABLE_STATUSES:
        reviewers = submission.assignments.filter(active=True).count()
        review.detail = (
            f"{reviewers} reviewer{'s' if reviewers != 1 else ''} assigned: every finding is decided, then "
            "an auditor and a compliance officer sign."
            if reviewers
            else "Waiting for reviewers to be assigned."
        )
        if may["review.perform"] or may["review.assign"]:
            review.link = reverse("certification:submission_detail", args=[submission.pk])
            review.link_label = "Review" if reviewers and may["review.perform"] else "Assign reviewers"
    elif submission and submission.status != SubmissionStatus.CHANGES_REQUESTED:
        review.done = True
        decided = f" on {date_format(submission.decided_at, 'Y-m-d')}" if submission.decided_at else ""
        review.detail = f"Decided{decided}: {submission.get_status_display().lower()}."
        if submission.status == SubmissionStatus.REJECTED:
            blocked = f"{submission.reference} was rejected: a new model version starts a new submission."
    else:
        review.detail = "Reviewers decide every finding; an auditor and a compliance officer sign."

    certificate = Step("certificate", "Certificate")
    issued = Certificate.objects.filter(submission=submission).first() if submission else None
    if issued:
        certificate.done = True
        certificate.detail = (
            f"Issued {date_format(issued.created_at, 'Y-m-d')}, valid until {date_format(issued.valid_until, 'Y-m-d')}; "
            f"status: {issued.get_status_display().lower()}."
        )
        certificate.view_link = reverse("certification:submission_detail", args=[submission.pk])  # type: ignore[union-attr]
        certificate.view_label = "Certificate"
    elif submission and submission.status in CERTIFIED_STATUSES:
        certificate.detail = "Signed off; the certificate is being issued."
    else:
        certificate.detail = "Issued and signed when the sign-off approves."

    steps = [classify, approve, run, submit, review, certificate]
    current_found = False
    for step in steps:
        if step.done:
            step.state = DONE
        elif not current_found and not blocked:
            step.state, current_found = CURRENT, True
        else:
            step.state = NOT_YET
            step.link = step.link_label = ""  # a link only for the step to do now
    certified_versions = list(
        Certificate.objects.filter(system=system, status=CertificateStatus.VALID)
        .exclude(model_version=version)
        .values_list("model_version__version_label", flat=True)
    )
    return {"steps": steps, "version": version, "blocked": blocked, "certified_versions": certified_versions}


_PERMISSIONS = (
    "classification.draft",
    "classification.approve",
    "model.upload",
    "validation.start",
    "submission.create",
    "review.perform",
    "review.assign",
)
