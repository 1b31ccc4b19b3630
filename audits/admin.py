from django.contrib import admin

from audits.models import CheckResultRecord, Finding, ValidationPolicySettings, ValidationRun
from core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only, even for staff."""

    list_display = ["timestamp", "chain", "seq", "actor_username", "verb", "object_type", "object_repr"]
    list_filter = ["verb", "object_type", "chain"]
    search_fields = ["actor_username", "object_repr", "request_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ValidationPolicySettings)
class ValidationPolicySettingsAdmin(admin.ModelAdmin):
    """Where an organisation decides whether validation policy overrides are allowed."""

    list_display = ["organisation", "allow_overrides", "locked_keys"]


@admin.register(ValidationRun)
class ValidationRunAdmin(admin.ModelAdmin):
    """Read-only: runs change only through the services and the worker."""

    list_display = [
        "id",
        "organisation",
        "system",
        "model_version",
        "suite",
        "status",
        "progress_percent",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "suite", "organisation"]
    list_select_related = ["organisation", "system", "model_version"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["id", "organisation", "system", "check_id", "severity", "title", "status", "created_at"]
    list_filter = ["severity", "category", "status"]
    list_select_related = ["organisation", "system"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CheckResultRecord)
class CheckResultRecordAdmin(admin.ModelAdmin):
    list_display = ["run", "check_id", "status", "severity", "value"]
    list_filter = ["status", "family"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
