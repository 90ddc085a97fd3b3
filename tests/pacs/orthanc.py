"""Orthanc, the stand-in PACS: the one CI started (PACS_DICOMWEB_URL), or a private one a
test starts, stops and restarts itself (with its DICOMweb plugin, on loopback, no DICOM
port, storage in the test's temp dir, a test user)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.services import free_port, need, wait_for_port

PLUGIN = os.environ.get(
    "ORTHANC_DICOMWEB_PLUGIN", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)
USER, PASSWORD = "pacs-test", "pacs-test-password"


def need_orthanc_binary() -> str:
    # Debian installs it in /usr/sbin, which a non-root PATH may not list.
    binary = shutil.which("Orthanc") or shutil.which("Orthanc", path="/usr/sbin") or ""
    need(
        bool(binary) and Path(PLUGIN).exists(),
        "needs Orthanc and its DICOMweb plugin (apt-get install orthanc orthanc-dicomweb)",
    )
    return binary


def need_pacs_url() -> str:
    url = os.environ.get("PACS_DICOMWEB_URL", "")
    need(bool(url), "needs a PACS (set PACS_DICOMWEB_URL to Orthanc's /dicom-web)")
    return url


class Orthanc:
    """A private Orthanc a test may kill and start again; its storage survives restarts."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.directory = directory
        self.config = directory / "orthanc.json"
        storage = directory / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            json.dumps(
                {
                    "Name": "pacs-test",
                    "HttpPort": self.port,
                    "StorageDirectory": str(storage),
                    "IndexDirectory": str(storage),
                    "RemoteAccessAllowed": False,
                    "AuthenticationEnabled": True,
                    "RegisteredUsers": {USER: PASSWORD},
                    "DicomServerEnabled": False,
                    "Plugins": [PLUGIN],
                    "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
                }
            )
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dicom-web"

    def start(self) -> None:
        # The child keeps its own copy of the log's descriptor; ours closes at once.
        with (self.directory / "orthanc.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
