from django.urls import include, path

from intake import views as intake_views

from . import views

# Every URL below that takes <reference> is case-scoped: it must fetch the case through
# cases.access (case_for_user / record_for_user), and tests/cases/test_access_matrix.py
# must list it.
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", intake_views.request_new, name="request_new"),
    path("link/", intake_views.physician_link, name="physician_link"),
    path("<str:reference>/", views.case_detail, name="case_detail"),
    path("<str:reference>/request/<slug:step>/", intake_views.intake_step, name="intake_step"),
    path("<str:reference>/questions/", intake_views.questions_action, name="questions_action"),
    path("<str:reference>/records/", intake_views.record_upload, name="record_upload"),
    path(
        "<str:reference>/records/<uuid:record_uid>/download/",
        intake_views.record_download,
        name="record_download",
    ),
    path("<str:reference>/people/", intake_views.guardians_action, name="guardians_action"),
    path("<str:reference>/", include("cases.portal_urls")),
    path("<str:reference>/messages/", include("cases.message_urls")),
    path("<str:reference>/uploads/", include("intake.upload_urls")),
    path("<str:reference>/billing/documents/", include("billing.document_urls")),
    path("<str:reference>/billing/", include("billing.case_urls")),
    path("<str:reference>/record-requests/", include("cases.release_urls")),
    path("<str:reference>/report/", include("reports.portal_urls")),
]
