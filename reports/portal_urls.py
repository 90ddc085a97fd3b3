"""The report as family and physician read it, included under ``cases/<str:reference>/report/``.
Each view fetches the case through cases.access; tests/reports/matrix_reports.py lists each."""

from django.urls import path

from . import portal_views

urlpatterns = [
    path("", portal_views.report_read, name="report_read"),
    path("follow-up/", portal_views.follow_up_ask, name="follow_up_ask"),
    path("<uuid:report_uid>/", portal_views.report_version, name="report_version"),
    path("<uuid:report_uid>/pdf/", portal_views.report_pdf, name="report_pdf"),
]
