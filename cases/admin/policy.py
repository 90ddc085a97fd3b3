"""The calendar and the policy the turnaround clock reads."""

from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest

from ..clock import POLICY_KEY
from ..models import HospitalClosure, TurnaroundPolicy
from .base import ExtensibleAdmin


@admin.register(HospitalClosure)
class HospitalClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "reason"]
    date_hierarchy = "date"


@admin.register(TurnaroundPolicy)
class TurnaroundPolicyAdmin(ExtensibleAdmin):
    """The policy's page; PACS adds its automatic-sending switch (``pacs.console``)."""

    list_display = ["business_days", "review_extension_days", "at_risk_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Asked on every console page (the sidebar's "add" links): a policy in the clock's
        # cache exists, so only a cache miss asks the database.
        return cache.get(POLICY_KEY) is None and not TurnaroundPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
