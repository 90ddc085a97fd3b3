"""Pixels of the syntaxes hospitals send decode in the bounded child with the pylibjpeg
plugins: JPEG baseline, extended and lossless, JPEG-LS, JPEG 2000, RLE; and a huge or
absent frame is refused, not attempted."""

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from core import bounded
from imaging.dicomfiles import read_npy

from .conftest import TEST_FILES


def _decode(path: Path, frame: int = 0) -> np.ndarray:
    out = bounded.run_script(
        "imaging.dicomfiles:decode_frame",
        {"path": str(path), "frame": frame},
        seconds=60,
        memory_bytes=1024 * 1024 * 1024,
    )
    return read_npy(out)


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
    assert pixels.shape[:2] == (header.Rows, header.Columns)
    assert pixels.std() > 0  # an image, not a blank
    if reference is not None:
        # Lossless: the same pixels as an uncompressed (or RLE) copy, decoded in-process.
        assert np.array_equal(pixels, dcmread(TEST_FILES / reference).pixel_array)


def test_a_later_frame_of_a_multi_frame_file() -> None:
    first = _decode(TEST_FILES / "rtdose.dcm", frame=0)
    last = _decode(TEST_FILES / "rtdose.dcm", frame=14)
    assert first.shape == last.shape == (10, 10)
    assert not np.array_equal(first, last)
    with pytest.raises(bounded.ChildRefused, match="no such frame"):
        _decode(TEST_FILES / "rtdose.dcm", frame=15)
