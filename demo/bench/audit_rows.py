"""The access log's rows for the benchmark cases (the family's views of each case), and the
writer that keeps the log's hash chain a batch at a time."""

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
# cases.audit_hash.content_hash, so manage.py audit_verify accepts the rows), one INSERT,
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
