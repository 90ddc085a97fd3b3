"""The specialist workspace (not Django admin): My cases, the case page, the record viewer
and the report editor. Every URL under <reference> goes through cases.access;
tests/reports/matrix_workspace.py lists each."""

from django.urls import include, path

from . import editor_views, workspace_views

ADDENDUM = {"kind": "addendum"}

urlpatterns = [
    path("", workspace_views.workspace, name="workspace"),
    path("<str:reference>/", workspace_views.workspace_case, name="workspace_case"),
    path("<str:reference>/accept/", workspace_views.case_accept, name="workspace_accept"),
    path("<str:reference>/decline/", workspace_views.case_decline, name="workspace_decline"),
    path("<str:reference>/ask/", workspace_views.case_ask, name="workspace_ask"),
    path("<str:reference>/report/", editor_views.report_edit, name="report_edit"),
    path("<str:reference>/report/autosave/", editor_views.report_autosave, name="report_autosave"),
    path("<str:reference>/report/preview.pdf", editor_views.report_preview, name="report_preview"),
    path("<str:reference>/report/sign/", editor_views.report_sign, name="report_sign"),
    path("<str:reference>/addendum/", editor_views.report_edit, ADDENDUM, name="addendum_edit"),
    path(
        "<str:reference>/addendum/autosave/",
        editor_views.report_autosave,
        ADDENDUM,
        name="addendum_autosave",
    ),
    path(
        "<str:reference>/addendum/preview.pdf",
        editor_views.report_preview,
        ADDENDUM,
        name="addendum_preview",
    ),
    path(
        "<str:reference>/addendum/sign/",
        editor_views.report_sign,
        ADDENDUM,
        name="addendum_sign",
    ),
    path("<str:reference>/records/", include("reports.viewer_urls")),
]
