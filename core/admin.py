from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from core.models import Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "organisation", "role", "is_active", "is_staff"]
    list_filter = ["organisation", "role", "is_active", "is_staff"]
    fieldsets = BaseUserAdmin.fieldsets + (("Organisation", {"fields": ("organisation", "role", "job_title")}),)
