from django.urls import path

from . import views

app_name = "slides"

urlpatterns = [
    # The page: through the access gate, under the case reference.
    path("<str:reference>/<uuid:record_uid>/", views.slide_viewer, name="viewer"),
    path("<str:reference>/<uuid:record_uid>/grant", views.slide_grant, name="grant"),
    # Its descriptor and tiles: authorised by the page's grant (which names the case), so
    # OpenSeadragon's many requests skip the gate and the audit log.
    path("g/<uuid:record_uid>/slide.dzi", views.slide_dzi, name="dzi"),
    path(
        "g/<uuid:record_uid>/slide_files/<int:level>/<int:col>_<int:row>.jpeg",
        views.slide_tile,
        name="tile",
    ),
]
