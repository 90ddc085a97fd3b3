"""Logging that cannot leak a request body, case data or a person's details.

Django attaches the request object to some records (``django.request``); a handler that
formats it could print headers, cookies or POST data. The filter drops it, masks email
addresses in messages, and stamps the request id instead.
"""

import logging
import re
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if hasattr(record, "request"):
            record.request = None
        message = record.getMessage()
        redacted = _EMAIL.sub("[email]", message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        return True
