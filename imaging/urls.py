"""The study viewer's data URLs, under ``imaging/``: instance bytes and headers.

Not case-scoped by URL and not gated per request: each carries the short-lived study grant
the gated, audited page issued (see imaging/viewer_views.py). tests/imaging/test_viewer_*.py
check the grant's binding to user, case and study, and its expiry."""

from django.urls import path

from . import viewer_views

urlpatterns = [
    path(
        "studies/<int:study_id>/instances/<int:instance_id>.dcm",
        viewer_views.study_instance,
        name="study_instance",
    ),
    path(
        "studies/<int:study_id>/instances/<int:instance_id>/header.json",
        viewer_views.study_header,
        name="study_header",
    ),
]
