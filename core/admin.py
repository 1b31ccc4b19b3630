from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from core.models import Organisation, User
from core.services import organisation_four_eyes_set


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "four_eyes_high_risk", "created_at"]
    list_filter = ["four_eyes_high_risk"]
    search_fields = ["name", "slug"]

    def save_model(self, request, obj, form, change):
        # The four-eyes setting changes through its service, so the change is in the trail.
        enabled = form.cleaned_data.get("four_eyes_high_risk", True)
        if change:
            obj.four_eyes_high_risk = Organisation.objects.get(pk=obj.pk).four_eyes_high_risk
        super().save_model(request, obj, form, change)
        if obj.four_eyes_high_risk != enabled:
            organisation_four_eyes_set(organisation=obj, enabled=enabled, actor=request.user)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "organisation", "role", "is_active", "is_staff"]
    list_filter = ["organisation", "role", "is_active", "is_staff"]
    fieldsets = BaseUserAdmin.fieldsets + (("Organisation", {"fields": ("organisation", "role", "job_title")}),)
