"""One base for "the rules do not allow this now": every service refusal derives from it.

A refusal is not a bug: the message is written for the person who asked (a parent, a
physician, a specialist, a coordinator) and a view shows it as it is, next to the form or as
a page message. Deriving from ``ValidationError`` keeps Django forms and the admin able to
show it without a special case; ``code`` lets tests and callers tell refusals apart.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class Refused(ValidationError):
    """A step the current state, role or input does not allow; its message can be shown."""

    def __init__(self, message: Any, code: str = "refused") -> None:
        super().__init__(message, code=code)

    @property
    def text(self) -> str:
        """The message(s) as one sentence for a page message."""
        return " ".join(str(m) for m in self.messages)
