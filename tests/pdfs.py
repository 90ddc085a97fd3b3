"""Reading the PDFs we render (reports, billing documents, record releases): their text as a
reader sees it and their raw, decompressed bytes."""

import re
import shutil
import subprocess
import zlib

from tests.services import need

# A line of /etc/passwd: in a PDF it would mean a local file was pulled into the render.
PASSWD_MARKER = "root:x:0:0"


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """The PDF's text as poppler's pdftotext reads it, whitespace collapsed. ``layout``
    keeps each visual line together (a table row's label next to its value)."""
    need(bool(shutil.which("pdftotext")), "needs pdftotext (apt-get install poppler-utils)")
    args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), "-", "-"]
    out = subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(out.split())


def inflated(pdf: bytes) -> bytes:
    """The PDF's bytes with every Flate stream decompressed (the catalog and the structure
    tree live in compressed object streams)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


# The smallest PDF the records pipeline accepts: a catalog and no pages.
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
