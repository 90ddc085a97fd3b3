"""The site's URLs plus the billing ones, for as long as config/urls.py and cases/urls.py do
not include them yet (once they do, this adds nothing)."""

from types import ModuleType
from typing import Any

from django.urls import include, path

import cases.urls
import config.urls


def _included(patterns: list[Any], module: str) -> bool:
    for pattern in patterns:
        name = getattr(pattern, "urlconf_name", None)
        if isinstance(name, ModuleType):
            name = name.__name__
        if name == module:
            return True
    return False


urlpatterns: list[Any] = []
if not _included(cases.urls.urlpatterns, "billing.case_urls"):
    urlpatterns.append(path("cases/<str:reference>/billing/", include("billing.case_urls")))
if not _included(config.urls.urlpatterns, "billing.urls"):
    urlpatterns.append(path("billing/", include("billing.urls")))
urlpatterns += config.urls.urlpatterns
