"""Make the records bucket ready for the large-file uploader; safe to run repeatedly.

- creates the bucket when it does not exist (development and CI; production buckets are
  normally made by the infrastructure, and then this step does nothing);
- blocks every form of public access;
- encrypts new objects by default (SSE-S3, AES256);
- lets the portal's pages PUT parts straight to the bucket (CORS from SITE_URL and the
  origins in CORS_EXTRA_ORIGINS, exposing the ETag header the uploader needs);
- drops multipart uploads nobody finished after a few days, so abandoned parts do not pile up.
"""

from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.settings.env import env_list
from intake.records import _storage_client_and_bucket

LIFECYCLE_RULE_ID = "abort-incomplete-record-uploads"


def origin(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"Not an http(s) origin: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


class Command(BaseCommand):
    help = (
        "Create the records bucket if missing, block public access, turn on default "
        "encryption, and allow the portal's origin to upload parts (CORS). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-create",
            action="store_true",
            help="Fail instead of creating the bucket when it does not exist.",
        )
        parser.add_argument(
            "--abort-incomplete-after-days",
            type=int,
            default=7,
            help="Days after which S3 drops a multipart upload nobody completed (default 7).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client_object, bucket = _storage_client_and_bucket()
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        client: Any = client_object
        if options["abort_incomplete_after_days"] < 1:
            raise CommandError("--abort-incomplete-after-days must be at least 1.")
        origins = sorted({origin(settings.SITE_URL), *map(origin, env_list("CORS_EXTRA_ORIGINS"))})

        self._ensure_bucket(client, bucket, create=not options["no_create"])
        client.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        client.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        client.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": origins,
                        "AllowedMethods": ["PUT", "GET", "HEAD"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": 3000,
                    }
                ]
            },
        )
        self._ensure_lifecycle(client, bucket, days=options["abort_incomplete_after_days"])
        self.stdout.write(
            f"Bucket {bucket}: private, encrypted (AES256), uploads allowed from "
            f"{', '.join(origins)}; unfinished uploads dropped after "
            f"{options['abort_incomplete_after_days']} days."
        )

    def _ensure_bucket(self, client: Any, bucket: str, *, create: bool) -> None:
        try:
            client.head_bucket(Bucket=bucket)
            return
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise
        if not create:
            raise CommandError(f"The bucket {bucket} does not exist.")
        region = client.meta.region_name
        if region and region != "us-east-1":
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
        else:
            client.create_bucket(Bucket=bucket)
        self.stdout.write(f"Created bucket {bucket}.")

    def _ensure_lifecycle(self, client: Any, bucket: str, *, days: int) -> None:
        """Add (or update) our rule, keeping any other lifecycle rules already there."""
        try:
            rules = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        rules = [rule for rule in rules if rule.get("ID") != LIFECYCLE_RULE_ID]
        rules.append(
            {
                "ID": LIFECYCLE_RULE_ID,
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
            }
        )
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
