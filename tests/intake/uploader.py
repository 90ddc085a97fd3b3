"""What static/js/record-uploader.js does, over HTTP: the large-file uploader's client in
the tests (tests/intake/test_direct_upload.py, test_picture_size.py)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from django.test import Client
from django.urls import reverse

# S3 itself, as the browser reaches it (never through Django).
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=120))


@dataclass
class Upload:
    uid: str
    upload_id: str
    key: str
    part_size: int
    part_count: int
    urls: dict[str, str]


class Browser:
    """What static/js/record-uploader.js does, over HTTP."""

    def __init__(self, client: Client, reference: str) -> None:
        self.client = client
        self.reference = reference

    def post_json(self, url: str, data: Any) -> Any:
        return self.client.post(url, json.dumps(data), content_type="application/json")

    def create_response(
        self,
        *,
        size: int,
        name: str = "MRI brain.pdf",
        kind: str = "imaging",
        description: str = "MRI brain, March 2026",
    ) -> Any:
        return self.post_json(
            reverse("uploads:create", args=[self.reference]),
            {"name": name, "size": size, "kind": kind, "description": description},
        )

    def create(self, *, size: int, **fields: str) -> Upload:
        response = self.create_response(size=size, **fields)
        assert response.status_code == 201, response.content
        data = response.json()
        return Upload(
            uid=data["uid"],
            upload_id=data["uploadId"],
            key=data["key"],
            part_size=data["partSize"],
            part_count=data["partCount"],
            urls=data["urls"],
        )

    def sign(self, upload: Upload, number: int) -> str:
        response = self.client.get(
            f"{upload.urls['parts']}{number}/", {"uploadId": upload.upload_id}
        )
        assert response.status_code == 200, response.content
        return str(response.json()["url"])

    def put(self, url: str, data: bytes) -> str:
        """PUT one part straight to S3, as the browser does; returns its ETag."""
        response = HTTP.request("PUT", url, body=data, headers={"Content-Length": str(len(data))})
        assert response.status == 200, response.data[:500]
        return str(response.headers["ETag"])

    def send_parts(
        self, upload: Upload, parts: Iterator[bytes], only: set[int] | None = None
    ) -> list[dict[str, Any]]:
        sent = []
        for number, data in enumerate(parts, start=1):
            if only is None or number in only:
                sent.append(
                    {"PartNumber": number, "ETag": self.put(self.sign(upload, number), data)}
                )
        return sent

    def list_parts(self, upload: Upload) -> Any:
        return self.client.get(upload.urls["parts"], {"uploadId": upload.upload_id})

    def complete(self, upload: Upload, parts: list[dict[str, Any]]) -> Any:
        return self.post_json(
            upload.urls["complete"], {"uploadId": upload.upload_id, "parts": parts}
        )
