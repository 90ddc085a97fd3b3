"""Large records sent from the browser straight to S3 in parts (intake/upload_views.py).

Real S3 API (a moto server, ``s3_storage``): the test plays the page script's part — it
creates the upload, asks for a presigned URL per part, PUTs each part to S3 itself (never
through Django), lists the stored parts to resume, and completes. The checks after
completion run as the Celery task does (eager, on commit).
"""

import hashlib
import io
import json
import random
import re
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.crypto import get_random_string

from cases.models import AccessEvent, Status
from intake import uploads
from intake.filetypes import MAX_RECORD_BYTES
from intake.models import Record
from tests.conftest import login
from tests.factories import CaseFactory
from tests.intake.uploader import HTTP, Browser, Upload

pytestmark = pytest.mark.s3

MiB = 1024 * 1024
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
HTML_HEAD = b"<!DOCTYPE html>\n<html><head><title>x</title><script>alert(1)</script></head><body>"


@pytest.fixture(autouse=True)
def _no_virus_scanner(settings: Any) -> None:
    # The malware scan after the checks has its own tests; here it stays off.
    settings.CLAMD_HOST = ""


def file_parts(
    total: int, *, head: bytes = PDF_HEAD, tail: bytes = b"", seed: str = "x"
) -> Iterator[bytes]:
    """The parts of a ``total``-byte file, as the browser slices it: pseudo-random bytes
    after ``head`` and ending with ``tail``, generated one part at a time."""
    size = uploads.part_size(total)
    for number in range(1, uploads.part_count(total) + 1):
        start = (number - 1) * size
        length = min(size, total - start)
        data = bytearray(random.Random(f"{seed}:{number}").randbytes(length))
        if start < len(head):
            piece = head[: min(len(head) - start, length)]
            data[: len(piece)] = piece
        if tail and start + length > total - len(tail):
            offset = max(0, total - len(tail) - start)
            data[offset:] = tail[len(tail) - (length - offset) :]
        yield bytes(data)


def stored_keys(s3: dict[str, Any]) -> list[str]:
    listing = s3["client"].list_objects_v2(Bucket=s3["bucket"])
    return [item["Key"] for item in listing.get("Contents", [])]


def multipart_uploads(s3: dict[str, Any]) -> list[str]:
    listing = s3["client"].list_multipart_uploads(Bucket=s3["bucket"])
    return [item["UploadId"] for item in listing.get("Uploads", [])]


@pytest.fixture
def draft(family: Any) -> Any:
    return CaseFactory(family=family, status=Status.DRAFT)


@pytest.fixture
def browser(client: Client, family: Any, draft: Any, s3_storage: dict[str, Any]) -> Browser:
    return Browser(login(client, family), draft.reference)


# --- the whole way -------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_a_200_mb_file_goes_straight_to_s3_and_is_checked_and_hashed(
    browser: Browser, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    total = 200 * MiB + 12_345  # the last part is a short one
    started = time.monotonic()
    upload = browser.create(size=total)
    assert upload.part_size == 16 * MiB and upload.part_count == 13
    # The storage key is random: no name, reference or date in it.
    assert upload.key.startswith("records/") and "MRI" not in upload.key
    assert browser.reference not in upload.key

    digest = hashlib.sha256()
    parts = []
    endpoint = urlsplit(s3_storage["endpoint"]).netloc
    for number, data in enumerate(file_parts(total, seed="big"), start=1):
        digest.update(data)
        url = browser.sign(upload, number)
        # The bytes go to S3, never to Django; the URL is valid for at most 15 minutes and
        # signed for this part's exact length.
        query = parse_qs(urlsplit(url).query)
        assert urlsplit(url).netloc == endpoint
        assert int(query["X-Amz-Expires"][0]) <= 900
        assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
        parts.append({"PartNumber": number, "ETag": browser.put(url, data)})
    uploaded = time.monotonic()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # Completing reads only the object's first bytes in the web process.
        tracemalloc.start()
        response = browser.complete(upload, parts)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert response.status_code == 200, response.content
        assert response.json()["state"] == "verifying"
        assert peak < 16 * MiB, f"completing held {peak / MiB:.1f} MiB"
    assert callbacks  # the hashing task was queued on commit, and ran (eager)

    record = Record.objects.get(uid=upload.uid)
    assert record.state == Record.State.AVAILABLE
    assert record.size == total
    assert record.sha256 == digest.hexdigest()
    assert record.detected_kind == "pdf"
    assert record.multipart_upload_id == ""
    head = s3_storage["client"].head_object(Bucket=s3_storage["bucket"], Key=record.file.name)
    assert head["ContentLength"] == total
    assert head["ServerSideEncryption"] == "AES256"
    assert multipart_uploads(s3_storage) == []
    print(
        f"\n200 MB: upload {uploaded - started:.1f} s, "
        f"complete + hash {time.monotonic() - uploaded:.1f} s"
    )

    status = browser.client.get(upload.urls["status"]).json()
    assert status["state"] == "available" and status["stateLabel"] == "Received"


def test_an_upload_resumes_after_a_dropped_connection(
    browser: Browser, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    total = 2 * 16 * MiB + 3 * MiB
    upload = browser.create(size=total)
    data = list(file_parts(total, seed="resume"))
    # Parts 1 and 3 arrived, then the connection dropped before part 2.
    browser.send_parts(upload, iter(data), only={1, 3})

    listed = browser.list_parts(upload)
    assert listed.status_code == 200
    assert [(p["PartNumber"], p["Size"]) for p in listed.json()] == [(1, 16 * MiB), (3, 3 * MiB)]
    # Completing now is refused and changes nothing: the upload can still be resumed.
    early = browser.complete(upload, listed.json())
    assert early.status_code == 400
    assert "have not arrived" in early.json()["error"]
    assert Record.objects.get(uid=upload.uid).state == Record.State.UPLOADING

    # Back online: send only what the listing lacks, then complete with the listing.
    have = {p["PartNumber"] for p in listed.json()}
    browser.send_parts(upload, iter(data), only={1, 2, 3} - have)
    parts = [
        {"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
        for p in browser.list_parts(upload).json()
    ]
    assert [p["PartNumber"] for p in parts] == [1, 2, 3]
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.complete(upload, parts)
    assert response.status_code == 200, response.content

    record = Record.objects.get(uid=upload.uid)
    assert record.state == Record.State.AVAILABLE
    assert record.sha256 == hashlib.sha256(b"".join(data)).hexdigest()


def test_html_sent_in_parts_is_refused_and_deleted_and_the_family_told(
    browser: Browser,
    s3_storage: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    family: Any,
) -> None:
    total = 16 * MiB + 100_000
    upload = browser.create(size=total, name="report.pdf")
    text = (HTML_HEAD + b"<p>results</p>\n" * (total // 15 + 1))[:total]
    parts = browser.send_parts(upload, iter([text[: 16 * MiB], text[16 * MiB :]]))
    assert len(parts) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.complete(upload, parts)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "rejected" and body["rejectionReason"]

    record = Record.objects.get(uid=upload.uid)
    assert record.state == Record.State.REJECTED
    assert record.rejection_reason == body["rejectionReason"]
    assert record.sha256 == ""
    assert stored_keys(s3_storage) == []  # the object was deleted
    assert multipart_uploads(s3_storage) == []
    assert [m.to for m in mail.outbox] == [[family.email]]


def test_a_file_the_hashing_task_refuses_is_deleted(
    browser: Browser, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # A PDF by its first bytes (so completing accepts it) with a zip directory at its end,
    # which only the full check in the task finds.
    total = 16 * MiB + 1_000
    upload = browser.create(size=total)
    parts = browser.send_parts(upload, file_parts(total, tail=b"PK\x05\x06" + b"\x00" * 18))
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.complete(upload, parts)
    assert response.json()["state"] == "verifying"

    record = Record.objects.get(uid=upload.uid)
    assert record.state == Record.State.REJECTED
    assert "zip" in record.rejection_reason
    assert stored_keys(s3_storage) == []


def test_the_same_file_twice_is_stored_once(
    browser: Browser, s3_storage: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    total = 6 * MiB
    first = browser.create(size=total)
    second = browser.create(size=total, name="copy.pdf")
    for upload in (first, second):
        parts = browser.send_parts(upload, file_parts(total, seed="same"))
        with django_capture_on_commit_callbacks(execute=True):
            assert browser.complete(upload, parts).status_code == 200
    assert Record.objects.get(uid=first.uid).state == Record.State.AVAILABLE
    duplicate = Record.objects.get(uid=second.uid)
    assert duplicate.state == Record.State.REJECTED
    assert "already added" in duplicate.rejection_reason
    assert stored_keys(s3_storage) == [Record.objects.get(uid=first.uid).file.name]


# --- what is refused ---------------------------------------------------------------------


def test_a_declared_size_over_5_gb_is_refused_before_anything_is_stored(
    browser: Browser, s3_storage: dict[str, Any]
) -> None:
    response = browser.create_response(size=MAX_RECORD_BYTES + 1)
    assert response.status_code == 400
    assert "5 GB" in response.json()["error"]
    assert not Record.objects.exists()
    assert multipart_uploads(s3_storage) == []


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"name": "a.pdf", "size": 10, "kind": "poem"}, "Kind"),
        ({"name": "a.pdf", "size": "ten", "kind": "imaging"}, "Size"),
        ({"name": "a.pdf", "size": 0, "kind": "imaging"}, "Size"),
        ({"size": 10, "kind": "imaging"}, "Name"),
        ([1, 2], "could not be read"),
    ],
)
def test_bad_input_is_a_400_with_a_message(browser: Browser, payload: Any, says: str) -> None:
    response = browser.post_json(reverse("uploads:create", args=[browser.reference]), payload)
    assert response.status_code == 400
    assert says.lower() in response.json()["error"].lower()
    assert not Record.objects.exists()


def test_a_body_that_is_not_json_is_a_400(browser: Browser) -> None:
    response = browser.client.post(
        reverse("uploads:create", args=[browser.reference]),
        "{nope",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"error": "The request could not be read."}


def test_part_numbers_outside_the_file_and_stale_upload_ids_are_refused(
    browser: Browser,
) -> None:
    upload = browser.create(size=20 * MiB)  # two parts
    for number in (0, 3):
        response = browser.client.get(
            f"{upload.urls['parts']}{number}/", {"uploadId": upload.upload_id}
        )
        assert response.status_code == 400
        assert "1 to 2" in response.json()["error"]
    stale = browser.client.get(f"{upload.urls['parts']}1/", {"uploadId": "another-upload"})
    assert stale.status_code == 409


def test_a_completed_upload_cannot_be_completed_signed_or_cancelled_again(
    browser: Browser, django_capture_on_commit_callbacks: Any
) -> None:
    upload = browser.create(size=MiB)
    parts = browser.send_parts(upload, file_parts(MiB))
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.complete(upload, parts).status_code == 200
    assert browser.complete(upload, parts).status_code == 409
    assert (
        browser.client.get(f"{upload.urls['parts']}1/", {"uploadId": upload.upload_id}).status_code
        == 409
    )
    assert (
        browser.post_json(upload.urls["abort"], {"uploadId": upload.upload_id}).status_code == 409
    )
    assert Record.objects.get(uid=upload.uid).state == Record.State.AVAILABLE


def test_parts_that_do_not_match_the_stored_ones_are_refused(browser: Browser) -> None:
    upload = browser.create(size=MiB)
    parts = browser.send_parts(upload, file_parts(MiB))
    response = browser.complete(upload, [{"PartNumber": 1, "ETag": '"0000"'}])
    assert response.status_code == 400
    assert Record.objects.get(uid=upload.uid).state == Record.State.UPLOADING
    assert (
        browser.complete(upload, [{"PartNumber": "1", "ETag": parts[0]["ETag"]}]).status_code == 400
    )


# --- cancelling ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "delete"])
def test_cancelling_drops_the_parts_and_the_record(
    browser: Browser, s3_storage: dict[str, Any], method: str
) -> None:
    upload = browser.create(size=20 * MiB)
    browser.send_parts(upload, file_parts(20 * MiB), only={1})
    assert multipart_uploads(s3_storage) == [upload.upload_id]
    response = getattr(browser.client, method)(upload.urls["abort"])
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert not Record.objects.filter(uid=upload.uid).exists()
    assert multipart_uploads(s3_storage) == []
    assert stored_keys(s3_storage) == []
    assert mail.outbox == []  # nobody is told of their own cancellation
    assert browser.client.get(upload.urls["status"]).status_code == 404


# --- who may ---------------------------------------------------------------------------------


def _all_endpoints(upload: Upload, reference: str) -> list[tuple[str, str, Any]]:
    return [
        (
            "post",
            reverse("uploads:create", args=[reference]),
            {"name": "a.pdf", "size": MiB, "kind": "imaging"},
        ),
        ("get", upload.urls["status"], {}),
        ("get", upload.urls["parts"], {"uploadId": upload.upload_id}),
        ("get", f"{upload.urls['parts']}1/", {"uploadId": upload.upload_id}),
        ("post", upload.urls["complete"], {"uploadId": upload.upload_id}),
        ("post", upload.urls["abort"], {"uploadId": upload.upload_id}),
        ("delete", upload.urls["abort"], {}),
    ]


def test_another_family_gets_404_on_every_endpoint_and_is_logged(
    browser: Browser, other_family: Any, s3_storage: dict[str, Any]
) -> None:
    upload = browser.create(size=20 * MiB)
    intruder = login(Client(), other_family)
    for method, url, data in _all_endpoints(upload, browser.reference):
        before = AccessEvent.objects.count()
        response = getattr(intruder, method)(url, data)
        assert response.status_code == 404, (method, url)
        event = AccessEvent.objects.latest("pk")
        assert AccessEvent.objects.count() == before + 1
        assert (event.user, event.object_type, event.outcome) == (
            other_family,
            "record",
            AccessEvent.Outcome.DENIED,
        )
    record = Record.objects.get(uid=upload.uid)
    assert record.state == Record.State.UPLOADING
    assert multipart_uploads(s3_storage) == [upload.upload_id]


def test_anonymous_is_sent_to_sign_in(browser: Browser) -> None:
    upload = browser.create(size=MiB)
    anonymous = Client()
    for method, url, data in _all_endpoints(upload, browser.reference):
        response = getattr(anonymous, method)(url, data)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login"))
    assert Record.objects.get(uid=upload.uid).state == Record.State.UPLOADING


def test_the_physician_and_coordinators_may_upload_specialists_may_not(
    s3_storage: dict[str, Any], family: Any, physician: Any, coordinator: Any, specialist: Any
) -> None:
    # The table's "upload_records": the family, the physician, and a coordinator adding what
    # came by fax or on a CD. The specialist reads, never adds: the gate's audited 404 on
    # every endpoint, the same answer as for a case that does not exist.
    case = CaseFactory(
        family=family,
        physician_email=physician.email,
        assigned_specialist=specialist,
        status=Status.AWAITING_RECORDS,
    )
    for person in (physician, coordinator):
        upload = Browser(login(Client(), person), case.reference).create(size=MiB)
        assert Record.objects.get(uid=upload.uid).uploaded_by == person
    reader = login(Client(), specialist)
    for method, url, data in _all_endpoints(upload, case.reference):
        response = getattr(reader, method)(url, data)
        assert response.status_code == 404, (method, url)
        assert response["Content-Type"].startswith("text/html")  # the gate's page, not JSON
        event = AccessEvent.objects.latest("pk")
        assert (event.user, event.object_type, event.outcome) == (
            specialist,
            "record",
            AccessEvent.Outcome.DENIED,
        )
    assert Record.objects.count() == 2
    assert Record.objects.get(uid=upload.uid).state == Record.State.UPLOADING
    assert upload.upload_id in multipart_uploads(s3_storage)


def test_a_case_that_no_longer_takes_records_answers_409(
    browser: Browser, draft: Any, s3_storage: dict[str, Any]
) -> None:
    upload = browser.create(size=20 * MiB)
    draft.status = Status.ASSIGNED  # moved on while the upload was under way
    draft.save(update_fields=["status"])

    refused = browser.create_response(size=MiB)
    assert refused.status_code == 409
    # The table's refusal, which the uploader shows next to the file.
    assert refused.json() == {"error": "Records can no longer be added to this request."}
    for response in (
        browser.client.get(f"{upload.urls['parts']}1/", {"uploadId": upload.upload_id}),
        browser.list_parts(upload),
        browser.complete(upload, []),
    ):
        assert response.status_code == 409
    # Cancelling is still possible, so nothing is left behind.
    assert browser.post_json(upload.urls["abort"], {}).status_code == 200
    assert multipart_uploads(s3_storage) == []


def test_every_call_is_in_the_access_log_as_a_record(
    browser: Browser, family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    upload = browser.create(size=MiB)
    parts = browser.send_parts(upload, file_parts(MiB))
    browser.list_parts(upload)
    with django_capture_on_commit_callbacks(execute=True):
        browser.complete(upload, parts)
    browser.client.get(upload.urls["status"])
    events = list(AccessEvent.objects.filter(user=family).order_by("pk"))
    assert [(e.object_type, e.action, e.outcome) for e in events] == [
        ("record", "upload", "allowed"),  # create
        ("record", "upload", "allowed"),  # sign part 1
        ("record", "upload", "allowed"),  # list
        ("record", "upload", "allowed"),  # complete
        ("record", "view", "allowed"),  # status
    ]
    assert events[0].object_id == browser.reference
    assert {e.object_id for e in events[1:]} == {upload.uid}
    assert all(e.case.reference == browser.reference for e in events)


def test_state_changing_calls_need_the_csrf_token(browser: Browser, family: Any) -> None:
    strict = login(Client(enforce_csrf_checks=True), family)
    url = reverse("uploads:create", args=[browser.reference])
    body = json.dumps({"name": "a.pdf", "size": MiB, "kind": "imaging"})
    assert strict.post(url, body, content_type="application/json").status_code == 403
    assert not Record.objects.exists()
    # With the token the page renders (the uploader's data-csrf-token), it goes through.
    token = get_random_string(32)
    strict.cookies["csrftoken"] = token
    response = strict.post(
        url, body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201


def test_methods_are_restricted(browser: Browser) -> None:
    upload = browser.create(size=MiB)
    assert (
        browser.client.get(reverse("uploads:create", args=[browser.reference])).status_code == 405
    )
    assert browser.client.post(f"{upload.urls['parts']}1/").status_code == 405
    assert browser.client.get(upload.urls["complete"]).status_code == 405
    assert browser.client.get(upload.urls["abort"]).status_code == 405
    assert browser.client.post(upload.urls["status"]).status_code == 405


# --- the page ------------------------------------------------------------------------------


def test_the_uploader_snippet_carries_what_the_script_needs(rf: Any, family: Any) -> None:
    from django.middleware.csrf import get_token
    from django.template.loader import render_to_string

    from intake.forms import RecordUploadForm

    case = CaseFactory(family=family, status=Status.SUBMITTED)
    request = rf.get("/")
    request.user = family
    get_token(request)
    html = render_to_string(
        "intake/_large_uploader.html",
        {"case": case, "upload_form": RecordUploadForm()},
        request=request,
    )
    assert f'data-create-url="{reverse("uploads:create", args=[case.reference])}"' in html
    assert re.search(r'data-csrf-token="[A-Za-z0-9]{64}"', html)  # a masked CSRF token
    assert f'data-done-url="{reverse("case_detail", args=[case.reference])}"' in html
    assert '<option value="imaging">' in html
    # Scripts only from our own static files, deferred; nothing inline (CSP).
    scripts = [line.strip() for line in html.splitlines() if "<script" in line]
    # Uppy itself is fetched by the script when the file chooser is used (its address is
    # on the section), not with the page.
    assert scripts == ['<script src="/static/js/record-uploader.js" defer></script>']
    assert 'data-uppy-src="/static/vendor/uppy/uppy.min.js"' in html
    assert "style=" not in html and "<style" not in html
    assert 'type="file"' in html and f'for="large-uploader-{case.reference}-input"' in html


# --- the bucket ------------------------------------------------------------------------------


def test_configure_bucket_creates_a_private_encrypted_bucket_with_cors(
    s3_storage: dict[str, Any], settings: Any, monkeypatch: Any
) -> None:
    from django.core.files.storage import storages

    bucket = f"{s3_storage['bucket']}-new"
    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default["OPTIONS"], "bucket_name": bucket}},
    }
    storages._storages = {}
    monkeypatch.setenv("CORS_EXTRA_ORIGINS", "https://portal.example.org")
    client = s3_storage["client"]
    for _ in range(2):  # idempotent
        out = io.StringIO()
        call_command("s3_configure_bucket", stdout=out)
    assert "private, encrypted (AES256)" in out.getvalue()

    cors = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert len(cors) == 1
    assert sorted(cors[0]["AllowedOrigins"]) == ["http://testserver", "https://portal.example.org"]
    assert sorted(cors[0]["AllowedMethods"]) == ["GET", "HEAD", "PUT"]
    assert cors[0]["ExposeHeaders"] == ["ETag"]
    encryption = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] for r in rules] == [7]

    # What the browser asks before PUTting a part from the portal's pages.
    preflight = HTTP.request(
        "OPTIONS",
        f"{s3_storage['endpoint']}/{bucket}/records/abc?partNumber=1&uploadId=x",
        headers={
            "Origin": "http://testserver",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://testserver"
    assert "ETag" in preflight.headers.get("Access-Control-Expose-Headers", "")
    other = HTTP.request(
        "OPTIONS",
        f"{s3_storage['endpoint']}/{bucket}/records/abc?partNumber=1&uploadId=x",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
    )
    assert other.status == 403  # any other origin's page may not send parts
