"""Short-lived grants for the many requests one viewer page makes.

Opening a study or a slide goes through the access gate once and writes one audit row; the
hundreds of pixel and tile requests that follow carry a grant instead: a signed token naming
the kind of object, the user, the case and the object, with its issue time. A grant is checked
on every request against the signed-in user and the URL's object, and expires after
``max_age`` seconds (minutes, not hours). Django's TimestampSigner does the cryptography; this
module only fixes what a grant binds, so no viewer invents its own.
"""

from __future__ import annotations

from django.core import signing

DEFAULT_MAX_AGE = 10 * 60


class GrantInvalid(Exception):
    """The token is missing, forged, expired, or names another user, case or object."""


def _signer(kind: str) -> signing.TimestampSigner:
    # A salt per kind: a slide grant can never be replayed as a study grant.
    return signing.TimestampSigner(salt=f"core.grants.{kind}")


def issue(*, kind: str, user_id: int, case_id: int, object_id: str | int) -> str:
    return _signer(kind).sign_object(
        {"u": int(user_id), "c": int(case_id), "o": str(object_id)}, compress=True
    )


def check(
    token: str | None,
    *,
    kind: str,
    user_id: int | None,
    object_id: str | int,
    max_age: int = DEFAULT_MAX_AGE,
) -> int:
    """The case id the grant was issued for; GrantInvalid unless it fits exactly."""
    if not token or user_id is None:
        raise GrantInvalid
    try:
        data = _signer(kind).unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        raise GrantInvalid from None
    if not isinstance(data, dict):
        raise GrantInvalid
    if data.get("u") != int(user_id) or data.get("o") != str(object_id):
        raise GrantInvalid
    case_id = data.get("c")
    if not isinstance(case_id, int):
        raise GrantInvalid
    return case_id
