"""The specialist workspace (not Django admin)."""

from django.urls import include, path

urlpatterns = [
    path("<str:reference>/records/", include("reports.viewer_urls")),
]
