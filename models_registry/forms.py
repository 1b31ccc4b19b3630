import json

from django import forms

from models_registry.choices import AffectedGroup, DatasetRole, Framework, LifecycleStage, OperatorRole, Sector, Task

TEXTAREA = forms.Textarea(attrs={"rows": 3})


class AISystemForm(forms.Form):
    name = forms.CharField(max_length=200)
    purpose = forms.CharField(widget=TEXTAREA, help_text="What the system is for, in a sentence or two.")
    intended_use = forms.CharField(
        widget=TEXTAREA, required=False, help_text="Who uses it, how and on what (the intended purpose of Art. 3(12))."
    )
    deployment_context = forms.CharField(widget=TEXTAREA, required=False)
    affected_persons = forms.CharField(widget=TEXTAREA, required=False, help_text="Who is affected by its outputs.")
    sector = forms.ChoiceField(
        choices=[("", "Not stated"), *Sector.choices],
        required=False,
        label="Sector (Annex III area)",
        help_text="The EU AI Act high-risk area it is used in, if any. The classification offers it as an answer.",
    )
    affected_groups = forms.MultipleChoiceField(
        choices=AffectedGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Whose lives its outputs affect. Tick all that apply.",
    )
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices)
    operator_role = forms.ChoiceField(
        choices=OperatorRole.choices,
        label="Our role",
        help_text="Your organisation's role for this system under the EU AI Act.",
    )
    owner_team = forms.CharField(max_length=120, required=False)
    business_owner = forms.CharField(max_length=120, required=False)
    processes_personal_data = forms.BooleanField(required=False)
    processes_special_categories = forms.BooleanField(
        required=False, label="Processes special categories of personal data"
    )
    third_party_vendor = forms.CharField(max_length=200, required=False, help_text="If bought in: the vendor.")
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. credit, retail")
    reason = forms.CharField(required=False, max_length=500, help_text="Why this change (kept in the audit trail).")

    def clean_tags(self):
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


def parse_metrics(text: str) -> dict:
    """Accept JSON ({"auc": 0.91}) or one `name = value` per line."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give an object of metric names and numbers.")
        return value
    metrics = {}
    for number, line in enumerate(text.replace(",", "\n").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, raw = line.partition("=")
        if not sep:
            raise forms.ValidationError(f"Line {number}: write name = value, e.g. auc = 0.91.")
        try:
            metrics[name.strip()] = float(raw)
        except ValueError:
            raise forms.ValidationError(f"Line {number}: {raw.strip()!r} is not a number.") from None
    return metrics


class ModelVersionForm(forms.Form):
    version_label = forms.CharField(max_length=60, help_text="Unique for this system, e.g. 1.4.0")
    file = forms.FileField(
        help_text="scikit-learn (.skops, .joblib, .pkl), ONNX (.onnx) or an MLflow model folder as .zip"
    )
    framework = forms.ChoiceField(choices=Framework.choices)
    task = forms.ChoiceField(choices=Task.choices)
    feature_columns = forms.CharField(
        widget=TEXTAREA, required=False, help_text="The columns the model expects, comma- or line-separated"
    )
    intended_use = forms.CharField(widget=TEXTAREA, required=False)
    limitations = forms.CharField(widget=TEXTAREA, required=False)
    training_data_description = forms.CharField(widget=TEXTAREA, required=False)
    claimed_metrics = forms.CharField(widget=TEXTAREA, required=False, help_text="One per line: auc = 0.91 (or JSON)")
    substantial_modification = forms.BooleanField(
        required=False, help_text="A change not foreseen in the initial conformity assessment"
    )

    def clean_claimed_metrics(self):
        return parse_metrics(self.cleaned_data["claimed_metrics"])


class DatasetForm(forms.Form):
    name = forms.CharField(
        max_length=120, required=False, help_text="Re-using a name makes the next version of that dataset"
    )
    role = forms.ChoiceField(choices=DatasetRole.choices)
    file = forms.FileField(help_text="CSV (any common delimiter and encoding, .gz allowed) or Parquet")
    target_column = forms.CharField(max_length=200, required=False)
    prediction_column = forms.CharField(
        max_length=200, required=False, help_text="Optional: certify from predictions alone"
    )
    score_column = forms.CharField(
        max_length=200, required=False, help_text="Optional: predicted probability of the positive class"
    )
    sensitive_columns = forms.CharField(
        max_length=1000, required=False, help_text="Comma-separated, e.g. sex, age, race"
    )


class DeleteForm(forms.Form):
    reason = forms.CharField(max_length=500)
