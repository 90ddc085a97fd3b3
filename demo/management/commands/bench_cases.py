"""Fills a benchmark database with realistic cases, fast: ``manage.py bench_cases 100000 --yes``.

The coordinator queue has to stay quick at a million cases, and that can only be measured
on a table that size. The rows are made in PostgreSQL itself (``INSERT … SELECT`` over
``generate_series``), batch by batch, because creating them through the ORM would take
hours at that size; each batch is one transaction, so an interrupted run leaves whole
cases and the next run tops up from there.

``total`` is the number of cases the table should hold afterwards (cases already there
count, whoever made them), so ``bench_cases 1000`` then ``bench_cases 100000`` grow one
table. What each case gets, as the app would leave it:

- a family account of its own pool (about three requests per family, so an email search
  finds a handful of rows at any size) and a local physician's email from a pool of 2,000;
- an ``Intake`` with the child's legal name, date of birth, sex, state of residence (an
  eligible one), address, guardian and physician;
- a status spread over the lifecycle, most cases old and closed, as in a service that has
  run for years; the timestamps that status implies (submitted, assigned, records
  complete), a specialist from a pool of 40 once assigned, and a due date: past for
  finished cases, around now for open ones, so that some are overdue and some at risk;
- the "submitted" timeline event and a billing row for every case past draft;
- one case in 500 belongs to one large family (``BIG_FAMILY_EMAIL``, 200 requests at
  100,000 cases): the family dashboard's worst case;
- one case in ten has a second guardian invited, the family of the next three cases, so
  most families also see a case they do not own (the access gate's second branch);
- two messages in the coordinator thread (the family's, then the answer) and five rows of
  the access log (the family's views) for every case past draft.

It refuses any database whose name does not contain "bench", and runs only with --yes.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from accounts.models import Role, Specialty, User
from cases.models import Case, Status
from intake.models import StateEligibility

S = Status

FAMILY_EMAIL = "bench-queue-family-{}@example.org"
SPECIALIST_EMAIL = "bench-queue-specialist-{}@example.org"
SPECIALISTS = 40
PHYSICIANS = 2_000
CASES_PER_FAMILY = 3
BIG_FAMILY_EMAIL = "bench-big-family@example.org"
BIG_FAMILY_EVERY = 500
AUDIT_ROWS_PER_CASE = 5
BATCH = 50_000

# Per 100 cases. A service that has run for years: most requests are long finished.
STATUS_MIX: tuple[tuple[str, int], ...] = (
    (S.CLOSED, 42),
    (S.DELIVERED, 8),
    (S.DRAFT, 10),
    (S.SUBMITTED, 4),
    (S.IN_TRIAGE, 5),
    (S.AWAITING_RECORDS, 5),
    (S.DECLINED, 2),
    (S.AWAITING_FAMILY_CONFIRMATION, 3),
    (S.WITHDRAWN, 3),
    (S.PAYMENT_NEEDED, 1),
    (S.ASSIGNED, 6),
    (S.IN_REVIEW, 8),
    (S.REPORT_FINAL, 1),
    (S.ON_HOLD, 2),
)
# Where the specialist has the case, or had it.
ASSIGNED_STATES = (S.ASSIGNED, S.IN_REVIEW, S.ON_HOLD, S.REPORT_FINAL, S.DELIVERED, S.CLOSED)
OPEN_CLOCK_STATES = (S.ASSIGNED, S.IN_REVIEW, S.ON_HOLD)
PAID_STATES = (S.ASSIGNED, S.IN_REVIEW, S.REPORT_FINAL, S.DELIVERED, S.CLOSED, S.ON_HOLD)

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Sophia",
    "Elijah",
    "Charlotte",
    "James",
    "Ava",
    "Mateo",
    "Isabella",
    "Lucas",
    "Mia",
    "Levi",
    "Evelyn",
    "Ezra",
    "Harper",
    "Asher",
    "Luna",
    "Leo",
    "Camila",
    "Jack",
    "Gianna",
    "Benjamin",
    "Sofia",
    "Henry",
    "Aria",
    "Michael",
    "Scarlett",
    "Daniel",
    "Ella",
    "Sebastian",
    "Nora",
    "Ethan",
    "Chloe",
    "Owen",
    "Layla",
    "Samuel",
    "Zoe",
    "Aiden",
    "Riley",
    "Jackson",
    "Lily",
    "Luca",
    "Hazel",
    "Maya",
    "Omar",
    "Aaliyah",
    "Kai",
    "Priya",
    "Diego",
    "Mei",
    "Ravi",
    "Fatima",
    "Yusuf",
    "Ana",
    "Jamal",
    "Keisha",
    "Hiro",
    "Lena",
    "Marcus",
    "Ruby",
    "Tomas",
    "Ines",
    "Andre",
    "Nia",
    "Arjun",
    "Leila",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Okafor",
    "Haddad",
    "Kowalski",
    "Nakamura",
    "Schmidt",
    "Rossi",
    "Novak",
    "Silva",
    "Chen",
    "Singh",
    "Cohen",
    "Ali",
    "Khan",
]
CITIES = ("Seattle", "Portland", "Denver", "Austin", "Chicago", "Boston", "Miami", "Phoenix")
DIAGNOSES = (
    "Ventricular septal defect found on echocardiogram.",
    "Recurrent seizures despite two medications.",
    "Scoliosis, 35 degrees, progressing.",
    "Persistent proteinuria; kidney biopsy recommended.",
    "Mass on abdominal ultrasound, biopsy pending.",
    "Poor growth and short stature.",
)

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _status_case_sql() -> str:
    """A CASE expression mapping ``bucket`` (0 to 99) to a status by STATUS_MIX."""
    if sum(weight for _, weight in STATUS_MIX) != 100:
        raise ValueError("STATUS_MIX is a share of 100 cases: its weights must add up to 100.")
    parts, upto = [], 0
    for status, weight in STATUS_MIX:
        upto += weight
        parts.append(f"WHEN bucket < {upto} THEN '{status}'")
    return "CASE " + " ".join(parts) + " END"


def _in(states: tuple[str, ...]) -> str:
    return "(" + ",".join(f"'{s}'" for s in states) + ")"


# A bijection of 40-bit integers that scatters consecutive numbers (xor-shifts and odd
# multipliers modulo 2^40; the multipliers are small enough that no product overflows a
# bigint). References made from it are unique, and every other choice hashes from it.
MIX_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.bench_mix(x bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT x3 # (x3 >> 21) FROM (
        SELECT ((x2 # (x2 >> 19)) * 4194319) & 1099511627775 AS x3 FROM (
            SELECT ((x1 # (x1 >> 17)) * 5654317) & 1099511627775 AS x2 FROM (
                SELECT x & 1099511627775 AS x1
            ) AS a
        ) AS b
    ) AS c
$$
"""

# One batch: the families the batch needs, the cases, then their intakes, events and billing.
# ``i`` numbers the cases the command makes (1, 2, …), stable across runs, so that reruns
# and growing the table never repeat a reference. ``bench_mix(i)`` spreads references over
# the alphabet as random ones are, and drives every other choice, so two runs make the same
# data.
FAMILIES_SQL = """
INSERT INTO accounts_user
    (password, is_superuser, email, full_name, role, is_active, is_staff, date_joined)
SELECT '!', false, replace(%(family_email)s, '{}', f::text),
       'Parent ' || f::text, 'family', true, false, now()
FROM generate_series(%(lo)s / %(per_family)s, %(hi)s / %(per_family)s) AS f
ON CONFLICT DO NOTHING
"""

# MATERIALIZED: bench_mix is a SQL function with subqueries, which PostgreSQL does not
# inline; without it the CTE is folded into its uses and the function runs once for every
# mention of ``h`` (about 4 ms a case instead of a few µs).
CASES_SQL = """
WITH numbered AS MATERIALIZED (
    SELECT i, pg_temp.bench_mix(i) AS h FROM generate_series(%(lo)s, %(hi)s) AS i
), chosen AS (
    SELECT i, h, (h >> 7) %% 100 AS bucket,
           now() - make_interval(secs => ((h >> 13) %% (3 * 365 * 86400))::double precision)
               AS created
    FROM numbered
), rows AS (
    SELECT chosen.*, {status_case} AS status FROM chosen
), inserted AS (
    INSERT INTO cases_case (
        reference, status, status_before_hold, physician_email, created_at, updated_at,
        submitted_at, assigned_specialist_id, created_by_id, family_id, specialty_id,
        assigned_at, clock_alerted, decline_reason, due_at, in_person_requested_at,
        proposal_note, proposed_specialist_id, records_complete_at, review_extension
    )
    SELECT
        'OSO-' || (SELECT string_agg(substr(%(alphabet)s, ((h >> (5 * k)) & 31)::int + 1, 1),
                                      '' ORDER BY k)
                   FROM generate_series(0, 3) AS k)
               || '-' ||
                  (SELECT string_agg(substr(%(alphabet)s, ((h >> (5 * k)) & 31)::int + 1, 1),
                                      '' ORDER BY k)
                   FROM generate_series(4, 7) AS k),
        status,
        CASE WHEN status = 'on_hold' THEN 'in_review' ELSE '' END,
        'dr' || (h %% %(physicians)s)::text || '@bench-physicians.example.org',
        -- open cases are recent; the rest keep their spread over three years
        CASE WHEN status IN {open_states} THEN now() - interval '20 days' + (created - now()) / 60
             ELSE created END,
        -- last touched: now for work in progress, weeks after it started for the rest
        CASE WHEN status IN {still_open} THEN now()
             ELSE LEAST(now(), created + interval '25 days') END,
        CASE WHEN status = 'draft' THEN NULL
             WHEN status IN {open_states}
                 THEN now() - interval '19 days' + (created - now()) / 60
             ELSE created + interval '1 day' END,
        CASE WHEN status IN {assigned_states}
             THEN (%(specialists)s::bigint[])
                  [1 + (h >> 3) %% array_length(%(specialists)s::bigint[], 1)] END,
        u.id, u.id,
        (%(specialties)s::bigint[])
            [1 + (h >> 17) %% array_length(%(specialties)s::bigint[], 1)],
        CASE WHEN status IN {assigned_states} THEN
            CASE WHEN status IN {open_states}
                 THEN now() - interval '12 days' + (created - now()) / 60
                 ELSE created + interval '5 days' END END,
        '', '',
        -- open clocks due from 5 days ago to 15 days ahead: overdue, at risk and on track
        CASE WHEN status IN {open_states}
                 THEN now() + make_interval(hours => ((h >> 21) %% 480)::int - 120)
             WHEN status IN {assigned_states} THEN created + interval '19 days' END,
        NULL, '', NULL,
        CASE WHEN status IN {assigned_states} THEN created + interval '4 days' END,
        (h >> 29) %% 7 = 0
    FROM rows
    JOIN accounts_user AS u
      ON u.email = replace(%(family_email)s, '{{}}', (rows.i / %(per_family)s)::text)
    ORDER BY i
    RETURNING id
)
SELECT min(id), max(id), count(*) FROM inserted
"""

INTAKES_SQL = """
WITH made AS (
INSERT INTO intake_intake (
    current_step, started_by_physician, not_urgent_attested_at, english_acknowledged,
    child_legal_first_name, child_legal_last_name, child_preferred_name, child_date_of_birth,
    child_sex, address_line1, address_line2, address_city, address_state, address_zip,
    guardian_name, guardian_relationship, guardian_phone, guardian_attested_at,
    physician_name, physician_phone, physician_practice, physician_specialty,
    physician_licence_state, diagnosis, recommended_treatment, tried_so_far,
    preferred_specialist_text, records_from_physician, mailing_imaging_cd,
    mailing_pathology_slides, terms_accepted_at, records_use_authorised_at,
    no_relationship_acknowledged_at, updated_at, case_id, preferred_specialist_id, residence_id
)
SELECT
    CASE WHEN c.status = 'draft' THEN 'child' ELSE 'review' END,
    h %% 10 = 0, c.created_at, true,
    (%(first)s::text[])[1 + (h >> 3) %% array_length(%(first)s::text[], 1)],
    (%(last)s::text[])[1 + (h >> 11) %% array_length(%(last)s::text[], 1)],
    '',
    (c.created_at - make_interval(days => 200 + ((h >> 19) %% 6000)::int))::date,
    CASE WHEN h %% 2 = 0 THEN 'female' ELSE 'male' END,
    (100 + h %% 9000)::text || ' Pine Street', '',
    (%(cities)s::text[])[1 + (h >> 5) %% array_length(%(cities)s::text[], 1)],
    state, lpad(((h >> 9) %% 99999)::text, 5, '0'),
    'Parent ' || c.family_id::text, 'parent', '206-555-0100', c.created_at,
    'Dr. Sam Rivera', '206-555-0199', 'Community Pediatrics', 'Pediatrics', state,
    (%(diagnoses)s::text[])[1 + (h >> 23) %% array_length(%(diagnoses)s::text[], 1)],
    'Surgery within six months.', 'Medication for a year.',
    '', h %% 3 = 0, h %% 11 = 0, h %% 37 = 0,
    c.submitted_at, c.submitted_at, c.submitted_at, now(), c.id, NULL, state
FROM (
    SELECT c.*, pg_temp.bench_mix(c.id + 1000000007) AS h,
           (%(states)s::text[])[1 + (c.id * 40503) %% array_length(%(states)s::text[], 1)] AS state
    FROM cases_case AS c
    WHERE c.id BETWEEN %(lo)s AND %(hi)s
    -- OFFSET 0 keeps this subquery whole, so bench_mix runs once a row (see CASES_SQL)
    OFFSET 0
) AS c
WHERE NOT EXISTS (SELECT 1 FROM intake_intake AS x WHERE x.case_id = c.id)
RETURNING case_id, child_legal_first_name, child_legal_last_name
)
-- the case's copy of the child's name, which the queue shows and searches (Intake.save)
UPDATE cases_case AS c
SET child_first_name = made.child_legal_first_name, child_last_name = made.child_legal_last_name
FROM made WHERE c.id = made.case_id
"""

EVENTS_SQL = """
INSERT INTO cases_timelineevent (at, kind, from_status, to_status, note, actor_id, case_id)
SELECT c.submitted_at, 'status', 'draft', 'submitted', '', c.family_id, c.id
FROM cases_case AS c
WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.submitted_at IS NOT NULL
"""

BILLING_SQL = """
INSERT INTO billing_casebilling (
    fee_cents, fee_fixed_at, state, setup_intent_id, payment_method_id, card_brand, card_last4,
    paid_cents, refunded_cents, paid_at, cpt_codes, icd10_codes, updated_at, case_id, fee_id,
    customer_id
)
SELECT
    87500, c.submitted_at,
    CASE WHEN c.status IN {paid_states} THEN 'paid'
         WHEN c.status = 'payment_needed' THEN 'payment_needed'
         ELSE 'card_saved' END,
    NULL, 'pm_bench', 'visa', '4242',
    CASE WHEN c.status IN {paid_states} THEN 87500 ELSE 0 END, 0,
    CASE WHEN c.status IN {paid_states} THEN c.assigned_at END,
    '', '', now(), c.id, NULL, NULL
FROM cases_case AS c
WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.status <> 'draft'
  AND NOT EXISTS (SELECT 1 FROM billing_casebilling AS b WHERE b.case_id = c.id)
"""

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

AUDIT_SELECT = """
SELECT c.submitted_at + make_interval(hours => n) AS at, c.family_id AS user_id, c.id AS case_id,
       c.reference AS object_id
FROM cases_case AS c, generate_series(1, %(audit_rows)s) AS n
WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.submitted_at IS NOT NULL
"""

AUDIT_INSERT_SQL = (
    """
INSERT INTO cases_accessevent
    (at, user_id, role, case_id, object_type, object_id, action, outcome, ip, request_id)
SELECT at, user_id, 'family', case_id, 'case', object_id, 'view', 'allowed', '127.0.0.1', ''
FROM ("""
    + AUDIT_SELECT
    + """) AS audit"""
)

# The access log is hash-chained: the table's trigger (cases migration 0008) reads and
# updates the chain's head row for every row inserted. Millions of rows that way update the
# same 16 head rows millions of times in one transaction, each update leaving a dead
# version the next lookup walks past: a batch of 250,000 rows took many minutes. This does
# what the trigger does, once per batch: the heads read once, every row's seq, prev_hash and
# row_hash computed in order (the same content string as the trigger and
# cases.audit_chain.content_hash, so manage.py audit_verify accepts the rows), one INSERT,
# the heads written once. It runs with the table's triggers off (session_replication_role),
# so it needs a superuser, as the benchmarks' PostgreSQL role is.
AUDIT_CHAIN_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.bench_audit(rows_sql text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    seqs bigint[] := array_fill(0::bigint, ARRAY[16]);
    hashes text[] := array_fill(''::text, ARRAY[16]);
    head record;
    r record;
    k int;
    ch int;
    made bigint := 0;
    a_at timestamptz[] := '{}';
    a_user bigint[] := '{}';
    a_case bigint[] := '{}';
    a_obj text[] := '{}';
    a_chain smallint[] := '{}';
    a_seq bigint[] := '{}';
    a_prev text[] := '{}';
    a_hash text[] := '{}';
BEGIN
    FOR head IN SELECT chain, seq, last_hash FROM cases_auditchainhead ORDER BY chain FOR UPDATE
    LOOP
        seqs[head.chain + 1] := head.seq;
        hashes[head.chain + 1] := head.last_hash;
    END LOOP;
    FOR r IN EXECUTE rows_sql LOOP
        ch := mod(r.case_id, 16);
        k := ch + 1;
        made := made + 1;
        a_at[made] := r.at;
        a_user[made] := r.user_id;
        a_case[made] := r.case_id;
        a_obj[made] := r.object_id;
        a_chain[made] := ch;
        a_prev[made] := hashes[k];
        seqs[k] := seqs[k] + 1;
        a_seq[made] := seqs[k];
        hashes[k] := encode(sha256(convert_to(concat_ws(chr(31),
            ch::text, seqs[k]::text, a_prev[made],
            to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
            r.user_id::text, 'family', r.case_id::text, 'case', r.object_id, 'view',
            'allowed', '127.0.0.1', ''), 'UTF8')), 'hex');
        a_hash[made] := hashes[k];
    END LOOP;
    INSERT INTO cases_accessevent (at, user_id, role, case_id, object_type, object_id, action,
                                   outcome, ip, request_id, chain, seq, prev_hash, row_hash)
    SELECT at, user_id, 'family', case_id, 'case', object_id, 'view', 'allowed',
           '127.0.0.1', '', chain, seq, prev, hash
    FROM unnest(a_at, a_user, a_case, a_obj, a_chain, a_seq, a_prev, a_hash)
        AS t(at, user_id, case_id, object_id, chain, seq, prev, hash);
    FOR k IN 1..16 LOOP
        IF seqs[k] > 0 THEN
            INSERT INTO cases_auditchainhead (chain, seq, last_hash)
            VALUES (k - 1, seqs[k], hashes[k])
            ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, last_hash = EXCLUDED.last_hash;
        END IF;
    END LOOP;
    RETURN made;
END;
$$
"""


def _big_family_and_coordinator() -> tuple[int, int]:
    from allauth.account.models import EmailAddress

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


def _made_so_far() -> int:
    """How many cases earlier runs of this command made (their families say so)."""
    # By who made them: the cases moved to the large family keep their maker.
    return Case.objects.filter(created_by__email__startswith="bench-queue-family-").count()


def _specialists() -> list[int]:
    ids = []
    for n in range(SPECIALISTS):
        user, _ = User.objects.get_or_create(
            email=SPECIALIST_EMAIL.format(n),
            defaults={"role": Role.SPECIALIST, "full_name": f"Dr. Bench Specialist {n}"},
        )
        ids.append(user.pk)
    return ids


# A service's work in progress does not grow with its history: only the newest OPEN_WINDOW
# cases made here keep an open status from STATUS_MIX; older ones have long been finished
# (closed once a specialist had them, withdrawn before). Without this, 16 % of every case
# ever made stayed open, so a specialist of the pool of 40 had 4,000 open cases at a
# million and "My cases", which lists all of them, grew with the table as no real one does.
OPEN_WINDOW = 1_000
STILL_OPEN = (
    S.SUBMITTED,
    S.IN_TRIAGE,
    S.AWAITING_RECORDS,
    S.AWAITING_FAMILY_CONFIRMATION,
    S.PAYMENT_NEEDED,
    S.ASSIGNED,
    S.IN_REVIEW,
    S.ON_HOLD,
    S.REPORT_FINAL,
)
FINISH_OLD_WORK_SQL = """
UPDATE cases_case AS c SET
    status = CASE WHEN c.assigned_at IS NOT NULL THEN 'closed' ELSE 'withdrawn' END,
    status_before_hold = '',
    due_at = CASE WHEN c.assigned_at IS NOT NULL THEN c.assigned_at + interval '14 days' END
WHERE c.status IN {still_open}
  AND c.created_by_id IN (SELECT id FROM accounts_user WHERE email LIKE 'bench-queue-family-%%')
  AND c.id < (SELECT max(id) FROM cases_case) - %(window)s
"""
# CASES_SQL dates open cases in the last three weeks; once finished above, a case is moved
# back to when it would have run (100 to 1,000 days ago, every date by the same shift), or
# a specialist would have thousands of cases "finished in the last 90 days".
AGE_FINISHED_SQL = """
UPDATE cases_case AS c SET
    created_at = c.created_at - make_interval(days => 100 + (c.id %% 900)::int),
    submitted_at = c.submitted_at - make_interval(days => 100 + (c.id %% 900)::int),
    assigned_at = c.assigned_at - make_interval(days => 100 + (c.id %% 900)::int),
    records_complete_at = c.records_complete_at - make_interval(days => 100 + (c.id %% 900)::int),
    due_at = c.due_at - make_interval(days => 100 + (c.id %% 900)::int),
    updated_at = LEAST(
        now(), c.created_at - make_interval(days => 100 + (c.id %% 900)::int) + interval '25 days'
    )
WHERE c.status IN ('closed', 'withdrawn')
  AND c.created_at > now() - interval '30 days'
  AND c.created_by_id IN (SELECT id FROM accounts_user WHERE email LIKE 'bench-queue-family-%%')
  AND c.id < (SELECT max(id) FROM cases_case) - %(window)s
"""
# A finished case was last touched weeks after it started, not today: "My cases" lists the
# specialist's cases finished in the last 90 days by ``updated_at``, and with every row
# touched "now" it read all of them (15,000 at a million). Tables made before this fix get
# it here once; CASES_SQL now writes it so.
LAST_TOUCHED_SQL = """
UPDATE cases_case AS c SET updated_at = LEAST(now(), c.created_at + interval '25 days')
WHERE c.status NOT IN {still_open}
  AND c.updated_at > LEAST(now(), c.created_at + interval '25 days') + interval '1 minute'
  AND c.created_by_id IN (SELECT id FROM accounts_user WHERE email LIKE 'bench-queue-family-%%')
"""


class Steps:
    """Runs a batch's statements and keeps how long each took (shown with -v 2)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.seconds: dict[str, float] = {}

    def run(self, name: str, sql: str, params: Any) -> None:
        began = time.monotonic()
        self.cursor.execute(sql, params)
        self.seconds[name] = time.monotonic() - began

    def timings(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())


class Command(BaseCommand):
    help = (
        "Fill a benchmark database with realistic cases until it holds TOTAL: "
        "bench_cases 100000 --yes. Refuses a database whose name lacks 'bench'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("total", type=int, help="cases the table should hold afterwards")
        parser.add_argument(
            "--yes", action="store_true", help="really write to this (benchmark) database"
        )
        parser.add_argument("--batch", type=int, default=BATCH, help="cases per transaction")

    def _finish_old_work(self) -> None:
        """Finish the open cases older than the newest OPEN_WINDOW (see there)."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                FINISH_OLD_WORK_SQL.format(still_open=_in(STILL_OPEN)), {"window": OPEN_WINDOW}
            )
            finished = cursor.rowcount
            cursor.execute(AGE_FINISHED_SQL, {"window": OPEN_WINDOW})
            cursor.execute(LAST_TOUCHED_SQL.format(still_open=_in(STILL_OPEN)))
            if finished or cursor.rowcount:
                self.stdout.write(
                    f"  {finished:,} older open cases finished, "
                    f"{cursor.rowcount:,} finished ones dated back"
                )
                cursor.execute("ANALYZE cases_case")

    def handle(self, *args: Any, total: int, yes: bool, batch: int, **options: Any) -> None:
        verbosity = options.get("verbosity", 1)
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "postgresql":
            raise CommandError("bench_cases needs PostgreSQL (it generates rows in SQL).")
        if "bench" not in name.lower():
            raise CommandError(
                f"Refusing to fill {name!r}: only a database whose name contains 'bench'."
            )
        if not yes:
            raise CommandError(f"This adds up to {total:,} cases to {name!r}; add --yes.")
        if batch <= 0:
            raise CommandError("--batch must be positive.")
        missing = total - Case.objects.count()
        if missing <= 0:
            self.stdout.write(f"{name} already holds {Case.objects.count():,} cases.")
            self._finish_old_work()
            return
        specialties = list(
            Specialty.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
        )
        if not specialties:
            raise CommandError("No active specialties: migrate first.")
        states = list(
            StateEligibility.objects.filter(is_available=True)
            .exclude(code=StateEligibility.OUTSIDE_US)
            .order_by("code")
            .values_list("code", flat=True)
        )
        fixed: dict[str, Any] = {
            "family_email": FAMILY_EMAIL,
            "per_family": CASES_PER_FAMILY,
            "alphabet": REFERENCE_ALPHABET,
            "physicians": PHYSICIANS,
            "specialists": _specialists(),
            "specialties": specialties,
            "first": FIRST_NAMES,
            "last": LAST_NAMES,
            "cities": list(CITIES),
            "diagnoses": list(DIAGNOSES),
            "states": states,
            "every": BIG_FAMILY_EVERY,
            "audit_rows": AUDIT_ROWS_PER_CASE,
        }
        fixed["big"], fixed["coordinator"] = _big_family_and_coordinator()
        open_states, assigned = _in(OPEN_CLOCK_STATES), _in(ASSIGNED_STATES)
        cases_sql = CASES_SQL.format(
            status_case=_status_case_sql(),
            open_states=open_states,
            assigned_states=assigned,
            still_open=_in(STILL_OPEN),
        )
        billing_sql = BILLING_SQL.format(paid_states=_in(PAID_STATES))
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            (superuser,) = cursor.fetchone()
        if not superuser:
            self.stdout.write(
                "Not a superuser: the access log's rows go through its chain trigger, slowly."
            )
        start = _made_so_far() + 1
        end = start + missing - 1
        began = time.monotonic()
        self.stdout.write(f"Adding {missing:,} cases to {name} in batches of {batch:,}")
        for lo in range(start, end + 1, batch):
            hi = min(lo + batch - 1, end)
            with transaction.atomic(), connection.cursor() as cursor:
                # Rows nobody waits for: a crash loses at most the batch, which a rerun
                # makes again.
                cursor.execute("SET LOCAL synchronous_commit TO off")
                if superuser:
                    # The rows are made consistent by construction; the foreign keys'
                    # per-row checks (deferred to each commit) and the audit chain's
                    # per-row trigger would cost more than the inserts (see
                    # AUDIT_CHAIN_SQL, which keeps the chain).
                    cursor.execute("SET LOCAL session_replication_role TO replica")
                cursor.execute(MIX_SQL)
                cursor.execute(AUDIT_CHAIN_SQL)
                params = {**fixed, "lo": lo, "hi": hi}
                steps = Steps(cursor)
                steps.run("families", FAMILIES_SQL, params)
                steps.run("cases", cases_sql, params)
                first_id, last_id, _made = cursor.fetchone()
                ids = {**fixed, "lo": first_id, "hi": last_id}
                steps.run("intakes", INTAKES_SQL, ids)
                steps.run("events", EVENTS_SQL, ids)
                steps.run("billing", billing_sql, ids)
                steps.run("big family", BIG_FAMILY_SQL, ids)
                steps.run("invitations", INVITES_SQL, ids)
                steps.run("messages", MESSAGES_SQL, ids)
                if superuser:
                    audit_rows = cursor.mogrify(AUDIT_SELECT, ids)
                    steps.run("audit", "SELECT pg_temp.bench_audit(%s)", [audit_rows])
                else:
                    steps.run("audit", AUDIT_INSERT_SQL, ids)
            if verbosity > 1:
                self.stdout.write("    " + steps.timings())
            elapsed = time.monotonic() - began
            self.stdout.write(f"  {hi - start + 1:,} of {missing:,} ({elapsed:.0f} s)")
        self._finish_old_work()
        with connection.cursor() as cursor:
            # Fresh statistics, so the planner (and the queue's row-count estimate) sees the
            # table as it now is rather than as autovacuum last left it.
            for table in (
                "accounts_user",
                "cases_case",
                "intake_intake",
                "cases_timelineevent",
                "cases_casemember",
                "cases_casemessage",
                "cases_accessevent",
            ):
                cursor.execute(f"ANALYZE {table}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{name} now holds {Case.objects.count():,} cases "
                f"({time.monotonic() - began:.0f} s)."
            )
        )
