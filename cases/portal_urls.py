"""The family's lifecycle actions, included under ``cases/<str:reference>/``. Each view
fetches the case through cases.access.case_for_user; tests/cases/test_access_matrix.py
lists each name."""

from django.urls import path

from . import portal_views

urlpatterns = [
    path("confirm/", portal_views.case_confirm, name="case_confirm"),
    path("withdraw/", portal_views.case_withdraw, name="case_withdraw"),
    path("in-person/", portal_views.case_in_person, name="case_in_person"),
]
