"""Keep what someone typed when their session ends mid-form.

A POST that arrives after the session expired cannot be saved (we no longer know who sent
it), but it must not be lost either: its fields are kept in the new, anonymous session for
a short while, and the same form shows them again after the person signs back in. Files
cannot be kept this way; the form says so.
"""

import time

from django.http import HttpRequest, QueryDict

STASH_KEY = "expired_post"
STASH_SECONDS = 2 * 60 * 60


def stash_post(request: HttpRequest, *, path: str | None = None) -> None:
    """``path``: the page that shows the form again, when it is not the one posted to (a
    POST-only view)."""
    if request.method != "POST":
        return
    data = request.POST.copy()
    data.pop("csrfmiddlewaretoken", None)
    # A password typed into a form (re-authentication to sign) is never kept in a session.
    for key in [k for k in data if "password" in k]:
        data.pop(key)
    request.session[STASH_KEY] = {
        "path": path or request.path,
        "data": data.urlencode(),
        "at": time.time(),
    }


def stash_pop(request: HttpRequest, *, path: str | None = None) -> QueryDict | None:
    stash = request.session.get(STASH_KEY)
    if not stash or stash.get("path") != (path or request.path):
        return None
    del request.session[STASH_KEY]
    if time.time() - stash.get("at", 0) > STASH_SECONDS:
        return None
    return QueryDict(stash["data"])
