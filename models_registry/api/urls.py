from django.urls import path

from models_registry.api import views

urlpatterns = [
    path("systems/", views.SystemListCreateApi.as_view(), name="system-list"),
    path("systems/<int:pk>/", views.SystemDetailApi.as_view(), name="system-detail"),
    path("systems/<int:pk>/versions/", views.VersionUploadApi.as_view(), name="version-upload"),
    path("systems/<int:pk>/datasets/", views.DatasetUploadApi.as_view(), name="dataset-upload"),
    path("versions/", views.VersionListApi.as_view(), name="version-list"),
    path("versions/<int:pk>/", views.VersionDetailApi.as_view(), name="version-detail"),
    path("datasets/", views.DatasetListApi.as_view(), name="dataset-list"),
    path("datasets/<int:pk>/", views.DatasetDetailApi.as_view(), name="dataset-detail"),
]
