"""Side-by-side request benchmarks of the portal under gunicorn on PostgreSQL.

``python -m benchmarks.run`` (``make bench``); see benchmarks/README.md.
"""
