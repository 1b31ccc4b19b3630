"""Pages of certification: the submission list, submitting a version, the audit workspace and its
actions, re-runs and the certificate. Thin adapters: reads through
`audits.certification.selectors`, writes through `.services` and `.certificates`.

Every action posts a plain form and answers with a redirect; a refused action re-renders the
workspace with the user's input and the reason, with the refusal's own status (core.views_errors:
400 invalid input, 403 refused, 409 conflict; an action without a form of its own is the 403/404
page when refused or not found). The finding cards (decision, comments) also answer htmx requests
with the card alone (200: htmx swaps only successful answers)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audits import selectors as run_selectors
from audits.certification import certificates, selectors, services
from audits.certification.choices import CertificateStatus, ConditionStatus, DecisionKind
from audits.certification.forms import (
    AssignForm,
    CertificateChangeForm,
    CommentForm,
    ConditionFormSet,
    ConditionMetForm,
    ConflictForm,
    DissentForm,
    EscalationDecisionForm,
    FindingConditionForm,
    FindingDecisionForm,
    FindingMitigationForm,
    ReasonForm,
    SignOffForm,
    SubmissionCreateForm,
    SubmissionFilterForm,
    VersionedForm,
)
from audits.certification.freeze import results_diff
from audits.certification.resolution import escalation_problem
from audits.choices import CheckStatus, Severity
from audits.validation.views import validation_status_context
from core.errors import Conflict
from core.permissions import get_for_user, has_permission, require_permission
from core.views_errors import attempt_on_form, attempt_with_message
from governance.choices import OutcomeChoice
from models_registry.models import AISystem, ModelVersion

# The services name the field at fault; some are called differently on the forms.
FIELD_ALIASES = {
    "reason": ("reason", "justification", "opinion", "note"),
    "body": ("body",),
    "password": ("password",),
    "valid_until": ("valid_until",),
    "decision": ("decision",),
    "reviewer": ("reviewer",),
    "validation_run": ("validation_run",),
    "run": ("run",),
}


def _attempt(form, action):
    """A service call for a form: core.views_errors' one translation (the refusal on the form, next
    to the field it names; its status in `attempt.status`; NotFound is the 404 page)."""
    return attempt_on_form(form, action, aliases=FIELD_ALIASES)


def _is_stale(error) -> bool:
    return isinstance(error, Conflict) and error.code == "stale"


def _rebased(form_class, request, exc: Conflict, **kwargs):
    """After "someone changed this": the user's input on top of the current version, so sending it
    again (after reading what changed) is a deliberate choice. Nothing typed is lost."""
    data = request.POST.copy()
    data["lock_version"] = exc.extra.get("current_version", data.get("lock_version"))
    form = form_class(data, **kwargs)
    form.is_valid()
    form.add_error(None, exc.message)
    return form


def _detail_url(submission, anchor: str = "") -> str:
    url = reverse("certification:submission_detail", args=[submission.pk])
    return f"{url}#{anchor}" if anchor else url


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- list and submitting ----------------------------------------------------------------------------


@login_required
@require_GET
def submission_list(request):
    require_permission(request, "submission.view")
    form = SubmissionFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    scope = data.get("scope", "")
    submissions = selectors.submission_list(
        user=request.user,
        status=data.get("status", ""),
        system=data.get("system"),
        assigned_to=request.user if scope == "assigned" else None,
    )
    if scope == "mine":
        submissions = submissions.filter(submitted_by=request.user)
    page = Paginator(submissions, 25).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": _query_without_page(request),
        "scope": scope,
        "systems": AISystem.objects.restrict(request.user, "system.view").order_by("name").only("pk", "name"),
    }
    template = (
        "audits/certification/_submission_table.html" if request.htmx else "audits/certification/submission_list.html"
    )
    return render(request, template, context)


def _version_for(request, pk: int) -> ModelVersion:
    return get_for_user(ModelVersion.objects.select_related("system", "artifact"), request.user, "system.view", pk=pk)


def _version_context(request, version) -> dict:
    can_submit = has_permission(request.user, "submission.create")
    return {
        "version": version,
        "can_submit": can_submit,
        "blockers": services.submission_blockers(model_version=version) if can_submit else [],
        "required_run": (
            selectors.version_required_run(model_version=version)
            if has_permission(request.user, "validation.start")
            else ""
        ),
        "submissions": selectors.submission_list(user=request.user, version=version.pk),
    }


@login_required
@require_GET
def version_panel(request, version_pk: int):
    """The certification part of a model version's page (loaded there by htmx; a page of its own
    without JavaScript)."""
    require_permission(request, "submission.view")
    version = _version_for(request, version_pk)
    template = (
        "audits/certification/_version_panel.html"
        if request.htmx
        else "audits/certification/version_certification.html"
    )
    return render(request, template, _version_context(request, version))


@login_required
@require_http_methods(["GET", "POST"])
def submission_new(request, version_pk: int):
    """Submit a model version: its blockers in plain words, or the form."""
    require_permission(request, "submission.create")
    version = _version_for(request, version_pk)
    context = _version_context(request, version)
    determination = version.system.determinations.filter(status="approved").first()
    tier = determination.effective_risk_tier if determination else version.system.risk_tier
    form = SubmissionCreateForm(
        request.POST or None, runs=services.eligible_runs(model_version=version, risk_tier=tier)
    )
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and not context["blockers"] and form.is_valid():
        attempt = _attempt(
            form,
            lambda: services.submission_create(
                actor=request.user,
                model_version=version,
                validation_run=form.cleaned_data["validation_run"],
                note=form.cleaned_data["note"],
            ),
        )
        if attempt.ok:
            messages.success(
                request,
                f"{attempt.value.reference} is submitted: the model, datasets, results and "
                "classification are frozen. Reviewers will be assigned.",
            )
            return redirect(_detail_url(attempt.value))
        context["blockers"] = attempt.error.extra.get("blockers", [])
        status = attempt.status
    context.update(form=form, tier=tier)
    return render(request, "audits/certification/submission_new.html", context, status=status)


# --- the workspace ------------------------------------------------------------------------------------


def _decision_form(request, submission, finding, data=None):
    decision = finding.decision
    initial = (
        {"decision": decision.decision, "justification": decision.justification, "risk": decision.risk_id}
        if decision
        else {}
    )
    return FindingDecisionForm(
        data,
        initial=initial,
        prefix=f"f{finding.pk}",
        risks=selectors.risks_to_link(user=request.user, system=submission.system),
    )


def _resolution_forms(request, submission, finding, state, bound: dict, conditions: dict) -> None:
    """The forms that resolve a finding before sign-off: mitigation or condition for a "require
    mitigation" decision (the reviewers), the escalation role's decision for an escalated one."""
    decision = finding.decision
    finding.made_condition = conditions.get(finding.pk)
    finding.condition_form = finding.mitigation_form = finding.escalation_form = None
    if decision is None:
        return
    pending = not (decision.mitigation_run_id or finding.made_condition)
    if decision.decision == DecisionKind.REQUIRE_MITIGATION and pending and state["can_decide"]:
        finding.condition_form = bound.get(("condition", finding.pk)) or FindingConditionForm(
            prefix=f"cond{finding.pk}",
            members=_members(submission),
            initial={"text": f"Mitigate {finding.check_id}: {finding.title}"},
        )
        finding.mitigation_form = bound.get(("mitigation", finding.pk)) or FindingMitigationForm(
            prefix=f"mit{finding.pk}", runs=selectors.mitigation_runs(submission=submission, finding=finding)
        )
    escalated = decision.decision == DecisionKind.ESCALATE and submission.status == "in_review"
    if escalated and not escalation_problem(person=request.user, submission=submission, record=decision):
        finding.escalation_form = bound.get(("escalation", finding.pk)) or EscalationDecisionForm(
            prefix=f"esc{finding.pk}"
        )


def _finding_forms(request, submission, findings, state, bound: dict) -> None:
    conditions = {c.finding_id: c for c in submission.conditions.filter(finding__isnull=False).select_related("owner")}
    for finding in findings:
        _resolution_forms(request, submission, finding, state, bound, conditions)
        if state["can_decide"] or ("decision", finding.pk) in bound:  # a refusal is shown where it was typed
            finding.decision_form = bound.get(("decision", finding.pk)) or _decision_form(request, submission, finding)
        finding.comment_form = bound.get(("comment", finding.pk)) or CommentForm(prefix=f"c{finding.pk}")
        decision = finding.decision
        finding.can_raise_risk = bool(
            decision
            and not decision.risk_id
            and decision.decision != "false_positive"
            and (state["is_reviewer"] or has_permission(request.user, "risk.manage"))
        )


def _members(submission):
    return selectors.organisation_members(organisation_id=submission.organisation_id)


def _sign_forms(submission, data=None):
    form = SignOffForm(data, initial={"lock_version": submission.lock_version})
    formset = ConditionFormSet(data, prefix="conditions", form_kwargs={"members": _members(submission)})
    return form, formset


def _results_context(run) -> dict:
    return {
        "groups": run_selectors.validation_results_by_family(run=run),
        "result_counts": run_selectors.validation_result_counts(run=run),
    }


CERTIFICATE_LABELS = {**dict(CertificateStatus.choices), "not_yet_valid": "Not yet valid"}
CERTIFICATE_MOVES = {
    CertificateStatus.VALID: [("suspend", "Suspend"), ("revoke", "Revoke")],
    CertificateStatus.SUSPENDED: [("reinstate", "Lift the suspension"), ("revoke", "Revoke")],
}


def _certificate_context(request, submission) -> dict:
    certificate = getattr(submission, "certificate", None)  # the reverse one-to-one raises when missing
    if certificate is None:
        return {"certificate": None}
    status = certificates.effective_status(certificate)
    return {
        "certificate": certificate,
        "certificate_status": status,
        "certificate_status_label": CERTIFICATE_LABELS.get(status, status),
        "certificate_actions": CERTIFICATE_MOVES.get(certificate.status, []),
        "can_manage_certificate": has_permission(request.user, "certificate.manage"),
    }


CARRIED_LABELS = {**dict(DecisionKind.choices), "condition": "Condition not met"}


def _conditions(request, submission, bound: dict) -> list:
    conditions = list(submission.conditions.select_related("owner"))
    manager = has_permission(request.user, "certificate.manage")
    for condition in conditions:
        condition.can_mark_met = condition.status != ConditionStatus.MET and (
            manager or condition.owner_id == request.user.pk
        )
        condition.met_form = bound.get(("met", condition.pk)) or ConditionMetForm(prefix=f"met{condition.pk}")
    return conditions


def _workspace_context(request, submission, bound: dict) -> dict:
    state = selectors.reviewer_state(user=request.user, submission=submission)
    findings = selectors.submission_findings(submission=submission)
    _finding_forms(request, submission, findings, state, bound)
    sign_form, condition_formset = bound.get("sign") or _sign_forms(submission)
    versioned = {"lock_version": submission.lock_version}
    admin = has_permission(request.user, "review.assign")
    conflict_allowed = admin or has_permission(request.user, "review.perform")
    context = {
        "submission": submission,
        "state": state,
        "findings": findings,
        "history": selectors.submission_history(submission=submission),
        "version": submission.model_version,
        "run": submission.validation_run,
        "frozen": submission.frozen,
        "assignments": submission.assignments.select_related("reviewer", "assigned_by"),
        "assign_form": bound.get("assign")
        or AssignForm(members=_members(submission), eligible=selectors.assignable_reviewers(submission=submission)),
        "conflict_form": (bound.get("conflict") or ConflictForm(members=_members(submission) if admin else None))
        if conflict_allowed
        else None,
        "changes_form": bound.get("changes") or ReasonForm(initial=versioned),
        "resubmit_form": VersionedForm(initial=versioned),
        "sign_form": sign_form,
        "condition_formset": condition_formset,
        "dissent_form": bound.get("dissent") or DissentForm(),
        "signoffs": selectors.signoff_summary(submission=submission),
        "dissents": submission.dissents.select_related("author"),
        "conditions": _conditions(request, submission, bound),
        "certificate_form": bound.get("certificate") or CertificateChangeForm(),
        "reruns": submission.reruns.select_related("run", "requested_by"),
        "undecided_critical": list(services.undecided_critical_findings(submission).values_list("check_id", flat=True)),
        "approval_blockers": selectors.approval_blockers(submission=submission),
        "decided_count": sum(1 for f in findings if f.decision),
        "outcome_label": dict(OutcomeChoice.choices).get(
            (submission.frozen.get("classification") or {}).get("outcome")
        ),
        "carried": [
            dict(point, decision_label=CARRIED_LABELS.get(point.get("decision"), point.get("decision")))
            for point in submission.carried_points or []
        ],
        "check_statuses": CheckStatus.choices,
        "severities": Severity.values,
    }
    context.update(_results_context(submission.validation_run))
    context.update(_certificate_context(request, submission))
    return context


def _workspace(request, submission, *, bound: dict | None = None, status: int = 200):
    submission = selectors.submission_get(user=request.user, pk=submission.pk)  # fresh after a refusal
    context = _workspace_context(request, submission, bound or {})
    return render(request, "audits/certification/submission_detail.html", context, status=status)


@login_required
@require_GET
def submission_detail(request, pk: int):
    require_permission(request, "submission.view")
    submission = selectors.submission_get(user=request.user, pk=pk)
    return _workspace(request, submission)


def _submission_for(request, pk: int, permission: str):
    require_permission(request, permission)
    return selectors.submission_get(user=request.user, pk=pk)


def _finding_of(submission, finding_pk: int):
    finding = submission.validation_run.findings.filter(pk=finding_pk).first()
    if finding is None:
        raise Http404("That finding is not part of this submission.")
    return finding


# --- findings: decisions, comments, risks ----------------------------------------------------------------


def _finding_card(
    request,
    submission,
    finding_pk: int,
    *,
    bound: dict | None = None,
    oob_version: bool = False,
    progress: bool = False,
    status: int = 200,
):
    """One finding card, for htmx. After the user's own decision it also refreshes the triage
    counter and the version the page's other forms carry (out of band)."""
    submission = selectors.submission_get(user=request.user, pk=submission.pk)
    state = selectors.reviewer_state(user=request.user, submission=submission)
    findings = selectors.submission_findings(submission=submission)
    _finding_forms(request, submission, findings, state, bound or {})
    finding = next(f for f in findings if f.pk == finding_pk)
    context = {
        "submission": submission,
        "state": state,
        "finding": finding,
        "oob": oob_version,
        "oob_progress": progress,
        "findings": findings,
        "decided_count": sum(1 for f in findings if f.decision),
        "undecided_critical": [f.check_id for f in findings if f.severity == "critical" and not f.decision],
        "approval_blockers": selectors.approval_blockers(submission=submission) if progress else [],
    }
    return render(request, "audits/certification/_finding_card.html", context, status=status)


@login_required
@require_POST
def finding_decide(request, pk: int, finding_pk: int):
    submission = _submission_for(request, pk, "review.perform")
    finding = _finding_of(submission, finding_pk)
    finding.decision = submission.decisions.filter(finding=finding).first()
    form = _decision_form(request, submission, finding, request.POST)
    page_version = request.POST.get("lock_version", "")
    status = 400
    if form.is_valid():
        attempt = _attempt(
            form,
            lambda: services.finding_decide(
                actor=request.user,
                submission=submission,
                finding=finding,
                decision=form.cleaned_data["decision"],
                justification=form.cleaned_data["justification"],
                risk=form.cleaned_data["risk"],
            ),
        )
        status = attempt.status
        if attempt.ok:
            if request.htmx:
                submission.refresh_from_db()
                # Only the user's own change happened since the page loaded: the page may move on.
                own = page_version.isdigit() and submission.lock_version == int(page_version) + 1
                return _finding_card(request, submission, finding.pk, oob_version=own, progress=True)
            messages.success(request, f"Decision on {finding.check_id} recorded.")
            return redirect(_detail_url(submission, f"finding-{finding.pk}"))
    if request.htmx:
        # The refused card comes back with its 4xx and the input kept; finding-decisions.js lets
        # htmx swap it in place (htmx leaves error answers out by default).
        bound = {("decision", finding.pk): form}
        return _finding_card(request, submission, finding.pk, bound=bound, status=status)
    return _workspace(request, submission, bound={("decision", finding.pk): form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def finding_comments(request, pk: int, finding_pk: int):
    """A finding's comment thread: GET (htmx) gives the card, POST adds a comment or a reply."""
    submission = _submission_for(request, pk, "submission.view" if request.method == "GET" else "submission.comment")
    finding = _finding_of(submission, finding_pk)
    if request.method == "GET":
        if request.htmx:
            return _finding_card(request, submission, finding.pk)
        return redirect(_detail_url(submission, f"finding-{finding.pk}"))
    form = CommentForm(request.POST, prefix=f"c{finding.pk}")
    status = 400
    if form.is_valid():
        parent = None
        if form.cleaned_data["parent"]:
            parent = submission.comments.filter(pk=form.cleaned_data["parent"]).first()
        attempt = _attempt(
            form,
            lambda: services.finding_comment_add(
                actor=request.user,
                submission=submission,
                finding=finding,
                body=form.cleaned_data["body"],
                parent=parent,
            ),
        )
        status = attempt.status
        if attempt.ok:
            if request.htmx:
                return _finding_card(request, submission, finding.pk)
            messages.success(request, "Comment added.")
            return redirect(_detail_url(submission, f"finding-{finding.pk}"))
    if request.htmx:
        return _finding_card(request, submission, finding.pk, bound={("comment", finding.pk): form})
    return _workspace(request, submission, bound={("comment", finding.pk): form}, status=status)


@login_required
@require_POST
def finding_raise_risk(request, pk: int, finding_pk: int):
    """Raise a risk from the reviewer's decision on a finding, then open the risk to assess it."""
    submission = _submission_for(request, pk, "submission.view")
    finding = _finding_of(submission, finding_pk)
    decision = submission.decisions.filter(finding=finding).first()
    if decision is None:
        messages.error(request, "Record a decision on the finding first; the risk is raised from it.")
        return redirect(_detail_url(submission, f"finding-{finding.pk}"))
    attempt = attempt_with_message(
        request, lambda: services.finding_decision_raise_risk(actor=request.user, decision=decision)
    )
    if not attempt.ok:
        return redirect(_detail_url(submission, f"finding-{finding.pk}"))
    risk = attempt.value
    messages.success(
        request,
        f"Risk {risk.reference} raised from the decision on {finding.check_id} and linked to "
        "it, with provisional scores from the finding's severity: assess it now.",
    )
    return redirect("governance:risk_detail", pk=risk.pk)


# --- reviewers, conflicts, changes, resubmission ------------------------------------------------------------


@login_required
@require_POST
def submission_assign(request, pk: int):
    submission = _submission_for(request, pk, "review.assign")
    form = AssignForm(
        request.POST, members=_members(submission), eligible=selectors.assignable_reviewers(submission=submission)
    )
    status = 400
    if form.is_valid():
        reviewer = form.cleaned_data["reviewer"]
        attempt = _attempt(
            form, lambda: services.reviewer_assign(actor=request.user, submission=submission, reviewer=reviewer)
        )
        if attempt.ok:
            who = reviewer.get_full_name() or reviewer.username
            back = request.POST.get("next", "")
            # Assigned from the home page's queue: back there (a local path only, never another site).
            if back.startswith("/") and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                messages.success(request, f"{who} is assigned to {submission.reference} ({submission.system.name}).")
                return redirect(back)
            messages.success(request, f"{who} is assigned.")
            return redirect(_detail_url(submission, "reviewers"))
        status = attempt.status
    return _workspace(request, submission, bound={"assign": form}, status=status)


@login_required
@require_POST
def conflict_declare(request, pk: int):
    submission = _submission_for(request, pk, "submission.view")
    admin = has_permission(request.user, "review.assign")
    if not admin and not has_permission(request.user, "review.perform"):
        raise PermissionDenied("Only reviewers, compliance officers and admins declare conflicts of interest.")
    form = ConflictForm(request.POST, members=_members(submission) if admin else None)
    status = 400
    if form.is_valid():
        person = form.cleaned_data.get("person") or request.user
        attempt = _attempt(
            form,
            lambda: services.conflict_declare(
                actor=request.user, system=submission.system, person=person, reason=form.cleaned_data["reason"]
            ),
        )
        if attempt.ok:
            messages.success(
                request,
                f"Conflict of interest recorded for {person.get_full_name() or person.username}"
                f" on {submission.system.name}; their open assignments are withdrawn.",
            )
            return redirect(_detail_url(submission, "reviewers"))
        status = attempt.status
    return _workspace(request, submission, bound={"conflict": form}, status=status)


@login_required
@require_POST
def submission_request_changes(request, pk: int):
    submission = _submission_for(request, pk, "review.perform")
    form = ReasonForm(request.POST)
    status = 400
    if form.is_valid():
        attempt = _attempt(
            form,
            lambda: services.submission_request_changes(
                actor=request.user,
                submission=submission,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["lock_version"],
            ),
        )
        if attempt.ok:
            messages.success(request, "Changes requested; the ML team is notified.")
            return redirect(_detail_url(submission))
        if _is_stale(attempt.error):
            form = _rebased(ReasonForm, request, attempt.error)
        status = attempt.status
    return _workspace(request, submission, bound={"changes": form}, status=status)


@login_required
@require_POST
def submission_resubmit(request, pk: int):
    submission = _submission_for(request, pk, "submission.create")
    form = VersionedForm(request.POST)

    def resubmit():
        if not form.is_valid():
            raise Conflict(form.errors["lock_version"][0], code="stale")
        return services.submission_submit(
            actor=request.user, submission=submission, expected_version=form.cleaned_data["lock_version"]
        )

    attempt = attempt_with_message(request, resubmit)
    if not attempt.ok:
        return _workspace(request, submission, status=attempt.status)
    messages.success(request, f"{submission.reference} is submitted again; the reviewers are notified.")
    return redirect(_detail_url(submission))


# --- re-runs ------------------------------------------------------------------------------------------------


@login_required
@require_POST
def submission_rerun(request, pk: int):
    submission = _submission_for(request, pk, "review.perform")
    attempt = attempt_with_message(
        request, lambda: services.submission_rerun(actor=request.user, submission=submission)
    )
    if not attempt.ok:
        return redirect(_detail_url(submission, "results"))
    rerun = attempt.value
    messages.success(request, f"Re-run #{rerun.run_id} started from the frozen inputs.")
    return redirect("certification:rerun_detail", pk=submission.pk, rerun_pk=rerun.pk)


@login_required
@require_GET
def rerun_detail(request, pk: int, rerun_pk: int):
    """A re-run's progress while it runs, then its check-by-check diff against the original."""
    submission = _submission_for(request, pk, "submission.view")
    rerun = selectors.rerun_get(user=request.user, submission=submission, pk=rerun_pk)
    run = rerun.run
    context = {
        **validation_status_context(request, run),
        "submission": submission,
        "rerun": rerun,
        "diff": results_diff(submission.validation_run, run) if run.status == "succeeded" else None,
    }
    template = "audits/certification/_rerun_body.html" if request.htmx else "audits/certification/rerun_detail.html"
    return render(request, template, context)


# --- sign-off and dissent -----------------------------------------------------------------------------------


def _sign(request, submission, form, formset):
    conditions = [c for c in (f.as_condition() for f in formset.forms if f.has_changed()) if c]
    return services.submission_sign(
        actor=request.user,
        submission=submission,
        decision=form.cleaned_data["decision"],
        reason=form.cleaned_data["reason"],
        password=form.cleaned_data["password"],
        conditions=conditions,
        valid_until=form.cleaned_data["valid_until"],
        expected_version=form.cleaned_data["lock_version"],
    )


@login_required
@require_POST
def submission_sign(request, pk: int):
    submission = _submission_for(request, pk, "review.perform")
    form, formset = _sign_forms(submission, request.POST)
    status = 400
    if form.is_valid() and formset.is_valid():
        # A condition's problem names it by number, above the form.
        attempt = _attempt(form, lambda: _sign(request, submission, form, formset))
        if attempt.ok:
            submission.refresh_from_db()
            messages.success(
                request,
                f"You signed: {attempt.value.get_decision_display().lower()}. The submission "
                f"is now {submission.get_status_display().lower()}.",
            )
            return redirect(_detail_url(submission, "sign-off"))
        if _is_stale(attempt.error):
            form = _rebased(SignOffForm, request, attempt.error)
        status = attempt.status
    return _workspace(request, submission, bound={"sign": (form, formset)}, status=status)


@login_required
@require_POST
def dissent_record(request, pk: int):
    submission = _submission_for(request, pk, "review.perform")
    form = DissentForm(request.POST)
    status = 400
    if form.is_valid():
        attempt = _attempt(
            form,
            lambda: services.dissent_record(
                actor=request.user, submission=submission, opinion=form.cleaned_data["opinion"]
            ),
        )
        if attempt.ok:
            messages.success(request, "Your dissenting opinion is on record.")
            return redirect(_detail_url(submission, "sign-off"))
        status = attempt.status
    return _workspace(request, submission, bound={"dissent": form}, status=status)


# --- certificate --------------------------------------------------------------------------------------------


@login_required
@require_GET
def certificate_download(request, pk):
    """The signed certificate document exactly as issued, as a file."""
    require_permission(request, "submission.view")
    certificate = selectors.certificate_get(user=request.user, pk=pk)
    body = json.dumps(certificate.document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="certificate-{certificate.pk}.json"'
    return response


CERTIFICATE_ACTIONS = {
    "suspend": certificates.certificate_suspend,
    "reinstate": certificates.certificate_reinstate,
    "revoke": certificates.certificate_revoke,
}


@login_required
@require_POST
def certificate_change(request, pk):
    require_permission(request, "certificate.manage")
    certificate = selectors.certificate_get(user=request.user, pk=pk)
    form = CertificateChangeForm(request.POST)
    status = 400
    if form.is_valid():
        action = CERTIFICATE_ACTIONS[form.cleaned_data["action"]]
        attempt = _attempt(
            form, lambda: action(actor=request.user, certificate=certificate, reason=form.cleaned_data["reason"])
        )
        if attempt.ok:
            certificate.refresh_from_db()
            messages.success(request, f"The certificate is now {CertificateStatus(certificate.status).label.lower()}.")
            return redirect(_detail_url(certificate.submission, "certificate"))
        status = attempt.status
    return _workspace(request, certificate.submission, bound={"certificate": form}, status=status)


@login_required
@require_POST
def condition_met(request, pk: int):
    require_permission(request, "submission.view")
    condition = selectors.condition_get(user=request.user, pk=pk)
    form = ConditionMetForm(request.POST, prefix=f"met{condition.pk}")
    status = 400
    if form.is_valid():
        attempt = _attempt(
            form,
            lambda: certificates.condition_mark_met(
                actor=request.user, condition=condition, note=form.cleaned_data["note"]
            ),
        )
        if attempt.ok:
            messages.success(request, "The condition is recorded as met.")
            return redirect(_detail_url(condition.submission, "certificate"))
        status = attempt.status
    return _workspace(request, condition.submission, bound={("met", condition.pk): form}, status=status)
