"""What a portal page reads beside the case itself: the large family, the second guardians
invited to a case, and the coordinator thread's messages."""

from allauth.account.models import EmailAddress

from accounts.models import Role, User
from demo.bench.pools import BIG_FAMILY_EMAIL

# A family with many requests: one case in BIG_FAMILY_EVERY moves to it.
BIG_FAMILY_SQL = """
UPDATE cases_case SET family_id = %(big)s
WHERE id BETWEEN %(lo)s AND %(hi)s AND id %% %(every)s = 0
"""

INVITES_SQL = """
INSERT INTO cases_casemember (case_id, role, email, user_id, invited_by_id, invited_at, revoked_at)
SELECT c.id, 'guardian', u.email, NULL, c.family_id, c.created_at, NULL
FROM cases_case AS c
-- The next family account made: family accounts are made in order, a batch at a time, so
-- this is the family of the next cases. (Not from the case's id: ids are not the cases'
-- numbers once a database has any other case, or an interrupted batch used up ids.)
JOIN accounts_user AS u
  ON u.id = c.created_by_id + 1 AND u.email LIKE 'bench-queue-family-%%'
WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.id %% 10 = 3 AND u.id <> c.family_id
ON CONFLICT DO NOTHING
"""

MESSAGES_SQL = """
INSERT INTO cases_casemessage (case_id, thread, author_id, body, created_at)
SELECT c.id, 'coordinator', CASE WHEN n = 1 THEN c.family_id ELSE %(coordinator)s END,
       CASE WHEN n = 1 THEN 'Is there anything else you need from us?'
            ELSE 'Thank you, we have everything for now.' END,
       c.submitted_at + make_interval(hours => n)
FROM cases_case AS c, generate_series(1, 2) AS n
WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.submitted_at IS NOT NULL
"""


def big_family_and_coordinator() -> tuple[int, int]:
    big, _ = User.objects.get_or_create(
        email=BIG_FAMILY_EMAIL, defaults={"role": Role.FAMILY, "full_name": "Pat Manycases"}
    )
    EmailAddress.objects.get_or_create(
        user=big, email=BIG_FAMILY_EMAIL, defaults={"verified": True, "primary": True}
    )
    coordinator, _ = User.objects.get_or_create(
        email="bench-queue-coordinator@example.org",
        defaults={"role": Role.COORDINATOR, "full_name": "Bench Coordinator"},
    )
    return big.pk, coordinator.pk
