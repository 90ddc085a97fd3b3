"""The audit chain's links: which chain a row joins and the hash of its content, shared by
the model (which picks the chain, and links the row itself on SQLite), migration 0008's
trigger and ``cases.audit_chain.verify``. It imports nothing of the models, so they can
import it (the chains themselves are described in ``cases.audit_chain``).
"""

import hashlib
from datetime import UTC, datetime
from typing import Any

CHAINS = 16
GENESIS = ""
# The ASCII unit separator never occurs in the fields (references, roles, ids, addresses),
# so joining with it is unambiguous; the SQL in migration 0008 joins the same way.
SEP = "\x1f"


def chain_for(*, case_id: int | None, user_id: int | None) -> int:
    return (case_id or user_id or 0) % CHAINS


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def content_hash(row: Any) -> str:
    """Hash of one AccessEvent's content and its link (mirrors the SQL in migration 0008)."""
    parts = [
        str(row.chain),
        str(row.seq),
        row.prev_hash,
        _at_text(row.at),
        "" if row.user_id is None else str(row.user_id),
        row.role,
        "" if row.case_id is None else str(row.case_id),
        row.object_type,
        row.object_id,
        row.action,
        row.outcome,
        row.ip or "",
        row.request_id,
    ]
    return hashlib.sha256(SEP.join(parts).encode()).hexdigest()


# The trigger's body: the same fields, in the same order, as ``content_hash``.
SQL_CONTENT = """
    concat_ws(chr(31),
        NEW.chain::text, NEW.seq::text, NEW.prev_hash,
        to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        coalesce(NEW.user_id::text, ''), NEW.role, coalesce(NEW.case_id::text, ''),
        NEW.object_type, NEW.object_id, NEW.action, NEW.outcome,
        coalesce(host(NEW.ip), ''), NEW.request_id)
"""
