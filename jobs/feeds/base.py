"""Helpers shared by the feed writers: streaming XML, text encoding, value formatting."""
from __future__ import annotations

import codecs
import csv
import io
import re
from decimal import Decimal

_XML_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
# XML 1.0 forbids most control characters; a stray one in a description must not break the feed.
_XML_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)}


_NEEDS_ESCAPE = re.compile(r'[&<>"\x00-\x08\x0b\x0c\x0e-\x1f]').search


def xml_text(value) -> str:
    """Escape a value for XML text or attribute content (None → empty)."""
    if value is None:
        return ""
    s = value if type(value) is str else str(value)
    if _NEEDS_ESCAPE(s) is None:  # the common case: nothing to escape, no copy
        return s
    return s.translate(_XML_CONTROL).translate(_XML_ESCAPE)


class XmlStream:
    """Writes XML incrementally to a binary stream: never a whole tree in memory."""

    def __init__(self, out, encoding: str = "utf-8"):
        self.out = out
        self.encoding = encoding
        self._buffer: list[str] = []
        self._size = 0
        self.write(f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n')

    def write(self, text: str) -> None:
        self._buffer.append(text)
        self._size += 1
        if self._size >= 512:
            self.flush()

    def element(self, name: str, value, indent: str = "  ") -> None:
        """``<name>value</name>``; empty values are left out (portals treat absent and empty alike)."""
        if value is None or value == "":
            return
        self.write(f"{indent}<{name}>{xml_text(value)}</{name}>\n")

    def flush(self) -> None:
        if self._buffer:
            self.out.write("".join(self._buffer).encode(self.encoding, "xmlcharrefreplace"))
            self._buffer.clear()
            self._size = 0


def text_writer(out, encoding: str):
    """A text wrapper over the binary stream; characters the encoding lacks become '?'."""
    return io.TextIOWrapper(out, encoding=encoding, errors="replace", newline="", write_through=False)


def csv_writer(text, delimiter: str = ","):
    return csv.writer(text, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


def detach(text) -> None:
    """Flush a TextIOWrapper and leave the underlying binary stream open."""
    text.flush()
    text.detach()


def money(value) -> str:
    """A price with two decimals and a dot ("15990.00")."""
    if value is None:
        return ""
    return f"{Decimal(value):.2f}" if not isinstance(value, float) else f"{value:.2f}"


def integer(value) -> str:
    return "" if value is None else str(int(value))


assert codecs.lookup("iso-8859-15")  # the mobile.de encoding exists on this Python
