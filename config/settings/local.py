"""The embedded local stack that ``make run`` serves."""

import os

# `make run` starts an S3 stand-in (moto) on loopback and exports its URL: keep records and
# reports in a bucket there, so the large-file uploader (browser straight to S3) works as in
# production. base.py reads these when it is imported, hence before the import below.
if os.environ.get("AWS_S3_ENDPOINT_URL", "").startswith(("http://127.0.0.1", "http://localhost")):
    os.environ.setdefault("AWS_STORAGE_BUCKET_NAME", "second-opinion-local")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

from .base import *  # noqa: F403

DEBUG = True

# Static files as production serves them: `make run` runs collectstatic, and WhiteNoise sends
# the gzip/Brotli copies it made from STATIC_ROOT (a family page: under 120 KB, was ~250 KB).
# With DEBUG on, the file names stay unhashed, so a forgotten collectstatic is not a crash.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
# No clamd under make run: records are passed unscanned and every list of records says so
# ("Not scanned — development"). Production settings refuse this mode.
SCANNER = "development"
