"""The documented generic formats: XML and CSV with every field of a listing (docs/sends.md)."""
from __future__ import annotations

from . import FeedFormat, register
from .base import _NEEDS_ESCAPE, XmlStream, csv_writer, detach, integer, money, text_writer, xml_text

# One list drives both generic formats: (output name, row key or callable).
GENERIC_FIELDS = (
    ("reference", "entry_number"), ("customer_code", "customer_code"), ("vin", "vin"),
    ("registration", "registration"), ("status", "status"), ("genre", "genre"), ("make", "make"),
    ("model", "model"), ("family", "family"), ("version", "version"), ("year", "year"),
    ("first_registration", lambda r: r["first_registration_date"].isoformat()
     if r.get("first_registration_date") else ""),
    ("mileage_km", lambda r: integer(r.get("mileage"))), ("price", lambda r: money(r.get("price"))),
    ("currency", "currency"), ("energy", "energy_label"), ("gearbox", "gearbox_label"),
    ("body", "body_label"), ("colour", "colour"), ("doors", "doors"), ("seats", "seats"),
    ("fiscal_power", "fiscal_power"), ("co2", "co2"), ("description", "description"),
    ("url", "url"), ("site_code", "site_code"), ("dealership_name", "dealership_name"),
    ("dealership_address", "dealership_address"), ("contact_name", "contact_name"),
    ("contact_phone", "contact_phone"), ("contact_email", "contact_email"),
)
_GETTERS = [(name, (lambda r, k=key: r.get(k)) if isinstance(key, str) else key) for name, key in GENERIC_FIELDS]


_XML_ORDER = [(f"  <{name}>", f"</{name}>\n", key if isinstance(key, str) else None,
               None if isinstance(key, str) else key) for name, key in GENERIC_FIELDS]


def write_generic_xml(rows, medium, out) -> int:
    """``<vehicles medium="CODE"><vehicle id="…"><make>…</make>…<photos><photo>url</photo></photos>``."""
    xml = XmlStream(out)
    code = xml_text(getattr(medium, "code", ""))
    xml.write(f'<vehicles format="generic" version="1" medium="{code}">\n')
    count = 0
    for r in rows:
        # One flat list of strings per vehicle, joined once: the hot loop of large feeds.
        parts = [f' <vehicle id="{r["id"]}">\n']
        ap = parts.append
        get = r.get
        needs_escape = _NEEDS_ESCAPE
        for open_tag, close_tag, key, compute in _XML_ORDER:
            value = get(key) if compute is None else compute(r)
            if value is None or value == "":
                continue
            if type(value) is not str:
                value = str(value)
            if needs_escape(value) is not None:
                value = xml_text(value)
            ap(open_tag)
            ap(value)
            ap(close_tag)
        images = r["images"]
        if images:
            ap("  <photos>\n   <photo>")
            ap("</photo>\n   <photo>".join(xml_text(u) for u in images))
            ap("</photo>\n  </photos>\n")
        ap(" </vehicle>\n")
        xml.write("".join(parts))
        count += 1
    xml.write("</vehicles>\n")
    xml.flush()
    return count


def write_generic_csv(rows, medium, out) -> int:
    """UTF-8 CSV, comma-separated, one header line; photos are URLs separated by ``|``."""
    text = text_writer(out, "utf-8")
    w = csv_writer(text)
    w.writerow([name for name, _ in GENERIC_FIELDS] + ["photos"])
    count = 0
    for r in rows:
        w.writerow([get(r) for _, get in _GETTERS] + ["|".join(r["images"])])
        count += 1
    detach(text)
    return count


register(FeedFormat("generic_xml", "XML générique", "xml", "application/xml", write_generic_xml,
                    documentation="docs/sends.md#xml-generique",
                    fields=tuple(n for n, _ in GENERIC_FIELDS) + ("photos",)))
register(FeedFormat("generic_csv", "CSV générique", "csv", "text/csv", write_generic_csv,
                    documentation="docs/sends.md#csv-generique",
                    fields=tuple(n for n, _ in GENERIC_FIELDS) + ("photos",)))
