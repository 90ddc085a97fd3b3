"""Secure messages, included under ``cases/<str:reference>/messages/``. The view fetches the
case through cases.access.case_for_user; tests/cases/test_access_matrix.py lists the name."""

from django.urls import path

from . import message_views

urlpatterns = [
    path("", message_views.case_messages, name="case_messages"),
]
