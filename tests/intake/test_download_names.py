"""A record downloads as ``<sanitised stem>.<extension of the detected kind>``: the name and
extension the uploader chose never reach the reader's computer."""

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cases.models import Status
from intake.filetypes import download_name
from intake.models import Intake, Record
from tests.conftest import login
from tests.factories import CaseFactory
from tests.matrix import close_file
from tests.pdfs import TINY_PDF as PDF

TEXT = b"Haemoglobin 12.1 g/dL\n"


@pytest.fixture
def case(family: Any, specialist: Any) -> Any:
    case = CaseFactory(family=family, status=Status.SUBMITTED, assigned_specialist=specialist)
    Intake.objects.create(case=case)
    return case


def _upload_and_download(client: Client, case: Any, name: str, content: bytes) -> Any:
    response = client.post(
        reverse("record_upload", args=[case.reference]),
        {"file": SimpleUploadedFile(name, content), "kind": "other", "description": ""},
    )
    assert response.status_code == 302, response.content[:500]
    record = Record.objects.get(case=case)
    assert record.original_name  # the uploader's name is kept for the lists, not the file
    return client.get(reverse("record_download", args=[case.reference, record.uid]))


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("page.html", PDF, 'attachment; filename="page.pdf"'),
        ("x.pdf.exe", PDF, 'attachment; filename="x.pdf"'),
        ("report.svg", PDF, 'attachment; filename="report.pdf"'),
        ("notes.html", TEXT, 'attachment; filename="notes.txt"'),
        # Django's multipart parser already cuts this one to what follows the last "=".
        ('a"; filename=evil.exe;.pdf', PDF, 'attachment; filename="evil.pdf"'),
        ("a<b>|c?.pdf", PDF, 'attachment; filename="abc.pdf"'),
        ("..\\..\\Windows\\run.bat", TEXT, 'attachment; filename="run.txt"'),
        ("résumé médical.pdf", PDF, 'attachment; filename="resume_medical.pdf"'),
        ("漢字.pdf", PDF, 'attachment; filename="record.pdf"'),
        (".htaccess", TEXT, 'attachment; filename="htaccess.txt"'),
        ("CON.exe", PDF, 'attachment; filename="record CON.pdf"'),
    ],
)
def test_downloads_are_named_by_the_detected_kind(
    client: Client, family: Any, case: Any, name: str, content: bytes, expected: str
) -> None:
    login(client, family)
    response = _upload_and_download(client, case, name, content)
    assert response.status_code == 200
    assert response["Content-Disposition"] == expected
    assert response["Content-Type"] == "application/octet-stream"
    close_file(response)


def test_on_s3_the_signed_link_carries_the_same_name(
    s3_storage: dict[str, Any], client: Client, family: Any, case: Any
) -> None:
    login(client, family)
    response = _upload_and_download(client, case, "scan.pdf.html", PDF)
    assert response.status_code == 302
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["response-content-disposition"] == ['attachment; filename="scan.pdf"']


def test_a_long_name_is_cut_and_an_unknown_kind_gets_bin() -> None:
    long = download_name("a" * 300 + ".pdf", "pdf")
    assert long == "a" * 80 + ".pdf"
    assert download_name("x.pdf", "") == "x.bin"
    assert download_name("x\r\nSet-Cookie: y.pdf", "png") == "x_Set-Cookie_y.png"
