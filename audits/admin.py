from django.contrib import admin

from audits.models import AuditEvent


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
