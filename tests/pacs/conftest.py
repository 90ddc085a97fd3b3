from typing import Any

import pytest

from imaging.models import Study
from tests.factories import CaseFactory

from .builders import build_study
from .orthanc import need_pacs_url


@pytest.fixture
def pacs(settings: Any) -> str:
    """The stand-in PACS (Orthanc) of this run, with its credentials, as the app's settings."""
    import os

    settings.PACS_DICOMWEB_URL = need_pacs_url().rstrip("/")
    settings.PACS_USERNAME = os.environ.get("PACS_USERNAME", "")
    settings.PACS_PASSWORD = os.environ.get("PACS_PASSWORD", "")
    return str(settings.PACS_DICOMWEB_URL)


@pytest.fixture
def pacs_unused(settings: Any) -> str:
    """A PACS URL for tests that only queue (the send runs after commit, which they never
    reach): nothing listens there, so a send that escaped would fail the test."""
    settings.PACS_DICOMWEB_URL = "http://127.0.0.1:9/dicom-web"
    return str(settings.PACS_DICOMWEB_URL)


@pytest.fixture
def pacs_off(settings: Any) -> None:
    settings.PACS_DICOMWEB_URL = ""


@pytest.fixture
def study(family: Any, specialist: Any) -> Study:
    case = CaseFactory(family=family, assigned_specialist=specialist, status="in_review")
    return build_study(case=case, uploaded_by=family)
