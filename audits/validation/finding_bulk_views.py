"""Deciding several findings at once from the findings list: one decision and one justification for
the findings a reviewer ticks. The certification services decide (each finding its own decision and
audit event, all or nothing); this is the form and the page around them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from audits import selectors
from audits.certification import selectors as certification_selectors
from audits.certification import services as certification_services
from audits.certification.choices import DecisionKind
from core.errors import NotFound, PortalError, ValidationFailed
from core.permissions import require_permission


class FindingDecideManyForm(forms.Form):
    decision = forms.ChoiceField(label="Decision", choices=[("", "Choose…"), *DecisionKind.choices])
    justification = forms.CharField(
        label="Justification (for every finding chosen)",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required, 10 characters or more, to accept a risk or mark a false positive.",
    )
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)


def bulk_decide_context(request, form: FindingDecideManyForm | None) -> dict:
    """What the findings list needs for its bulk decision: the findings this person can decide now
    (ticked ones kept after a refusal), and the form."""
    runs = certification_selectors.reviewable_run_ids(user=request.user)
    if not runs:
        return {"bulk_runs": set()}
    chosen = set(request.POST.getlist("findings")) if request.method == "POST" else set()
    return {
        "bulk_runs": runs,
        "bulk_chosen": chosen,
        "bulk_form": form or FindingDecideManyForm(),
    }


def _finding_ids(values: list[str]) -> list[int]:
    try:
        ids = [int(value) for value in values]
    except ValueError:
        raise ValidationFailed("The findings chosen must be finding numbers.", code="invalid_findings") from None
    if not ids:
        raise ValidationFailed("Tick at least one finding to decide.", code="no_findings")
    return list(dict.fromkeys(ids))


def _decide(request, form: FindingDecideManyForm) -> list:
    ids = _finding_ids(request.POST.getlist("findings"))
    found = {f.pk: f for f in selectors.finding_list(user=request.user).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise NotFound("No such finding.", code="not_found")
    return certification_services.finding_decide_many(
        actor=request.user,
        findings=list(found.values()),
        decision=form.cleaned_data["decision"],
        justification=form.cleaned_data["justification"],
    )


@login_required
@require_POST
def finding_decide_many(request):
    """Decide the ticked findings; back to the same filtered list with what happened, or the list
    again with the refusal (naming the finding) and everything the reviewer entered."""
    from audits.validation.views import finding_list_page

    require_permission(request, "review.perform")
    form = FindingDecideManyForm(request.POST)
    query = request.POST.get("query", "")[:2000]
    error: PortalError | None = None
    if form.is_valid():
        try:
            decisions = _decide(request, form)
        except NotFound:
            raise
        except PortalError as exc:
            error = exc
            form.add_error("justification" if "field" in exc.extra else None, exc.message)
        else:
            count = len(decisions)
            messages.success(request, f"{count} finding{'s' if count != 1 else ''} decided.")
            return redirect(f"{reverse('audits:finding_list')}{'?' + query if query else ''}")
    # Shown again on the list it came from: the filters of that page, the findings still ticked.
    request.GET = QueryDict(query)
    return finding_list_page(request, bulk_form=form, status=error.status_code if error else 400)
