"""Forms of the validation pages. They only parse input; the rules live in
`audits.validation.services`."""

from __future__ import annotations

import json
import re

from django import forms

from audits.choices import Suite

POLICY_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*=\s*(.*?)\s*$")


def parse_policy_lines(text: str) -> dict:
    """`key = value` lines to a dict. Values are read as JSON where they can be (numbers, true,
    false, lists), otherwise as text; blank lines and lines starting with # are skipped."""
    overrides: dict = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = POLICY_LINE.match(line)
        if not match or not match.group(2):
            raise forms.ValidationError(
                f"Line {number}: write one override per line as key = value, "
                f"e.g. fairness.dp_ratio_min = 0.8 (got {line.strip()!r})."
            )
        key, raw = match.groups()
        if key in overrides:
            raise forms.ValidationError(f"Line {number}: {key} is given twice.")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw.strip("\"'")
        overrides[key] = value
    return overrides


class ValidationStartForm(forms.Form):
    model_version = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— none: the test dataset holds predictions —"
    )
    test_dataset = forms.ModelChoiceField(queryset=None, empty_label="— pick the test dataset —")
    train_dataset = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="— none —",
        help_text="Optional; enables the train–test gap, leakage and contamination checks.",
    )
    suite = forms.ChoiceField(
        choices=[("", "Default for the system's risk tier")] + list(Suite.choices), required=False
    )
    task = forms.ChoiceField(
        choices=[
            ("binary", "Binary classification"),
            ("multiclass", "Multiclass classification"),
            ("regression", "Regression"),
        ],
        required=False,
        help_text="Only for a run on predictions, without a model version.",
    )
    policy_overrides = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "fairness.dp_ratio_min = 0.8"}),
        required=False,
        help_text="Optional, one per line: key = value.",
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0, required=False)

    # The chosen test dataset's columns (server-rendered for it; refreshed when it changes).
    target_column = forms.ChoiceField(required=False, label="Target column")
    feature_columns = forms.MultipleChoiceField(
        required=False,
        label="Feature columns",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="None picked: the model's own feature columns, or else every column but the target, "
        "prediction and score columns.",
    )
    sensitive_columns = forms.MultipleChoiceField(
        required=False,
        label="Sensitive columns",
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text="The groups the fairness checks compare (Ctrl- or ⌘-click to pick several).",
    )
    COLUMN_FIELDS = ("target_column", "feature_columns", "sensitive_columns")

    def __init__(self, *args, versions, datasets, columns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"].queryset = versions
        # A training set is never the test set; the train list holds the datasets that are not test sets.
        self.fields["test_dataset"].queryset = datasets.exclude(role="train")
        self.fields["train_dataset"].queryset = datasets.exclude(role="test")
        choices = [(c, c) for c in columns]
        self.fields["target_column"].choices = [("", "— the dataset's target column —"), *choices]
        for name in ("feature_columns", "sensitive_columns"):
            self.fields[name].choices = choices
            self.fields[name].error_messages["invalid_choice"] = (
                "%(value)s is not a column of the chosen test dataset; pick from its columns."
            )
        self.fields["target_column"].error_messages["invalid_choice"] = (
            "%(value)s is not a column of the chosen test dataset; pick from its columns."
        )

    def clean_policy_overrides(self) -> dict:
        return parse_policy_lines(self.cleaned_data.get("policy_overrides", ""))

    def clean_seed(self) -> int:
        return self.cleaned_data.get("seed") or 0


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class ValidationPolicySettingsForm(forms.Form):
    """The organisation's override rules. `based_on` carries the fingerprint of the settings the
    page showed, so the service can refuse a save made on top of a newer change."""

    allow_overrides = forms.BooleanField(
        required=False,
        label="Allow policy overrides on a validation run",
        help_text="When off, every run uses the standard policy.",
    )
    locked_keys = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Locked policy keys",
        error_messages={
            "invalid_choice": "%(value)s is not a key of the current validation policy; reload the "
            "page and pick from the list."
        },
    )
    reason = forms.CharField(max_length=500, required=False, label="Reason (recorded in the audit trail)")
    based_on = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={
            "required": "This form is out of date or incomplete; reload the page and make your change again."
        },
    )

    def __init__(self, *args, key_groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_groups = key_groups
        self.fields["locked_keys"].choices = [(key, key) for _, group in key_groups for key, _ in group]

    def selected_keys(self) -> set[str]:
        return {str(key) for key in self["locked_keys"].value() or []}
