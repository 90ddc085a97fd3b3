"""The benchmark URLconf: the two Django levels under /_bench/, then every real page.

The project's own URLs follow unchanged, so a page scenario requests the path a browser would.
"""

from django.urls import include, path

from . import views

urlpatterns = [
    path("_bench/bare/", views.bare, name="bench_bare"),
    path("_bench/pid/", views.worker_pid, name="bench_pid"),
    path("_bench/indexed/<slug:slug>/", views.indexed_query, name="bench_indexed"),
    path("", include("config.urls")),
]
