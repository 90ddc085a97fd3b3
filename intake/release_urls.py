"""Records-release authorisations, included under ``cases/<str:reference>/record-requests/``.
Each view fetches the case through cases.access; tests/intake/matrix_release.py lists each."""

from django.urls import path

from . import release_views

urlpatterns = [
    path(
        "<int:request_id>/authorisation.pdf",
        release_views.release_authorisation,
        name="release_authorisation",
    ),
]
