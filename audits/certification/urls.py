from django.urls import path

from audits.certification import resolution_views, views

app_name = "certification"
urlpatterns = [
    path("certification/", views.submission_list, name="submission_list"),
    path("certification/versions/<int:version_pk>/", views.version_panel, name="version_panel"),
    path("certification/versions/<int:version_pk>/submit/", views.submission_new, name="submission_new"),
    path("certification/submissions/<int:pk>/", views.submission_detail, name="submission_detail"),
    path("certification/submissions/<int:pk>/assign/", views.submission_assign, name="submission_assign"),
    path("certification/submissions/<int:pk>/conflict/", views.conflict_declare, name="conflict_declare"),
    path(
        "certification/submissions/<int:pk>/request-changes/",
        views.submission_request_changes,
        name="submission_request_changes",
    ),
    path("certification/submissions/<int:pk>/resubmit/", views.submission_resubmit, name="submission_resubmit"),
    path("certification/submissions/<int:pk>/rerun/", views.submission_rerun, name="submission_rerun"),
    path("certification/submissions/<int:pk>/reruns/<int:rerun_pk>/", views.rerun_detail, name="rerun_detail"),
    path("certification/submissions/<int:pk>/sign/", views.submission_sign, name="submission_sign"),
    path("certification/submissions/<int:pk>/dissent/", views.dissent_record, name="dissent_record"),
    path(
        "certification/submissions/<int:pk>/findings/<int:finding_pk>/decision/",
        views.finding_decide,
        name="finding_decide",
    ),
    path(
        "certification/submissions/<int:pk>/findings/<int:finding_pk>/comments/",
        views.finding_comments,
        name="finding_comments",
    ),
    path(
        "certification/submissions/<int:pk>/findings/<int:finding_pk>/condition/",
        resolution_views.finding_condition,
        name="finding_condition",
    ),
    path(
        "certification/submissions/<int:pk>/findings/<int:finding_pk>/mitigation/",
        resolution_views.finding_mitigation,
        name="finding_mitigation",
    ),
    path(
        "certification/submissions/<int:pk>/findings/<int:finding_pk>/escalation-decision/",
        resolution_views.finding_escalation_decide,
        name="finding_escalation_decide",
    ),
    path(
        "certification/submissions/<int:pk>/findings/<int:finding_pk>/raise-risk/",
        views.finding_raise_risk,
        name="finding_raise_risk",
    ),
    path("certification/certificates/<uuid:pk>/download/", views.certificate_download, name="certificate_download"),
    path("certification/certificates/<uuid:pk>/status/", views.certificate_change, name="certificate_change"),
    path("certification/conditions/<int:pk>/met/", views.condition_met, name="condition_met"),
]
