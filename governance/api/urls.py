from django.urls import path

from governance.api import views
from governance.risks import api as risk_api

urlpatterns = [
    path("classification/questionnaire/", views.QuestionnaireApi.as_view(), name="classification-questionnaire"),
    path("classification/systems/<int:pk>/draft/", views.DraftApi.as_view(), name="classification-draft"),
    path(
        "classification/systems/<int:pk>/draft/answers/<slug:question>/document/",
        views.AnswerDocumentApi.as_view(),
        name="classification-answer-document",
    ),
    path("classification/systems/<int:pk>/submit/", views.SubmitApi.as_view(), name="classification-submit"),
    path(
        "classification/systems/<int:pk>/determinations/",
        views.SystemDeterminationListApi.as_view(),
        name="classification-system-determinations",
    ),
    path(
        "classification/systems/<int:pk>/current/",
        views.CurrentDeterminationApi.as_view(),
        name="classification-current",
    ),
    path(
        "classification/determinations/<int:pk>/", views.DeterminationDetailApi.as_view(), name="determination-detail"
    ),
    path(
        "classification/determinations/<int:pk>/approve/",
        views.DeterminationApproveApi.as_view(),
        name="determination-approve",
    ),
    path(
        "classification/determinations/<int:pk>/override/",
        views.DeterminationOverrideApi.as_view(),
        name="determination-override",
    ),
    path("obligations/", views.ObligationListApi.as_view(), name="obligation-list"),
    path("obligations/settings/", views.ObligationSettingsApi.as_view(), name="obligation-settings"),
    path("obligations/bulk-assign/", views.ObligationBulkAssignApi.as_view(), name="obligation-bulk-assign"),
    path("obligations/<int:pk>/", views.ObligationDetailApi.as_view(), name="obligation-detail"),
    path("obligations/<int:pk>/evidence/", views.ObligationEvidenceApi.as_view(), name="obligation-evidence"),
    path(
        "obligations/<int:pk>/validation-runs/",
        views.ObligationValidationRunsApi.as_view(),
        name="obligation-validation-runs",
    ),
    path(
        "classification/systems/<int:pk>/obligations/",
        views.SystemObligationListApi.as_view(),
        name="system-obligation-list",
    ),
    # risk register (issue #7)
    path("risks/", risk_api.RiskListCreateApi.as_view(), name="risk-list"),
    path("risks/<int:pk>/", risk_api.RiskDetailApi.as_view(), name="risk-detail"),
    path("controls/", risk_api.ControlListCreateApi.as_view(), name="control-list"),
    path("controls/<int:pk>/", risk_api.ControlDetailApi.as_view(), name="control-detail"),
]
