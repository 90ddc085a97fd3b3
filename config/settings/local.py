"""The embedded local stack that ``make run`` serves."""

from .base import *  # noqa: F403

DEBUG = True

# No clamd under make run: records are passed unscanned and every list of records says so
# ("Not scanned — development"). Production settings refuse this mode.
SCANNER = "development"
