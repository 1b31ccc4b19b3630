"""API routes of the audits app; included under /api/v1/ by config.urls."""

from django.urls import path

from audits.api import validation_views as views

urlpatterns = [
    path("validations/", views.ValidationListStartApi.as_view(), name="validation-list"),
    path("validations/<int:pk>/", views.ValidationDetailApi.as_view(), name="validation-detail"),
    path("validations/<int:pk>/cancel/", views.ValidationCancelApi.as_view(), name="validation-cancel"),
    path("findings/", views.FindingListApi.as_view(), name="finding-list"),
]
