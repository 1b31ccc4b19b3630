"""HTML forms of the register: they parse input shape; the services decide."""

from __future__ import annotations

from django import forms

from core.widgets import FastSelect, FastSelectMultiple
from governance.risks.choices import (
    ComponentKind,
    ControlEffectiveness,
    ControlType,
    RiskCategory,
    RiskSource,
    RiskStatus,
    Treatment,
)
from governance.risks.importer import MODES

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _levels(scale: list[dict], blank: bool = False) -> list[tuple]:
    choices = [(item["level"], f"{item['level']} — {item['label']}") for item in scale]
    return ([("", "— not assessed —")] if blank else []) + choices


class RiskForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    category = forms.ChoiceField(choices=RiskCategory.choices)
    source = forms.ChoiceField(choices=RiskSource.choices, initial=RiskSource.ASSESSMENT)
    systems = forms.ModelMultipleChoiceField(
        queryset=None, label="AI systems", widget=FastSelectMultiple(attrs={"size": 4})
    )
    owner = forms.ModelChoiceField(queryset=None, widget=FastSelect)
    likelihood = forms.TypedChoiceField(coerce=int, choices=())
    impact = forms.TypedChoiceField(coerce=int, choices=())
    controls = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    residual_likelihood = forms.TypedChoiceField(coerce=int, choices=(), required=False, empty_value=None)
    residual_impact = forms.TypedChoiceField(coerce=int, choices=(), required=False, empty_value=None)
    residual_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why is the residual score above the inherent one?",
    )
    treatment = forms.ChoiceField(choices=Treatment.choices)
    acceptance_justification = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Justification for acceptance"
    )
    due_date = forms.DateField(required=False, widget=_DATE)
    next_review_date = forms.DateField(required=False, widget=_DATE)
    obligations = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="EU AI Act obligations", widget=forms.SelectMultiple(attrs={"size": 5})
    )
    threat = forms.ModelChoiceField(queryset=None, required=False, empty_label="—", label="Threat (library)")
    component = forms.ModelChoiceField(queryset=None, required=False, empty_label="—")
    reason = forms.CharField(required=False, max_length=2000, label="Note for the history (optional)")

    def __init__(self, *args, systems, owners, controls, obligations, threats, components, settings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["systems"].queryset = systems
        self.fields["owner"].queryset = owners
        self.fields["owner"].label_from_instance = lambda u: f"{u.display_name} ({u.get_role_display()})"
        self.fields["controls"].queryset = controls
        self.fields["obligations"].queryset = obligations
        self.fields["obligations"].label_from_instance = lambda o: f"{o.system.name}: {o.article} {o.title}"
        self.fields["threat"].queryset = threats
        self.fields["component"].queryset = components
        self.fields["component"].label_from_instance = lambda c: f"{c.system.name}: {c}"
        for name in ("likelihood", "residual_likelihood"):
            self.fields[name].choices = _levels(settings.likelihood_scale, blank=name.startswith("residual"))
        for name in ("impact", "residual_impact"):
            self.fields[name].choices = _levels(settings.impact_scale, blank=name.startswith("residual"))

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("reason", None)
        for name in ("systems", "controls", "obligations"):
            data[name] = list(data[name])
        return data


class RiskTransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=RiskStatus.choices)
    justification = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(required=False, max_length=2000)


class ControlForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    control_type = forms.ChoiceField(choices=ControlType.choices, label="Type")
    effectiveness = forms.ChoiceField(choices=ControlEffectiveness.choices)
    owner = forms.ModelChoiceField(queryset=None, widget=FastSelect)

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class ThreatForm(forms.Form):
    code = forms.SlugField(max_length=60, help_text="Short identifier, e.g. vendor_model_drift.")
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    references = forms.CharField(required=False, help_text="Separated by ; (e.g. OWASP LLM01; MITRE ATLAS AML.T0051).")
    typical_controls = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="One per line."
    )
    components = forms.MultipleChoiceField(
        choices=ComponentKind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["references"] = [r.strip() for r in data["references"].split(";") if r.strip()]
        data["typical_controls"] = [c.strip() for c in data["typical_controls"].splitlines() if c.strip()]
        return data


class ComponentForm(forms.Form):
    kind = forms.ChoiceField(choices=ComponentKind.choices)
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=2000)


class ComponentThreatsForm(forms.Form):
    threats = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, threats, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["threats"].queryset = threats


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with the documented header.")
    mode = forms.ChoiceField(
        choices=[
            (MODES[0], "All or nothing: apply only if every row is valid"),
            (MODES[1], "Valid rows only: apply the valid rows, skip the rejected ones"),
        ],
        widget=forms.RadioSelect,
        initial=MODES[0],
    )
    action = forms.ChoiceField(choices=[("dry_run", "Dry run"), ("apply", "Apply")], initial="dry_run")


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80)
    query = forms.CharField(required=False, max_length=1000)


class SettingsForm(forms.Form):
    appetite = forms.IntegerField(
        min_value=1,
        max_value=25,
        help_text="Risks whose current score is above this need a compliance officer's acceptance.",
    )
    review_reminder_days = forms.IntegerField(min_value=1, max_value=365, label="Remind owners (days before a review)")

    def __init__(self, *args, settings, **kwargs):
        super().__init__(*args, **kwargs)
        self.scales = {"likelihood": settings.likelihood_scale, "impact": settings.impact_scale}
        for scale_name, scale in self.scales.items():
            for item in scale:
                level = item["level"]
                self.fields[f"{scale_name}_{level}_label"] = forms.CharField(max_length=40, initial=item["label"])
                self.fields[f"{scale_name}_{level}_definition"] = forms.CharField(
                    max_length=500,
                    required=False,
                    initial=item.get("definition", ""),
                    widget=forms.Textarea(attrs={"rows": 2}),
                )

    def scale(self, name: str) -> list[dict]:
        return [
            {
                "level": level,
                "label": self.cleaned_data[f"{name}_{level}_label"],
                "definition": self.cleaned_data[f"{name}_{level}_definition"],
            }
            for level in range(1, 6)
        ]

    def scale_rows(self, name: str) -> list[tuple]:
        return [(level, self[f"{name}_{level}_label"], self[f"{name}_{level}_definition"]) for level in range(1, 6)]
