"""Pages' actions that resolve findings before sign-off: make a "require mitigation" finding a
condition of the certificate, point to a later run that shows it fixed, and the escalation role's
decision on an escalated finding. Thin adapters over `audits.certification.resolution`, answering
like the workspace's other actions (a redirect, or the workspace with the refusal and its status)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from audits.certification import resolution, selectors
from audits.certification.forms import EscalationDecisionForm, FindingConditionForm, FindingMitigationForm
from audits.certification.views import _attempt, _detail_url, _finding_of, _members, _submission_for, _workspace


def _done(request, submission, finding, message: str):
    messages.success(request, message)
    return redirect(_detail_url(submission, f"finding-{finding.pk}"))


@login_required
@require_POST
def finding_condition(request, pk: int, finding_pk: int):
    submission = _submission_for(request, pk, "review.perform")
    finding = _finding_of(submission, finding_pk)
    form = FindingConditionForm(request.POST, prefix=f"cond{finding.pk}", members=_members(submission))
    status = 400
    if form.is_valid():
        attempt = _attempt(
            form,
            lambda: resolution.finding_condition_create(
                actor=request.user, submission=submission, finding=finding, **form.cleaned_data
            ),
        )
        if attempt.ok:
            return _done(request, submission, finding, f"{finding.check_id} is now a condition of the certificate.")
        status = attempt.status
    return _workspace(request, submission, bound={("condition", finding.pk): form}, status=status)


@login_required
@require_POST
def finding_mitigation(request, pk: int, finding_pk: int):
    submission = _submission_for(request, pk, "review.perform")
    finding = _finding_of(submission, finding_pk)
    runs = selectors.mitigation_runs(submission=submission, finding=finding)
    form = FindingMitigationForm(request.POST, prefix=f"mit{finding.pk}", runs=runs)
    status = 400
    if form.is_valid():
        attempt = _attempt(
            form,
            lambda: resolution.finding_mitigation_record(
                actor=request.user, submission=submission, finding=finding, **form.cleaned_data
            ),
        )
        if attempt.ok:
            run = form.cleaned_data["run"]
            return _done(
                request, submission, finding, f"{finding.check_id} is recorded as fixed by validation #{run.pk}."
            )
        status = attempt.status
    return _workspace(request, submission, bound={("mitigation", finding.pk): form}, status=status)


@login_required
@require_POST
def finding_escalation_decide(request, pk: int, finding_pk: int):
    submission = _submission_for(request, pk, "finding.escalation_decide")
    finding = _finding_of(submission, finding_pk)
    form = EscalationDecisionForm(request.POST, prefix=f"esc{finding.pk}")
    status = 400
    if form.is_valid():
        attempt = _attempt(
            form,
            lambda: resolution.finding_escalation_decide(
                actor=request.user, submission=submission, finding=finding, **form.cleaned_data
            ),
        )
        if attempt.ok:
            return _done(request, submission, finding, f"Escalation of {finding.check_id} decided.")
        status = attempt.status
    return _workspace(request, submission, bound={("escalation", finding.pk): form}, status=status)
