"""Pixels of the syntaxes hospitals send decode in the bounded child with the pylibjpeg
plugins, as the study viewer decodes them (``imaging.viewer_child``, rewritten as Explicit
VR Little Endian): JPEG baseline, extended and lossless, JPEG-LS, JPEG 2000, RLE, and every
frame of a multi-frame file."""

import io
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian

from core import bounded

from .conftest import TEST_FILES


def _decode(path: Path) -> np.ndarray:
    out = bounded.run_script(
        "imaging.viewer_child:child_job",
        {"op": "native", "path": str(path)},
        seconds=60,
        memory_bytes=1024 * 1024 * 1024,
    )
    native = dcmread(io.BytesIO(out))
    assert native.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    return native.pixel_array


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("SC_rgb_jpeg_dcmtk.dcm", None),  # JPEG baseline (lossy: compared loosely)
        ("JPGExtended.dcm", None),  # JPEG extended 12-bit
        ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb_rle.dcm"),  # JPEG lossless = the RLE copy
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),  # JPEG-LS lossless
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),  # JPEG 2000 lossless
        ("693_J2KI.dcm", None),  # JPEG 2000 (lossy)
        ("MR_small_RLE.dcm", "MR_small.dcm"),  # RLE
        ("SC_rgb_rle_2frame.dcm", None),  # RLE, two frames
    ],
)
def test_compressed_syntaxes_decode_in_the_child(name: str, reference: str | None) -> None:
    path = TEST_FILES / name
    header = dcmread(path, stop_before_pixels=True)
    pixels = _decode(path)
    if int(header.get("NumberOfFrames", 1)) > 1:
        pixels = pixels[0]
    assert pixels.shape[:2] == (header.Rows, header.Columns)
    assert pixels.std() > 0  # an image, not a blank
    if reference is not None:
        # Lossless: the same pixels as an uncompressed (or RLE) copy, decoded in-process.
        assert np.array_equal(pixels, dcmread(TEST_FILES / reference).pixel_array)


def test_every_frame_of_a_multi_frame_file() -> None:
    frames = _decode(TEST_FILES / "rtdose.dcm")
    assert frames.shape == (15, 10, 10)
    assert not np.array_equal(frames[0], frames[14])
