from django.urls import path, re_path

from audits import views
from audits.validation import finding_bulk_views
from audits.validation import views as validation_views

app_name = "audits"
urlpatterns = [
    path("audit-trail/", views.event_list, name="event_list"),
    path("audit-trail/object/", views.object_trail, name="object_trail"),
    re_path(r"^audit-trail/export\.(?P<fmt>jsonl|csv)$", views.event_export, name="event_export"),
    path("audit-trail/verify/", views.verify_request, name="verify"),
    path("audit-trail/public-key.pem", views.checkpoint_public_key, name="checkpoint_public_key"),
    path("validations/", validation_views.validation_list, name="validation_list"),
    path("validations/new/", validation_views.validation_new, name="validation_new"),
    path("validations/policy/", validation_views.validation_policy_settings_edit, name="validation_policy_settings"),
    path("validations/new/<int:system_pk>/", validation_views.validation_create, name="validation_create"),
    path("validations/<int:pk>/", validation_views.validation_detail, name="validation_detail"),
    path("validations/<int:pk>/status/", validation_views.validation_status, name="validation_status"),
    path("validations/<int:pk>/cancel/", validation_views.validation_cancel_view, name="validation_cancel"),
    path("validations/<int:pk>/results/", validation_views.validation_results, name="validation_results"),
    path("validations/<int:pk>/charts/<str:check_id>/", validation_views.validation_charts, name="validation_charts"),
    path("findings/", validation_views.finding_list, name="finding_list"),
    path("findings/decide/", finding_bulk_views.finding_decide_many, name="finding_decide_many"),
]
