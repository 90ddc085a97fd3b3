"""Case-scoped: included under ``cases/<str:reference>/billing/documents/``. Every view here
fetches the case through cases.access.case_for_user; tests/cases/test_access_matrix.py
lists each name."""

from django.urls import path

from . import document_views

urlpatterns = [
    path("receipt/", document_views.receipt_pdf, name="receipt_pdf"),
    path("superbill/", document_views.superbill_pdf, name="superbill_pdf"),
    path("no-charge-statement/", document_views.no_charge_pdf, name="no_charge_pdf"),
]
