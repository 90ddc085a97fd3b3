from django.urls import path

from . import views

# Every URL below that takes <reference> is case-scoped: it must fetch the case through
# cases.access.case_for_user, and tests/cases/test_access_matrix.py must list it.
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<str:reference>/", views.case_detail, name="case_detail"),
]
