"""L0: the cheapest WSGI app gunicorn can serve, the floor every other level is held against."""

from collections.abc import Callable, Iterable

BODY = b"ok"
HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY)))]


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
