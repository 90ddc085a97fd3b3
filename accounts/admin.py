from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import PhysicianProfile, SpecialistProfile, Specialty, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined", "role", "is_superuser"]
    fieldsets = (
        (None, {"fields": ("email", "full_name", "role")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ()


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "sort_order"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(PhysicianProfile)
class PhysicianProfileAdmin(admin.ModelAdmin):
    list_display = ["full_name", "credentials", "practice", "licence_state"]
    list_select_related = ["user"]
    search_fields = ["full_name", "user__email"]


@admin.register(SpecialistProfile)
class SpecialistProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "title", "accepting_cases"]
    list_select_related = ["user"]
    list_filter = ["accepting_cases", "specialties"]
