"""The SQL for the cases and what each case holds of its own: the family accounts, the case
rows (``CASES_SQL``, the one ``INSERT INTO cases_case``), the intakes, the "submitted"
timeline event, the billing row, and the finishing of old open work.

Every statement takes the batch's parameters (see ``batches.batch_params``).
"""

from accounts.models import Role, User
from cases.models import Case
from demo.bench.pools import (
    ASSIGNED_STATES,
    OPEN_CLOCK_STATES,
    PAID_STATES,
    SPECIALIST_EMAIL,
    SPECIALISTS,
    STILL_OPEN,
    sql_in,
    status_case_sql,
)

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
# ``i`` numbers the cases bench_cases makes (1, 2, …), stable across runs, so that reruns
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


def cases_sql() -> str:
    """CASES_SQL with the status mix and the status lists filled in."""
    return CASES_SQL.format(
        status_case=status_case_sql(),
        open_states=sql_in(OPEN_CLOCK_STATES),
        assigned_states=sql_in(ASSIGNED_STATES),
        still_open=sql_in(STILL_OPEN),
    )


def billing_sql() -> str:
    return BILLING_SQL.format(paid_states=sql_in(PAID_STATES))


# Finishing old work (see pools.OPEN_WINDOW), run after the batches and on every rerun.
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


def made_so_far() -> int:
    """How many cases earlier runs of bench_cases made (their families say so)."""
    # By who made them: the cases moved to the large family keep their maker.
    return Case.objects.filter(created_by__email__startswith="bench-queue-family-").count()


def specialists() -> list[int]:
    ids = []
    for n in range(SPECIALISTS):
        user, _ = User.objects.get_or_create(
            email=SPECIALIST_EMAIL.format(n),
            defaults={"role": Role.SPECIALIST, "full_name": f"Dr. Bench Specialist {n}"},
        )
        ids.append(user.pk)
    return ids
