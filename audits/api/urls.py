"""API routes of the audits app; included under /api/v1/ by config.urls."""

from django.urls import path

from audits.api import certification_views as certification
from audits.validation.api import views

urlpatterns = [
    path("validations/", views.ValidationListStartApi.as_view(), name="validation-list"),
    path("validations/<int:pk>/", views.ValidationDetailApi.as_view(), name="validation-detail"),
    path("validations/<int:pk>/cancel/", views.ValidationCancelApi.as_view(), name="validation-cancel"),
    path("findings/", views.FindingListApi.as_view(), name="finding-list"),
    path("findings/decide/", certification.FindingDecideManyApi.as_view(), name="finding-decide-many"),
    path("submissions/", certification.SubmissionListCreateApi.as_view(), name="submission-list"),
    path("submissions/<int:pk>/", certification.SubmissionDetailApi.as_view(), name="submission-detail"),
    path("submissions/<int:pk>/status/", certification.SubmissionStatusApi.as_view(), name="submission-status"),
    path("submissions/<int:pk>/assign/", certification.SubmissionAssignApi.as_view(), name="submission-assign"),
    path(
        "submissions/<int:pk>/findings/<int:finding_pk>/decision/",
        certification.FindingDecideApi.as_view(),
        name="submission-finding-decide",
    ),
    path(
        "submissions/<int:pk>/findings/<int:finding_pk>/condition/",
        certification.FindingConditionApi.as_view(),
        name="submission-finding-condition",
    ),
    path(
        "submissions/<int:pk>/findings/<int:finding_pk>/mitigation/",
        certification.FindingMitigationApi.as_view(),
        name="submission-finding-mitigation",
    ),
    path(
        "submissions/<int:pk>/findings/<int:finding_pk>/escalation-decision/",
        certification.FindingEscalationDecideApi.as_view(),
        name="submission-finding-escalation-decision",
    ),
    path(
        "submissions/<int:pk>/findings/<int:finding_pk>/comments/",
        certification.FindingCommentApi.as_view(),
        name="submission-finding-comment",
    ),
    path(
        "submissions/<int:pk>/request-changes/",
        certification.SubmissionRequestChangesApi.as_view(),
        name="submission-request-changes",
    ),
    path("submissions/<int:pk>/resubmit/", certification.SubmissionResubmitApi.as_view(), name="submission-resubmit"),
    path("submissions/<int:pk>/sign/", certification.SubmissionSignApi.as_view(), name="submission-sign"),
    path("submissions/<int:pk>/dissent/", certification.SubmissionDissentApi.as_view(), name="submission-dissent"),
    path("submissions/<int:pk>/rerun/", certification.SubmissionRerunApi.as_view(), name="submission-rerun"),
    path(
        "submissions/<int:pk>/reruns/<int:run_pk>/diff/",
        certification.SubmissionRerunDiffApi.as_view(),
        name="submission-rerun-diff",
    ),
    path("certificates/verify/", certification.CertificatePublicVerifyApi.as_view(), name="certificate-verify"),
    path(
        "certificates/<uuid:pk>/status/", certification.CertificatePublicStatusApi.as_view(), name="certificate-status"
    ),
    path(
        "certificates/<uuid:pk>/document/", certification.CertificateDocumentApi.as_view(), name="certificate-document"
    ),
    path("certificates/<uuid:pk>/suspend/", certification.CertificateSuspendApi.as_view(), name="certificate-suspend"),
    path(
        "certificates/<uuid:pk>/reinstate/",
        certification.CertificateReinstateApi.as_view(),
        name="certificate-reinstate",
    ),
    path("certificates/<uuid:pk>/revoke/", certification.CertificateRevokeApi.as_view(), name="certificate-revoke"),
    path("conditions/<int:pk>/met/", certification.ConditionMetApi.as_view(), name="condition-met"),
]
