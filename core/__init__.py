"""Infrastructure with no knowledge of cases: bounded child processes, signed grants."""
