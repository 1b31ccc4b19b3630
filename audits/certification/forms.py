"""Forms of the certification pages. They only parse input; the rules (who may, when, what a
reason must hold) live in `audits.certification.services` and `.certificates`."""

from __future__ import annotations

from django import forms

from audits.certification.choices import DecisionKind, SignOffDecision, SubmissionStatus

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
BAD_DATE = "Write the date as YYYY-MM-DD (for example 2026-09-30)."


def _person(user) -> str:
    name = user.get_full_name() or user.username
    role = user.get_role_display() if user.role else ""
    return f"{name} ({role})" if role else name


class IdPrefixMixin:
    """Many forms share the workspace page: each gets its own element ids (names stay plain)."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        if self.id_prefix:
            kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return _person(obj)


class SubmissionFilterForm(forms.Form):
    SCOPES = [("", "All submissions"), ("assigned", "Assigned to me"), ("mine", "Submitted by me")]

    status = forms.ChoiceField(choices=[("", "any")] + list(SubmissionStatus.choices), required=False)
    system = forms.IntegerField(required=False, min_value=1)
    scope = forms.ChoiceField(choices=SCOPES, required=False)


class SubmissionCreateForm(forms.Form):
    validation_run = forms.ModelChoiceField(
        queryset=None,
        empty_label=None,
        label="Validation run",
        help_text="A finished run with the suite the system's risk tier needs.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000, label="Note for the reviewers"
    )

    def __init__(self, *args, runs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["validation_run"].queryset = runs
        self.fields["validation_run"].label_from_instance = lambda run: (
            f"#{run.pk} · {run.get_suite_display()} suite · finished {run.finished_at:%Y-%m-%d %H:%M}"
        )


class FindingDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=DecisionKind.choices, widget=forms.RadioSelect)
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=10_000,
        help_text="Required to accept a risk or mark a false positive.",
    )
    risk = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— no risk-register entry —", label="Risk-register entry (optional)"
    )

    def __init__(self, *args, risks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["risk"].queryset = risks
        self.fields["risk"].label_from_instance = lambda risk: f"{risk.reference} · {risk.title}"


class CommentForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        label="Comment",
        error_messages={"required": "Write a comment first."},
    )
    parent = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AssignForm(IdPrefixMixin, forms.Form):
    id_prefix = "assign"
    reviewer = PersonChoiceField(
        queryset=None, empty_label="— pick a reviewer —", error_messages={"required": "Pick the person to assign."}
    )

    def __init__(self, *args, members, eligible, **kwargs):
        super().__init__(*args, **kwargs)
        # Any member validates, so the service can say *why* someone may not review; the list
        # offers only those who may.
        self.fields["reviewer"].queryset = members
        self.fields["reviewer"].widget.choices = [("", "— pick a reviewer —")] + [(p.pk, _person(p)) for p in eligible]


class ConflictForm(IdPrefixMixin, forms.Form):
    id_prefix = "conflict"
    person = PersonChoiceField(queryset=None, required=False, empty_label="— myself —", label="Who has the conflict")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        if members is None:
            del self.fields["person"]
        else:
            self.fields["person"].queryset = members


class VersionedForm(IdPrefixMixin, forms.Form):
    """A form on the submission that must not act on top of a change it has not seen."""

    id_prefix = "resubmit"

    lock_version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        error_messages={"required": "This form is out of date or incomplete; reload the page and try again."},
    )


class ReasonForm(VersionedForm):
    id_prefix = "changes"
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)


class SignOffForm(VersionedForm):
    id_prefix = "sign"
    decision = forms.ChoiceField(
        choices=SignOffDecision.choices, widget=forms.RadioSelect, error_messages={"required": "Pick a decision."}
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        error_messages={"required": "Write the reason for your decision."},
    )
    valid_until = forms.DateField(
        required=False,
        widget=DATE_INPUT,
        error_messages={"invalid": BAD_DATE},
        help_text="Required with conditions; otherwise one year from today.",
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        label="Your password",
        error_messages={"required": "Re-enter your password to sign; it confirms it is you."},
    )


class ConditionForm(forms.Form):
    text = forms.CharField(max_length=2000, required=False, label="Condition")
    owner = PersonChoiceField(queryset=None, required=False, empty_label="— owner —")
    due_date = forms.DateField(required=False, widget=DATE_INPUT, error_messages={"invalid": BAD_DATE})

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members

    def clean(self):
        data = super().clean()
        filled = [name for name in ("text", "owner", "due_date") if data.get(name)]
        if filled and len(filled) < 3 and not self.errors:
            raise forms.ValidationError("A condition needs a text, an owner and a due date.")
        return data

    def as_condition(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("text"):
            return None
        return {"text": data["text"], "owner": data["owner"], "due_date": data["due_date"]}


ConditionFormSet = forms.formset_factory(ConditionForm, extra=3, max_num=20, validate_max=True)


class DissentForm(IdPrefixMixin, forms.Form):
    id_prefix = "dissent"
    opinion = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        error_messages={"required": "Write your dissenting opinion."},
    )


class CertificateChangeForm(IdPrefixMixin, forms.Form):
    id_prefix = "cert"
    ACTIONS = [("suspend", "Suspend"), ("reinstate", "Lift the suspension"), ("revoke", "Revoke")]

    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        error_messages={"required": "Write the reason; it goes into the audit trail."},
    )


class ConditionMetForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        label="How it was met",
        error_messages={"required": "Say how the condition was met."},
    )


# --- resolving findings before sign-off (audits.certification.resolution) ---------------------------


class FindingConditionForm(forms.Form):
    """Make a "require mitigation" finding a condition of the certificate."""

    text = forms.CharField(max_length=2000, required=False, label="Condition")
    owner = PersonChoiceField(queryset=None, empty_label="— owner —")
    due_date = forms.DateField(widget=DATE_INPUT, error_messages={"invalid": BAD_DATE})

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members


class FindingMitigationForm(forms.Form):
    """Point to a later run of the system in which the finding's check passed."""

    run = forms.ModelChoiceField(queryset=None, empty_label="— later run where the check passed —", label="Run")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000, required=False, label="Note")

    def __init__(self, *args, runs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["run"].queryset = runs
        self.fields["run"].label_from_instance = lambda run: (
            f"#{run.pk} · version {run.model_version.version_label if run.model_version_id else '—'}"
            f" · finished {run.finished_at:%Y-%m-%d %H:%M}"
        )


class EscalationDecisionForm(forms.Form):
    """The escalation role's decision on an escalated finding."""

    decision = forms.ChoiceField(
        choices=[
            (d.value, d.label)
            for d in (DecisionKind.ACCEPT_RISK, DecisionKind.REQUIRE_MITIGATION, DecisionKind.FALSE_POSITIVE)
        ],
        widget=forms.RadioSelect,
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, help_text="Required: why you decide so."
    )
