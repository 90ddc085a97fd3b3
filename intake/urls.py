"""The request form, the case page's actions on questions, records and guardians, and the
records-release form a family signs for an outside provider (``release_urls``), included
under ``cases/`` before the kernel's case URLs (config/urls.py), so ``new/`` and ``link/`` are
not taken for a reference. Every URL that takes <reference> fetches the case through
cases.access; tests/cases/test_access_matrix.py lists each name."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("new/", views.request_new, name="request_new"),
    path("link/", views.physician_link, name="physician_link"),
    path("<str:reference>/request/<slug:step>/", views.intake_step, name="intake_step"),
    path("<str:reference>/questions/", views.questions_action, name="questions_action"),
    path("<str:reference>/records/", views.record_upload, name="record_upload"),
    path(
        "<str:reference>/records/<uuid:record_uid>/download/",
        views.record_download,
        name="record_download",
    ),
    path("<str:reference>/people/", views.guardians_action, name="guardians_action"),
    path("<str:reference>/uploads/", include("intake.upload_urls")),
    path("<str:reference>/record-requests/", include("intake.release_urls")),
]
