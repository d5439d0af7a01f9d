"""Reading documents for the checker: text in any of the common encodings, .docx and .pdf."""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["text", "markdown", "html", "po", "docx", "pdf"]
_KINDS: dict[str, Kind] = {
    ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
    ".xhtml": "html", ".jinja": "html", ".jinja2": "html", ".j2": "html", ".po": "po",
    ".pot": "po", ".docx": "docx", ".pdf": "pdf",
}  # fmt: skip
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class SourceError(Exception):
    """A file that cannot be checked; the message says why, for that file."""

    def __init__(self, message: str, *, empty: bool = False) -> None:
        super().__init__(message)
        self.empty = empty


@dataclass(frozen=True, slots=True)
class Source:
    name: str  # as given on the command line
    text: str
    kind: Kind
    encoding: str | None  # None: not a text file (.docx, .pdf) or standard input
    bom: bytes

    @property
    def markup(self) -> bool:
        return self.kind in ("text", "markdown", "html", "po")

    @property
    def po(self) -> bool:
        return self.kind == "po"

    @property
    def fixable(self) -> bool:
        return self.encoding is not None


def kind_of(name: str) -> Kind:
    return _KINDS.get(Path(name).suffix.lower(), "text")


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v\x1b")
    return "\x00" in sample or controls > len(sample) // 100 + 1


def _is_cjk_or_punct(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def decode(data: bytes, name: str) -> tuple[str, str, bytes]:
    """(text, encoding, bom). UTF-8, UTF-16/32 with BOM, GB18030 and what charset-normalizer
    recognises; raises SourceError for binary data or an unknown encoding."""
    if not data:
        raise SourceError(f"{name}: empty file, nothing to check", empty=True)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), encoding, bom
            except UnicodeDecodeError as exc:
                raise SourceError(f"{name}: not valid {encoding} despite its BOM ({exc})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _looks_binary(text):
            raise SourceError(f"{name}: binary file, not text")
        return text, "utf-8", b""
    try:  # Chinese text that is not UTF-8 is most often GB18030 (a superset of GBK, GB2312)
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        wide = [c for c in text if ord(c) > 127]
        if not _looks_binary(text) and sum(map(_is_cjk_or_punct, wide)) >= 0.9 * len(wide):
            return text, "gb18030", b""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    guess: str | None = best.encoding if best is not None else None
    if guess in ("gb2312", "gbk", "hz"):
        guess = "gb18030"  # GB18030 is the superset
    candidates = [guess] if guess else []
    if "gb18030" not in candidates:
        candidates.append("gb18030")
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        if not _looks_binary(text):
            return text, candidate, b""
    if b"\x00" in data[:65536]:
        raise SourceError(f"{name}: binary file, not text")
    raise SourceError(f"{name}: unknown text encoding (tried UTF-8, UTF-16, GB18030)")


def _docx_text(data: bytes, name: str) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise SourceError(f"{name}: not a readable .docx file ({exc})") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    return "\n".join(lines)


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SourceError(f"{name}: encrypted PDF, cannot read its text")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SourceError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SourceError(f"{name}: unreadable PDF ({exc})") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise SourceError(f"{name}: the PDF has no text layer (a scan?); nothing to check")
    return text


def read_bytes(data: bytes, name: str, kind: Kind) -> Source:
    if kind == "docx":
        return Source(name, _docx_text(data, name), kind, None, b"")
    if kind == "pdf":
        return Source(name, _pdf_text(data, name), kind, None, b"")
    text, encoding, bom = decode(data, name)
    return Source(name, text, kind, encoding, bom)


def read_source(name: str) -> Source:
    path = Path(name)
    try:
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise SourceError(f"{name}: is a directory") from exc
    except OSError as exc:
        raise SourceError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    if not data and kind_of(name) in ("docx", "pdf"):
        raise SourceError(f"{name}: empty file, nothing to check", empty=True)
    return read_bytes(data, name, kind_of(name))


def write_source(source: Source, text: str) -> None:
    """Write a fixed text back in the file's own encoding and BOM."""
    assert source.encoding is not None
    Path(source.name).write_bytes(source.bom + text.encode(source.encoding))
