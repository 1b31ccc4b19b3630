from django.urls import path, re_path

from audits import views

app_name = "audits"
urlpatterns = [
    path("audit-trail/", views.event_list, name="event_list"),
    path("audit-trail/object/", views.object_trail, name="object_trail"),
    re_path(r"^audit-trail/export\.(?P<fmt>jsonl|csv)$", views.event_export, name="event_export"),
    path("audit-trail/verify/", views.verify_request, name="verify"),
]
