"""Bytes to text: refuse binary and empty input, detect BOMs, UTF-16 and legacy encodings, normalise."""

from __future__ import annotations

import codecs
import logging

import charset_normalizer

from summarize.errors import InputError

logger = logging.getLogger(__name__)

_SNIFF = 4096
_MAX_CONTROL_SHARE = 0.05
_CONTROL = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v") | {"\x7f"}
_DELETE_CONTROL = dict.fromkeys(map(ord, _CONTROL))
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_MAGIC = {b"%PDF-": "PDF", b"\x89PNG": "PNG", b"PK\x03\x04": "ZIP", b"\x1f\x8b": "GZIP", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"\x7fELF": "ELF"}


# Order matters: charset_normalizer often scores cp1252 and cp1250 equally on Western
# European text, and the earlier entry wins such ties.
_LEGACY = ("cp1252", "cp1250", "cp1251", "cp1256", "cp1253", "cp1254", "cp1255", "cp1257", "koi8_r", "mac_roman")


def decode_bytes(data: bytes, *, name: str, declared: str | None = None) -> str:
    """Decode raw bytes to normalised text, refusing empty, binary and undecodable input; ``declared`` (a page's charset) goes first after a BOM."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise binary_error(name, kind)
    text = normalise_text(_decode(data, name, declared))
    if not text.strip():
        raise input_error("empty", name, "is empty")
    # UTF-16 and BOM-marked input skip the byte-level check in _decode, so look again here.
    if _control_share(text[:_SNIFF]) > _MAX_CONTROL_SHARE:
        raise binary_error(name, "mostly control characters")
    return text


def _decode(data: bytes, name: str, declared: str | None) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_unicode(data[len(bom) :], codec, name)
    utf16 = _sniff_utf16(data)
    if utf16 is not None:
        return _decode_unicode(data, utf16, name)
    if b"\x00" in data:
        raise binary_error(name, "contains NUL bytes")
    # latin-1 maps bytes 1:1 so C0 controls count the same as in any ASCII-based encoding.
    if _control_share(data[:_SNIFF].decode("latin-1")) > _MAX_CONTROL_SHARE:
        raise binary_error(name, "mostly control characters")
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError) as exc:
            logger.warning("%s: declares %s, which does not decode it (%s); detecting the encoding", name, declared, exc)
    try:
        return _decode_unicode(data, "utf-8", name)
    except InputError:
        return _decode_legacy(data, name)


def _decode_unicode(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        # A file cut mid-character is still that encoding; only the tail is lost.
        if exc.reason in ("unexpected end of data", "truncated data") and exc.end == len(data):
            logger.warning("%s: ends in an incomplete %s character; dropped %d byte(s)", name, codec, len(data) - exc.start)
            return data[: exc.start].decode(codec)
        raise input_error("encoding", name, f"is not valid {codec} ({exc.reason} at byte {exc.start})") from None


def _sniff_utf16(data: bytes) -> str | None:
    # Without a BOM, UTF-16 shows itself by NUL high bytes on Latin-script text.
    sample = data[: min(len(data), _SNIFF) // 2 * 2]
    pairs = len(sample) // 2
    if not pairs:
        return None
    even, odd = sample[0::2].count(0) / pairs, sample[1::2].count(0) / pairs
    if odd >= 0.4 and even <= 0.02:
        return "utf-16-le"
    if even >= 0.4 and odd <= 0.02:
        return "utf-16-be"
    return None


def _decode_legacy(data: bytes, name: str) -> str:
    matches = list(charset_normalizer.from_bytes(data, cp_isolation=list(_LEGACY)))
    if not matches:
        raise input_error("encoding", name, "is not UTF-8 and matches no known single-byte encoding")
    best = min(matches, key=lambda m: (round(m.chaos, 2), -round(m.coherence, 2), _LEGACY.index(m.encoding)))
    logger.warning("%s: not UTF-8; decoded as %s", name, best.encoding)
    return str(best)


def _control_share(text: str) -> float:
    # translate() deletes in C: a per-character loop here was 40% of reading a batch's inputs
    return (len(text) - len(text.translate(_DELETE_CONTROL))) / len(text) if text else 0.0


def normalise_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff").rstrip()


def binary_error(item: str, what: str) -> InputError:
    return input_error("binary", item, f"looks like binary data ({what}), not a text article")


def input_error(kind: str, item: str, message: str) -> InputError:
    """An InputError naming ``item``, with ``kind`` the short reason read_sources reports."""
    err = InputError(message, item=item)
    err.kind = kind  # the short reason read_sources reports as FailedItem.error
    return err
