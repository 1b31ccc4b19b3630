from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from audits.api.views import AuditEventListApi
from audits.certification import public_views as certificate_public
from core import views as core_views
from core.api import views as core_api

api_v1 = [
    path("me/", core_api.MeApi.as_view(), name="me"),
    path("me/queues/", core_api.MyQueuesApi.as_view(), name="me-queues"),
    path("organisation/settings/", core_api.OrganisationSettingsApi.as_view(), name="organisation-settings"),
    path("users/", core_api.UserListCreateApi.as_view(), name="user-list"),
    path("users/<int:pk>/role/", core_api.UserRoleApi.as_view(), name="user-role"),
    path("audit-events/", AuditEventListApi.as_view(), name="audit-event-list"),
    path("", include("models_registry.api.urls")),
    path("", include("governance.api.urls")),
    path("", include("audits.api.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("certificates/verify/", certificate_public.certificate_verify, name="certificate_verify"),
    path("certificates/verify/<uuid:pk>/", certificate_public.certificate_verify_id, name="certificate_verify_id"),
    path("certificates/public-key.pem", certificate_public.certificate_public_key, name="certificate_public_key"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/forgotten/", core_views.password_forgotten, name="password_forgotten"),
    path("accounts/password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path(
        "accounts/invite/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(post_reset_login=False),
        name="password_reset_confirm",
    ),
    path("accounts/invite/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("users/", core_views.user_list_view, name="user_list"),
    path("users/<int:pk>/", core_views.user_detail_view, name="user_detail"),
    path("notifications/", core_views.notification_list_view, name="notification_list"),
    path("notifications/<int:pk>/open/", core_views.notification_open_view, name="notification_open"),
    path("notifications/read-all/", core_views.notification_mark_all_read_view, name="notification_mark_all_read"),
    path("notifications/read/", core_views.notification_mark_selected_read_view, name="notification_mark_read"),
    path("notifications/preferences/", core_views.notification_preferences_view, name="notification_preferences"),
    path("tokens/", core_views.token_list_view, name="token_list"),
    path("organisation/settings/", core_views.organisation_settings_view, name="organisation_settings"),
    path("", include("audits.urls")),
    path("", include("models_registry.urls")),
    path("", include("governance.urls")),
    path("", include(("audits.dashboard_urls", "dashboard"), namespace="dashboard")),
    path("", include(("audits.certification.urls", "certification"), namespace="certification")),
    path("", include("audits.reports.urls", namespace="reports")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
]

# The 500 page shows the request id to quote to support (see core.views.server_error).
handler500 = "core.views.server_error"
