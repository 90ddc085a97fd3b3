from django.urls import include, path

from . import views

# The kernel's case URLs, included under ``cases/`` after the request form's (intake.urls),
# with the billing and report pages of a case beside them in config/urls.py. Every URL below
# that takes <reference> is case-scoped: it must fetch the case through cases.access
# (case_for_user; a record through intake.access.record_for_user), and
# tests/cases/test_access_matrix.py must list it.
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<str:reference>/", views.case_detail, name="case_detail"),
    path("<str:reference>/", include("cases.portal_urls")),
    path("<str:reference>/messages/", include("cases.message_urls")),
]
