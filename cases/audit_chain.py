"""The audit log's hash chains: what makes a changed or removed AccessEvent row detectable.

Each row stores the SHA-256 of its own content and of the previous row of its chain. There
are ``CHAINS`` chains, a row's chosen from its case (or user), so concurrent writers lock one
of sixteen ``AuditChainHead`` rows rather than one global row: two requests on different
cases rarely wait for each other, and the rows of one case stay in one chain.

On PostgreSQL the trigger in migration 0008 assigns ``seq``, ``prev_hash`` and ``row_hash``
while it holds the head's row lock, so the application still does one INSERT and reads
nothing first. ``content_hash`` (in ``cases.audit_hash``) is the same function in Python:
``audit_verify`` uses it to recompute every row, and on SQLite (local development only) the
model calls it.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# The links live in cases.audit_hash, which the models import; CHAINS and chain_for stay
# importable from here too.
from .audit_hash import CHAINS as CHAINS
from .audit_hash import GENESIS, content_hash
from .audit_hash import chain_for as chain_for
from .models import AccessEvent, AuditChainHead


@dataclass(frozen=True)
class Break:
    chain: int
    row_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row_id}" if self.row_id is not None else "its head"
        return f"chain {self.chain}, {where}: {self.problem}"


def verify(batch: int = 2000) -> Iterator[Break]:
    """Walk every chain in ``seq`` order and yield the first broken link of each.

    A changed row no longer matches its hash; a removed row leaves a gap in ``seq`` (and the
    next row's ``prev_hash`` points at nothing); a removed last row leaves the head ahead of
    the rows. Rows written before the chain existed were given their links by migration 0008.
    """
    heads = {head.chain: head for head in AuditChainHead.objects.all()}
    chains = set(heads) | set(AccessEvent.objects.values_list("chain", flat=True).distinct())
    for chain in sorted(chains):
        problem = _verify_chain(chain, heads.get(chain), batch)
        if problem is not None:
            yield problem


def _verify_chain(chain: int, head: Any, batch: int) -> Break | None:
    prev_hash, prev_seq = GENESIS, 0
    rows = AccessEvent.objects.filter(chain=chain).order_by("seq")
    last_seq = 0
    while True:
        page = list(rows.filter(seq__gt=last_seq)[:batch])
        for row in page:
            if row.seq != prev_seq + 1:
                return Break(chain, row.pk, f"row(s) before it missing (seq {prev_seq + 1})")
            if row.prev_hash != prev_hash:
                return Break(chain, row.pk, "does not link to the row before it")
            if content_hash(row) != row.row_hash:
                return Break(chain, row.pk, "content does not match its hash")
            prev_hash, prev_seq = row.row_hash, row.seq
        if len(page) < batch:
            break
        last_seq = page[-1].seq
    if head is None:
        if prev_seq:
            return Break(chain, None, "the chain head is missing")
        return None
    if head.seq != prev_seq or head.last_hash != prev_hash:
        return Break(
            chain, None, f"last row(s) missing (head at seq {head.seq}, rows end at {prev_seq})"
        )
    return None
