"""The only module that talks to the PACS: STOW-RS batches through dicomweb-client.

It knows DICOM and HTTP, nothing of cases: it takes DICOM files and answers which SOP
instances the PACS says it stored, which it refused (with the PACS's reason), or that the
PACS could not be reached (worth retrying later).
"""

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from django.conf import settings

logger = logging.getLogger(__name__)

# HTTP answers that say "not now" rather than "no": the send is retried with backoff.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
REASON_LENGTH = 300


class PacsUnavailable(Exception):
    """The PACS could not be reached or asked us to come back later."""


class PacsRefused(Exception):
    """The PACS answered and refused the request; retrying the same data will not help."""


@dataclass(frozen=True)
class StowOutcome:
    stored: frozenset[str]
    # SOP Instance UID → the PACS's reason (its Failure Reason code, or its words).
    refused: dict[str, str] = field(default_factory=dict)


def pacs_configured() -> bool:
    return bool(settings.PACS_DICOMWEB_URL)


def pacs_client() -> DICOMwebClient:
    session = requests.Session()
    if settings.PACS_USERNAME or settings.PACS_PASSWORD:
        session.auth = (settings.PACS_USERNAME, settings.PACS_PASSWORD)
    client = DICOMwebClient(
        settings.PACS_DICOMWEB_URL, session=session, timeout=settings.PACS_TIMEOUT_SECONDS
    )
    # dicomweb-client retries 429/503/504 itself with sleeps inside the request; the Celery
    # task owns retrying (with backoff, without holding a worker), so one attempt here.
    client._max_attempts = 1
    return client


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def _reason_from_response(response: requests.Response) -> str:
    """The PACS's own words for a refused request (Orthanc: JSON with Message/Details)."""
    status = f"HTTP {response.status_code}"
    body = response.text or ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return _short(f"{status} {body}".strip())
    if isinstance(parsed, dict):
        words = [str(parsed[k]) for k in ("Message", "Details") if parsed.get(k)]
        if words:
            return _short(f"{status}: {' — '.join(words)}")
    return _short(f"{status} {body}".strip())


def _outcome(answer: pydicom.Dataset, sent: set[str]) -> StowOutcome:
    stored = {
        str(item.ReferencedSOPInstanceUID)
        for item in answer.get("ReferencedSOPSequence", [])
        if "ReferencedSOPInstanceUID" in item
    }
    refused = {
        str(item.ReferencedSOPInstanceUID): _short(
            f"Failure Reason {int(item.FailureReason):#06x}"
            if "FailureReason" in item
            else "refused without a reason"
        )
        for item in answer.get("FailedSOPSequence", [])
        if "ReferencedSOPInstanceUID" in item
    }
    # Only what we sent counts: a PACS that echoes other UIDs must not mark them stored.
    return StowOutcome(
        stored=frozenset(stored & sent),
        refused={uid: why for uid, why in refused.items() if uid in sent},
    )


def read_dataset(fp: IO[bytes]) -> pydicom.Dataset:
    return pydicom.dcmread(fp, force=False)


def stow_batch(
    client: DICOMwebClient, *, study_uid: str, datasets: Sequence[pydicom.Dataset]
) -> StowOutcome:
    """Store one batch of instances of a study; the answer says which the PACS kept."""
    sent = {str(ds.SOPInstanceUID) for ds in datasets}
    try:
        answer = client.store_instances(list(datasets), study_instance_uid=study_uid)
    except requests.HTTPError as exc:
        response = exc.response
        if response is None or response.status_code in TRANSIENT_STATUS:
            raise PacsUnavailable(f"HTTP {getattr(response, 'status_code', '?')}") from exc
        if response.status_code == 409 and response.content:
            # 409: the PACS stored none of the batch; its answer lists why, per instance.
            try:
                return _outcome(pydicom.Dataset.from_json(response.json()), sent)
            except (ValueError, TypeError, KeyError):
                pass
        logger.warning("PACS refused a STOW-RS request (HTTP %s)", response.status_code)
        raise PacsRefused(_reason_from_response(response)) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise PacsUnavailable(type(exc).__name__) from exc
    return _outcome(answer, sent)


def qido_instance_uids(client: DICOMwebClient, *, study_uid: str) -> list[str]:
    """Every SOP Instance UID the PACS holds for a study (QIDO-RS), for checks."""
    found: list[str] = []
    offset = 0
    while True:
        page = client.search_for_instances(
            study_instance_uid=study_uid, offset=offset, limit=100, fields=["00080018"]
        )
        found.extend(str(item["00080018"]["Value"][0]) for item in page)
        if len(page) < 100:
            return found
        offset += len(page)


def batches(sizes: Iterable[tuple[int, int]], *, count: int, max_bytes: int) -> list[list[int]]:
    """Group (id, size) pairs into batches of at most ``count`` items and ``max_bytes``
    (a single bigger instance goes alone)."""
    groups: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for pk, size in sizes:
        if current and (len(current) >= count or current_bytes + size > max_bytes):
            groups.append(current)
            current, current_bytes = [], 0
        current.append(pk)
        current_bytes += size
    if current:
        groups.append(current)
    return groups
