"""Reports: the validation and certification report of a submission, the Annex IV draft of a system
and the export of a system's audit trail. Included from config/urls.py with namespace "reports"."""

from django.urls import path

from audits.reports import views

app_name = "reports"
urlpatterns = [
    path("reports/submissions/<int:pk>/", views.submission_report_html, name="submission_report_html"),
    path("reports/submissions/<int:pk>/report.pdf", views.submission_report_pdf, name="submission_report_pdf"),
    path(
        "reports/submissions/<int:pk>/pdf-job/",
        views.submission_report_job_request,
        name="submission_report_job_request",
    ),
    path("reports/pdf-jobs/<int:pk>/", views.report_job, name="report_job"),
    path("reports/pdf-jobs/<int:pk>/status.json", views.report_job_status, name="report_job_status"),
    path("reports/pdf-jobs/<int:pk>/report.pdf", views.report_job_download, name="report_job_download"),
    path("reports/systems/<int:pk>/annex-iv/", views.annex_iv_html, name="annex_iv"),
    path("reports/systems/<int:pk>/annex-iv.pdf", views.annex_iv_pdf, name="annex_iv_pdf"),
    path("reports/systems/<int:pk>/annex-iv.docx", views.annex_iv_docx, name="annex_iv_docx"),
    path("reports/systems/<int:pk>/annex-iv/edit/", views.annex_iv_edit, name="annex_iv_edit"),
    path("reports/systems/<int:pk>/audit-trail.jsonl", views.system_trail_export, name="system_trail_export"),
]
