from django import forms

from core.choices import Role


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    job_title = forms.CharField(max_length=120, required=False)
    role = forms.ChoiceField(choices=Role.choices)


class UserRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.TextInput(attrs={"placeholder": "Why (kept in the audit trail)"})
    )


class UserActiveForm(forms.Form):
    active = forms.BooleanField(required=False)
    reason = forms.CharField(max_length=500, required=False)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. GitLab CI, credit-model repo"})
    )


class OrganisationSettingsForm(forms.Form):
    """The organisation admin's settings. Four-eyes is a pair of radio buttons rather than a
    checkbox: a POST that says nothing (an unticked box sends no field) must not switch a safeguard
    off, it is a 400 naming the field."""

    four_eyes_high_risk = forms.TypedChoiceField(
        label="Four-eyes on high-risk classifications",
        choices=[("on", "On (recommended)"), ("off", "Off")],
        coerce=lambda value: value == "on",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose whether four-eyes is on or off.",
            "invalid_choice": "Four-eyes is either on or off; %(value)s is neither.",
        },
    )
