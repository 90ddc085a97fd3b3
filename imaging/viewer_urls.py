"""The study page, under ``workspace/<str:reference>/studies/``: through cases.access, one
AccessEvent per open; tests/imaging/matrix_viewer.py lists it for the access matrix."""

from django.urls import path

from . import viewer_views

urlpatterns = [
    path("<int:study_id>/", viewer_views.study_viewer, name="study_viewer"),
]
