"""Case-scoped billing pages, included under ``cases/<str:reference>/billing/``.

Every view here fetches the case through cases.access.case_for_user, and
tests/cases/test_access_matrix.py lists each name.
"""

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("pay/", views.pay, name="pay"),
    path("card/remove/", views.card_remove, name="card_remove"),
]
