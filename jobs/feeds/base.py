"""Helpers shared by the feed formats: XML escaping, CSV quoting, value formatting.

Formats render a listing as the text around its slots (``jobs.feeds``); these helpers build that
text with one check per listing in the common case (nothing to escape or quote) and escape value
by value only when needed.
"""
from __future__ import annotations

import codecs
import re
from decimal import Decimal

SLOT = "\0"   # marks a slot inside a rendered listing; never in a value (csv_quote and xml_text drop it)

# XML 1.0 forbids most control characters; a stray one in a description must not break the feed.
_XML_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)}
_HAS_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]").search
_NEEDS_ESCAPE = re.compile(r'[&<>"\x00-\x08\x0b\x0c\x0e-\x1f]').search


def _escape(s: str) -> str:
    # Four C-level replaces are several times faster than str.translate with a mapping.
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def xml_text(value) -> str:
    """Escape a value for XML text or attribute content (None → empty)."""
    if value is None:
        return ""
    s = value if type(value) is str else str(value)
    if _NEEDS_ESCAPE(s) is None:  # the common case: nothing to escape, no copy
        return s
    if _HAS_CONTROL(s) is not None:
        s = s.translate(_XML_CONTROL)
    return _escape(s)


def xml_values(values) -> list[str]:
    """Escape a listing's texts (None: empty): one search over all of them, one escape if needed."""
    joined = "".join(filter(None, values))
    if _NEEDS_ESCAPE(joined) is None:
        return values
    if _HAS_CONTROL(joined) is not None:   # rare: control characters go, value by value
        return [xml_text(v) for v in values]
    return _escape("\0".join([v or "" for v in values])).split("\0")


def xml_element_tags(names) -> list[tuple[str, str]]:
    """("  <name>", "</name>\\n") pairs, computed once per format."""
    return [(f"  <{n}>", f"</{n}>\n") for n in names]


def xml_elements(tags: list[tuple[str, str]], values: list[str]) -> str:
    """``<name>value</name>`` lines of the escaped values; empty values are left out (portals treat
    absent and empty alike)."""
    return "".join([o + v + c for (o, c), v in zip(tags, values) if v])


def xml_element(name: str):
    """A slot renderer: one element, or nothing when the value is empty."""
    open_tag, close_tag = f"  <{name}>", f"</{name}>\n"
    return lambda value: open_tag + xml_text(value) + close_tag if value else ""


def csv_quote(value: str, delimiter: str) -> str:
    """CSV minimal quoting (as the csv module's QUOTE_MINIMAL); NUL characters are dropped."""
    if "\0" in value:
        value = value.replace("\0", "")
    if delimiter in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


_CSV_SPECIAL = re.compile('["\r\n]').search


def csv_line_parts(fields: list[str], delimiter: str) -> list[str]:
    """One CSV line (CRLF-terminated) split around its slots (fields equal to ``SLOT``)."""
    line = delimiter.join(fields)
    if _CSV_SPECIAL(line) is not None or line.count(delimiter) != len(fields) - 1 \
            or line.count(SLOT) != fields.count(SLOT):
        line = delimiter.join([f if f is SLOT else csv_quote(f, delimiter) for f in fields])
    return (line + "\r\n").split(SLOT)


def csv_header(columns, delimiter: str) -> str:
    return delimiter.join(csv_quote(c, delimiter) for c in columns) + "\r\n"


def csv_field(delimiter: str, index: int | None = None):
    """A slot renderer: one quoted field (of the contact tuple when ``index`` is given)."""
    if index is None:
        return lambda value: csv_quote(value or "", delimiter)
    return lambda value: csv_quote(value[index] or "", delimiter)


def money(value) -> str:
    """A price with two decimals and a dot ("15990.00")."""
    if value is None:
        return ""
    return f"{Decimal(value):.2f}" if not isinstance(value, float) else f"{value:.2f}"


def integer(value) -> str:
    return "" if value is None else str(int(value))


assert codecs.lookup("iso-8859-15")  # the mobile.de encoding exists on this Python
