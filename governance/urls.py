from django.urls import path, re_path

from governance import views
from governance.risks import views as risk_views

app_name = "governance"
urlpatterns = [
    path("classification/", views.classification_list, name="classification_list"),
    path("classification/systems/<int:pk>/", views.system_classification, name="system_classification"),
    path("classification/systems/<int:pk>/classify/", views.classify, name="classify"),
    path(
        "classification/systems/<int:pk>/answers/<slug:question>/document/",
        views.answer_document,
        name="answer_document",
    ),
    path(
        "classification/systems/<int:pk>/answers/<slug:question>/document/detach/",
        views.answer_document_detach,
        name="answer_document_detach",
    ),
    path(
        "classification/systems/<int:pk>/answers/<slug:question>/document/download/",
        views.answer_document_download,
        name="answer_document_download",
    ),
    path("classification/determinations/<int:pk>/", views.determination_detail, name="determination_detail"),
    path(
        "classification/determinations/<int:pk>/answers/<slug:question>/document/",
        views.determination_answer_document,
        name="determination_answer_document",
    ),
    path("classification/determinations/<int:pk>/approve/", views.determination_approve, name="determination_approve"),
    path(
        "classification/determinations/<int:pk>/override/", views.determination_override, name="determination_override"
    ),
    path("obligations/", views.obligation_board, name="obligation_board"),
    path("obligations/export.csv", views.obligation_export, name="obligation_export"),
    path("obligations/bulk-assign/", views.obligation_bulk_assign, name="obligation_bulk_assign"),
    path("obligations/settings/", views.obligation_settings, name="obligation_settings"),
    path("obligations/systems/<int:pk>/", views.system_obligations, name="system_obligations"),
    path("obligations/<int:pk>/", views.obligation_detail, name="obligation_detail"),
    path("obligations/<int:pk>/status/", views.obligation_transition, name="obligation_transition"),
    path("obligations/<int:pk>/assign/", views.obligation_assign, name="obligation_assign"),
    path("obligations/<int:pk>/evidence/", views.evidence_add, name="evidence_add"),
    path("evidence/<int:pk>/download/", views.evidence_download, name="evidence_download"),
    # risk register (issue #7)
    path("risks/", risk_views.risk_list, name="risk_list"),
    path("risks/new/", risk_views.risk_create, name="risk_create"),
    re_path(r"^risks/export\.(?P<fmt>csv|xlsx)$", risk_views.risk_export, name="risk_export"),
    path("risks/import/", risk_views.risk_import, name="risk_import"),
    path("risks/heatmap/", risk_views.risk_heatmap, name="risk_heatmap"),
    path("risks/views/", risk_views.saved_view_save, name="risk_view_save"),
    path("risks/views/<int:pk>/delete/", risk_views.saved_view_delete, name="risk_view_delete"),
    path("risks/controls/", risk_views.control_list, name="control_list"),
    path("risks/controls/<int:pk>/", risk_views.control_edit, name="control_edit"),
    path("risks/threats/", risk_views.threat_library, name="threat_library"),
    path("risks/settings/", risk_views.risk_settings, name="risk_settings"),
    path("risks/systems/<int:pk>/threat-model/", risk_views.threat_model, name="threat_model"),
    path("risks/systems/<int:pk>/components/", risk_views.component_add, name="component_add"),
    path("risks/components/<int:pk>/threats/", risk_views.component_threats, name="component_threats"),
    path("risks/<int:pk>/", risk_views.risk_detail, name="risk_detail"),
    path("risks/<int:pk>/edit/", risk_views.risk_edit, name="risk_edit"),
    path("risks/<int:pk>/status/", risk_views.risk_transition, name="risk_transition"),
]
