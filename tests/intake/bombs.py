"""Pictures too large to view, and whole-slide images, generated small on disk: headers
that promise many pixels, and data that is zeros compressed (a decompression bomb)."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 10_000, height: int = 10_000) -> bytes:
    """A real PNG that decodes to width x height grey pixels from ~100 KB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims width x height (JPEG's limit is 65,535)."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _zero_tiles(shape: tuple[int, int], tile: int = 512):  # type: ignore[no-untyped-def]
    count = -(-shape[0] // tile) * -(-shape[1] // tile)
    block = np.zeros((tile, tile), dtype=np.uint8)
    return (block for _ in range(count))


def tiff_tiled(path: Path, side: int, *, levels: int = 1, description: str = "") -> bytes:
    """A tiled TIFF of side x side zeros; with ``levels`` > 1, a pyramid whose reduced
    levels are top-level tiled directories marked reduced (subfiletype 1)."""
    with tifffile.TiffWriter(path, bigtiff=False) as tif:
        for level in range(levels):
            level_side = max(side >> (2 * level), 512)
            tif.write(
                _zero_tiles((level_side, level_side)),
                shape=(level_side, level_side),
                dtype=np.uint8,
                tile=(512, 512),
                compression="zlib",
                subfiletype=1 if level else 0,
                description=description if level == 0 else None,
                metadata=None,
            )
    return path.read_bytes()


def tiff_strips_claiming(path: Path, width: int, height: int) -> bytes:
    """A plain (striped, single-level) TIFF whose directory claims width x height."""
    tifffile.imwrite(path, np.zeros((16, 16), dtype=np.uint8), metadata=None)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages.first.tags["ImageWidth"].overwrite(width)
        tif.pages.first.tags["ImageLength"].overwrite(height)
        tif.pages.first.tags["RowsPerStrip"].overwrite(height)  # one strip, as declared
    return path.read_bytes()
