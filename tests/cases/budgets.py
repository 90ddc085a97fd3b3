"""Queries per request of the busiest pages: the goals (issue #12) and what each page makes
now, held exactly by tests/cases/test_page_budgets.py and test_console_case_page.py."""

# The goals (queries per request) and what each page makes now, in a test with two data
# sizes. Where a page is above its goal, the queries left are listed in
# benchmarks/README.md; lower a figure here when a change brings a page down.
GOALS = {
    "family-dashboard": 4,
    "family-case": 8,
    "specialist-case": 8,
    "workspace": 6,
    "console-queue": 6,
    "console-case": 10,
}
# Today's counts, exactly (a page that drops a query lowers its figure here), held
# constant in N. The frame of a signed-in page is one query: the user,
# read with whether they have an authenticator (accounts.backends); the session comes from
# Redis (cached_db) and the verified emails inside the access gate's visibility filter.
# Within their goals, what is left: the family's case page reads the case (its relations
# and its short lists, cases.rows: questions, record requests, guardians, the holds behind
# the date), writes the audit row, then reads reports, records, messages (each thread's
# unread count from the same rows) and history; the specialist's reads the case (with the
# questions and the records they have opened), writes the audit row, then reads reports,
# records and the studies (one list for the study links and the PACS panel).
BUDGETS = {
    "family-dashboard": 2,
    "family-case": 7,
    "specialist-case": 6,
    "workspace": 3,
    # The user (the frame), the bounded count and the page's rows.
    "console-queue": 3,
    # The user (the frame); the case with its joins and, folded in as JSON, its records,
    # record requests and follow-up questions; the reports with who opened each; the
    # timeline (one UNION); the audit row; the studies (imaging and PACS panels).
    "console-case": 6,
}
