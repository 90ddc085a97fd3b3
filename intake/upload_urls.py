"""The large-file uploader's JSON endpoints, under ``/cases/<reference>/uploads/``.

Every URL here is case-scoped: the views fetch the case through cases.access.case_for_user,
and tests/cases/test_access_matrix.py lists each of them.
"""

from django.urls import path

from . import upload_views as views

app_name = "uploads"

urlpatterns = [
    path("", views.upload_create, name="create"),
    path("<uuid:uid>/", views.upload_status, name="status"),
    path("<uuid:uid>/parts/", views.upload_list_parts, name="list_parts"),
    path("<uuid:uid>/parts/<int:part_number>/", views.upload_sign_part, name="sign_part"),
    path("<uuid:uid>/complete/", views.upload_complete, name="complete"),
    path("<uuid:uid>/abort/", views.upload_abort, name="abort"),
]
