"""The specialist's in-page record viewer, included under ``workspace/<str:reference>/records/``.
Each view fetches the record through cases.access; tests/reports/matrix_viewer.py lists each."""

from django.urls import path

from . import viewer_views

urlpatterns = [
    path("<uuid:record_uid>/", viewer_views.viewer_record, name="viewer_record"),
    path(
        "<uuid:record_uid>/preview/<int:page>.png",
        viewer_views.viewer_preview,
        name="viewer_preview",
    ),
]
