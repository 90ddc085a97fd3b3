"""Previews of files from the public: the decoders (``decoders``, run only inside a bounded
child process) and the runner that calls them there under limits (``runner``).

What they guarantee:

- **The original bytes never reach the browser.** A preview is a PNG the decoders drew
  themselves: PDF pages rasterised by PDFium (pypdfium2), pictures decoded and re-encoded by
  Pillow, DICOM pixel data decoded by pydicom with the modality and VOI transforms applied.
  Every PNG is built from raw pixels into a fresh image, so no metadata (EXIF, ICC, text
  chunks) and nothing but pixels of the source survives.
- **Bounded work.** Decoding runs in a short-lived child Python process (``core.bounded``)
  with a wall-clock limit enforced by the parent and CPU and memory rlimits inside the
  child, for the same reasons as ``core.pdf``: PDFium, libtiff and the DICOM codecs are C
  code fed with files from the public, and a thread cannot be stopped. Inside the child,
  pages are capped at ``VIEWER_MAX_PAGES``, output images at ``VIEWER_MAX_SIDE_PX`` on their
  longest side, and decoded pictures at ``Image.MAX_IMAGE_PIXELS`` (decompression bombs are
  refused, not decoded).
- **No preview is never an error.** Files we cannot draw (text, whole-slide images,
  compressed DICOM without a decoder, a password-protected PDF, a render that ran out of
  time) give a ``Summary`` with a sentence for the reader and no pages.

Pages are numbered from 1 everywhere. Limits (settings, declared with their defaults from
the environment in config/settings/base.py): ``VIEWER_MAX_PAGES``, ``VIEWER_MAX_SIDE_PX``,
``VIEWER_MAX_IMAGE_PIXELS``, ``VIEWER_RENDER_SECONDS``, ``VIEWER_RENDER_MEMORY_MB``; the
records' side (``reports.viewer``) adds ``VIEWER_MAX_SOURCE_MB``.
"""
