"""Plain text: UTF-8 (with or without BOM) or Windows-1252; UTF-16, HTML, XML, SVG and
scripts refused (a line-based, deliberately conservative heuristic: served as a
``text/plain`` attachment, a missed script stays harmless)."""

import codecs
import re
from collections.abc import Iterator
from typing import IO

from .filekinds import _MARKUP_MIMES, Rejected, _chunks, _hint_for, _markup_rejected, _type_rejected

_MAX_TEXT_CARRY = 64 * 1024

_MARKUP_IN_TEXT = re.compile(
    r"<(?:script|html|svg|iframe|object|embed|body|frameset|applet|img)\b"
    r"|<\?(?:xml|php)|<!(?:doctype|entity|\[cdata\[)",
    re.IGNORECASE,
)
_MARKUP_START = re.compile(r"<[A-Za-z!?/]")
# Tab, LF, FF, CR and the DOS end-of-file mark occur in exported reports; other control
# characters (escape sequences above all) do not belong in a clinical text.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f-\x9f]")
# Lines that are program code in any language a family's computer would run. Two of them
# make a file a script; one could be a quotation in a letter. Case matters (except for the
# Windows languages, which ignore it) so that prose such as "Eval (ENT): normal" passes.
_CODE_LINE = re.compile(
    r"""^[ \t]*+(?:
        (?:var|let|const)\s+[\w$]+\s*=
      | \$[A-Za-z_][\w:]*\s*=
      | function\s*[\w$]*\s*\([^)]*\)\s*\{
      | (?:import|export)\s+(?:[\w${},*\s]+\s+from\s+)?["'][^"'\n]+["'];?[ \t]*$
      | (?:from\s+[\w.]+\s+)?import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+)*[ \t]*$
      | def\s+\w+\s*\(.*\)\s*(?:->.*)?:[ \t]*$
      | class\s+\w+\s*(?:\(.*\))?\s*:[ \t]*$
      | if\s+__name__\s*==
      | (?:document|window)\.[\w.]+\s*[(=]
      | (?:eval|exec)\s*\(
      | (?:sudo|chmod|curl|wget)\s+\S
      | rm\s+-[rf]+\s
      | (?i:(?:set\s+\w+\s*=\s*)?(?:createobject|wscript\.))
      | (?i:@echo\s+off)
      | (?i:(?:invoke-expression|iex|start-process|new-object)\b)
    )""",
    re.MULTILINE | re.VERBOSE,
)


def _not_text() -> Rejected:
    return _type_rejected()


class _TextScan:
    """Looks at decoded text piece by piece, keeping partial lines between pieces."""

    def __init__(self) -> None:
        self._started = False
        self._carry = ""
        self._code_lines = 0

    def feed(self, text: str, *, final: bool) -> None:
        text = self._carry + text
        if not self._started:
            stripped = text.lstrip()
            if not stripped and not final and len(text) < _MAX_TEXT_CARRY:
                self._carry = text
                return
            self._started = True
            if stripped.startswith("#!"):
                raise _markup_rejected()
            if _MARKUP_START.match(stripped):
                raise _markup_rejected()
        if final:
            body, self._carry = text, ""
        else:
            cut = text.rfind("\n") + 1
            if cut == 0 and len(text) > _MAX_TEXT_CARRY:
                # One enormous line: check it in pieces, keeping an overlap so a marker
                # split between pieces is still seen.
                cut = len(text) - 64
            body, self._carry = text[:cut], text[cut:]
        if _TEXT_CONTROL.search(body):
            raise _not_text()
        if _MARKUP_IN_TEXT.search(body):
            raise _markup_rejected()
        self._code_lines += len(_CODE_LINE.findall(body))
        if self._code_lines >= 2:
            raise _markup_rejected()


_TEXT_CODECS = (("utf-8-sig", "utf-8"), ("cp1252", "windows-1252"))


def _refuse_wide_unicode(head: bytes) -> None:
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or head.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise _type_rejected(
            "This text file is saved as UTF-16; please save it again as UTF-8 text."
        )


def _scan(chunks: Iterator[bytes], codec: str, *, complete: bool) -> None:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    scan = _TextScan()
    for chunk in chunks:
        if b"\x00" in chunk:
            raise _not_text()
        scan.feed(decoder.decode(chunk), final=False)
    scan.feed(decoder.decode(b"", final=complete), final=True)


def _text_charset_of_head(head: bytes, *, complete: bool, mime: str, desc: str) -> str:
    _refuse_wide_unicode(head)
    if (
        not mime.startswith("text/")
        or mime in _MARKUP_MIMES
        or mime.startswith("text/x-script")
        or mime == "text/rtf"
    ):
        raise _hint_for(mime, desc)
    # libmagic's description names scripts and markup even when its MIME type says plain.
    if re.search(r"\bscript\b|HTML|XML|SVG|executable", desc, re.IGNORECASE):
        raise _markup_rejected()
    for codec, charset in _TEXT_CODECS:
        try:
            _scan(iter((head,)), codec, complete=complete)
        except UnicodeDecodeError:
            continue
        return charset
    raise _not_text()


def _check_text_file(fileobj: IO[bytes]) -> str:
    for codec, charset in _TEXT_CODECS:
        try:
            _scan(_chunks(fileobj), codec, complete=True)
        except UnicodeDecodeError:
            continue
        return charset
    raise _not_text()
