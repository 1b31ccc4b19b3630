from django.urls import path

from models_registry import views

app_name = "registry"
urlpatterns = [
    path("systems/", views.system_list, name="system_list"),
    path("systems/export.csv", views.system_export, name="system_export"),
    path("systems/new/", views.system_create, name="system_create"),
    path("systems/<int:pk>/", views.system_detail, name="system_detail"),
    path("systems/<int:pk>/edit/", views.system_edit, name="system_edit"),
    path("systems/<int:pk>/versions/new/", views.version_create, name="version_create"),
    path("systems/<int:pk>/versions/compare/", views.version_diff, name="version_diff"),
    path("systems/<int:pk>/datasets/new/", views.dataset_create, name="dataset_create"),
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:pk>/delete/", views.registered_delete, {"kind": "model"}, name="version_delete"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<int:pk>/delete/", views.registered_delete, {"kind": "dataset"}, name="dataset_delete"),
]
