"""The Django levels: L1 measures the framework and the project's middleware, L2 adds one
indexed query and a template render. Anonymous on purpose, so no session row is read or written.
"""

import os

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import Specialty


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


def indexed_query(request: HttpRequest, slug: str) -> HttpResponse:
    # slug is unique, so this is a single lookup on its unique index.
    specialty = get_object_or_404(Specialty.objects.only("name", "slug", "is_active"), slug=slug)
    return render(request, "benchmarks/indexed_query.html", {"specialty": specialty})


def worker_pid(request: HttpRequest) -> HttpResponse:
    """The serving worker's process id: the runner's drain asks until every worker has
    answered, which a sync worker does only once it has finished the requests before it."""
    return HttpResponse(str(os.getpid()), content_type="text/plain; charset=utf-8")
