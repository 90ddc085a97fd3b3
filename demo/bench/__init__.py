"""The benchmark table behind ``manage.py bench_cases``, made in PostgreSQL a batch at a time.

- ``pools``: who and what the cases draw from (the account pools, the status mix, the
  states each status implies), the constants other code looks rows up by;
- ``names``: the children's names, cities and diagnoses the intakes draw from;
- ``case_rows``: the SQL for the cases (``CASES_SQL``, the one ``INSERT INTO cases_case``),
  their families, intakes, timeline events and billing, and the finishing of old work;
- ``portal_rows``: what a portal page reads beside the case: the large family, the invited
  guardians, the coordinator thread;
- ``audit_rows``: the access log's rows and the writer that keeps its hash chain;
- ``batches``: one batch's statements in order, in one transaction, and the steps around them.
"""
