"""HTML forms: they parse and check input shape; the services decide."""

from __future__ import annotations

from django import forms

from governance.choices import EVIDENCE_MAX_BYTES, EvidenceKind, ObligationStatus, OutcomeChoice
from governance.evidence_sources import validation_run_label
from governance.rules import EVIDENCE_KINDS
from models_registry.choices import RiskTier

VALIDATION_KINDS = [
    (kind, kind.removeprefix("validation_run:").replace("_", " ").capitalize())
    for kind in EVIDENCE_KINDS
    if kind.startswith("validation_run:")
]


UNSURE_FIELD_PREFIX = "unsure__"


class UnsureJustificationsMixin:
    """One textarea per open point (an "unsure" answer the result relied on): the approver's
    justification for relying on the stricter reading. Blank is accepted here; the service refuses
    an approval that leaves one out and names the questions."""

    def __init__(self, *args, open_points=(), **kwargs):
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.open_point_ids = [point["id"] for point in open_points]
        for point in open_points:
            self.fields[UNSURE_FIELD_PREFIX + point["id"]] = forms.CharField(  # type: ignore[attr-defined]
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={"rows": 2, "data-testid": f"unsure-justification-{point['id']}"}),
                label=f"Why rely on the stricter reading of “{point['question']}”?",
            )

    @property
    def unsure_fields(self) -> list:
        return [self[UNSURE_FIELD_PREFIX + qid] for qid in self.open_point_ids]  # type: ignore[index]

    def unsure_justifications(self) -> dict[str, str]:
        data = getattr(self, "cleaned_data", {})
        return {qid: data.get(UNSURE_FIELD_PREFIX + qid, "") or "" for qid in self.open_point_ids}


class ApproveForm(UnsureJustificationsMixin, forms.Form):
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note (optional)"
    )


class OverrideForm(UnsureJustificationsMixin, forms.Form):
    # An empty first choice: nothing is preselected (the first outcome is "Prohibited practice").
    outcome = forms.ChoiceField(
        choices=[("", "— choose the outcome —"), *OutcomeChoice.choices], label="Outcome instead"
    )
    risk_tier = forms.ChoiceField(
        required=False,
        label="Risk tier (optional)",
        choices=[("", "Follow from the outcome")] + [c for c in RiskTier.choices if c[0] != RiskTier.UNCLASSIFIED],
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        required=False,
        label="Written justification (required)",
    )


class ObligationTransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=ObligationStatus.choices)
    reason = forms.CharField(required=False, max_length=2000)


class ObligationAssignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="— nobody —")
    # type=date inputs only accept ISO dates; any other format would render (and submit) blank.
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    evidence_max_age_days = forms.IntegerField(min_value=1, max_value=3650, label="Maximum evidence age (days)")

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["owner"].label_from_instance = lambda user: f"{user.display_name} ({user.get_role_display()})"


# The fields each kind of evidence uses; the template shows a kind's fields only (JS hides the others).
EVIDENCE_FIELDS = {
    EvidenceKind.DOCUMENT: ("file",),
    EvidenceKind.MODEL_CARD: ("model_version",),
    EvidenceKind.VALIDATION_RUN: ("validation_kind", "validation_run"),
}


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(choices=EvidenceKind.choices)
    title = forms.CharField(required=False, max_length=200)
    file = forms.FileField(required=False, help_text=f"At most {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB.")
    model_version = forms.ModelChoiceField(queryset=None, required=False)
    validation_kind = forms.ChoiceField(choices=VALIDATION_KINDS, required=False, label="Check family")
    validation_run = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Validation run",
        error_messages={"invalid_choice": "Choose one of this system's succeeded validation runs."},
    )

    def __init__(self, *args, versions=None, runs=(), **kwargs):
        """`runs`: the system's succeeded validation runs (governance.evidence_sources dicts)."""
        super().__init__(*args, **kwargs)
        self.fields["model_version"].queryset = versions
        self.fields["validation_run"].choices = [("", "— choose a run —")] + [
            (run["id"], validation_run_label(run)) for run in runs
        ]

    def clean(self):
        data = super().clean()
        needed = {
            EvidenceKind.DOCUMENT: ("file", "Choose a file to upload."),
            EvidenceKind.MODEL_CARD: ("model_version", "Choose a model version."),
            EvidenceKind.VALIDATION_RUN: ("validation_run", "Choose a succeeded validation run of this system."),
        }
        if data.get("kind") in needed:
            name, message = needed[data["kind"]]
            if not data.get(name) and name not in self.errors:
                self.add_error(name, message)
            if data["kind"] == EvidenceKind.VALIDATION_RUN and not data.get("validation_kind"):
                self.add_error("validation_kind", "Choose the check family the run is evidence of.")
        # Only the chosen kind's fields count: a file picked before switching to "model card" is ignored.
        for field in {"file", "model_version", "validation_kind", "validation_run"} - set(
            EVIDENCE_FIELDS.get(data.get("kind"), ())
        ):
            self.errors.pop(field, None)
            data.pop(field, None)
        return data


KEEP, NOBODY = "", "nobody"


class ObligationBulkAssignForm(forms.Form):
    """The board's bulk action: the selected obligations and what to set on all of them."""

    obligations = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": "Select at least one obligation."}
    )
    owner = forms.ChoiceField(required=False, label="Owner")
    plan_date = forms.DateField(
        required=False,
        label="Plan date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the plan date as a date (YYYY-MM-DD)."},
    )

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.owners = {str(user.pk): user for user in owners}
        self.fields["owner"].choices = [(KEEP, "— leave as it is —"), (NOBODY, "Nobody (remove the owner)")] + [
            (pk, f"{user.display_name} ({user.get_role_display()})") for pk, user in self.owners.items()
        ]
        # Which ids exist is the service's question (it names the missing ones); any number is accepted here.
        self.fields["obligations"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("owner") == KEEP and data.get("plan_date") is None:
            raise forms.ValidationError("Choose an owner or a plan date to set on the selected obligations.")
        return data

    def service_kwargs(self) -> dict:
        """The arguments of services.obligation_bulk_assign: a field left as it is is not passed."""
        data, kwargs = self.cleaned_data, {"obligation_ids": self.cleaned_data["obligations"]}
        if data["owner"] != KEEP:
            kwargs["owner"] = None if data["owner"] == NOBODY else self.owners[data["owner"]]
        if data["plan_date"] is not None:
            kwargs["plan_date"] = data["plan_date"]
        return kwargs


class ObligationSettingsForm(forms.Form):
    plan_lead_days = forms.IntegerField(
        min_value=0,
        max_value=3650,
        label="Plan lead time (days)",
        help_text="When a system is classified, a duty that already applies is planned this many days later; "
        "one that applies later is planned for the day it applies.",
    )


class AnswerDocumentForm(forms.Form):
    """The document behind one answer; the service checks the size, type and content."""

    file = forms.FileField(
        allow_empty_file=True,
        error_messages={"required": "Choose a file to attach."},
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,.txt,.csv,.md,.docx,.xlsx", "data-testid": "document-file"}
        ),
    )
