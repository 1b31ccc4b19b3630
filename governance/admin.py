"""Django admin: staff edit the application dates (through the service, so obligations follow and
the change is audited); everything else is read-only here, as the portal's pages own the workflow."""

from django.contrib import admin, messages

from core.errors import PortalError
from governance.models import ApplicationDate, Determination, Evidence, Obligation
from governance.services import application_date_change


@admin.register(ApplicationDate)
class ApplicationDateAdmin(admin.ModelAdmin):
    list_display = ["key", "applies_from", "note", "updated_at"]
    fields = ["key", "applies_from", "note"]
    readonly_fields = ["key"]

    def has_add_permission(self, request):
        return False  # the keys are the rules module's; a new key means a new rules version

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            application_date_change(
                key=obj.key,
                applies_from=form.cleaned_data["applies_from"],
                note=form.cleaned_data.get("note", ""),
                actor=request.user,
            )
        except PortalError as exc:
            messages.error(request, exc.message)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Determination)
class DeterminationAdmin(_ReadOnly):
    list_display = [
        "system",
        "number",
        "status",
        "outcome",
        "risk_tier",
        "override_outcome",
        "rules_version",
        "submitted_by",
        "approved_by",
        "created_at",
    ]
    list_filter = ["status", "risk_tier", "organisation"]
    search_fields = ["system__name"]


@admin.register(Obligation)
class ObligationAdmin(_ReadOnly):
    list_display = ["system", "article", "title", "role", "status", "applies_from", "due_date", "owner", "applicable"]
    list_filter = ["status", "applicable", "applies_from_key", "organisation"]
    search_fields = ["system__name", "article", "title"]


@admin.register(Evidence)
class EvidenceAdmin(_ReadOnly):
    list_display = ["obligation", "kind", "title", "dated_at", "added_by"]
    list_filter = ["kind"]
