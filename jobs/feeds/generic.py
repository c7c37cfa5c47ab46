"""The documented generic formats: XML and CSV with every field of a listing (docs/sends.md)."""
from __future__ import annotations

from operator import itemgetter

from . import FeedFormat, Slot, register
from .base import (SLOT, csv_field, csv_header, csv_line_parts, csv_quote, xml_element, xml_element_tags,
                   xml_elements, xml_text, xml_values)

# Output names in order; the customer code, the link and the contact are slots (they depend on the
# medium and the list), the other fields are read from the normalised row (jobs.feeds.rows).
GENERIC_FIELDS = (
    ("reference", "entry_number"), ("customer_code", None), ("vin", "vin"),
    ("registration", "registration"), ("status", "status"), ("genre", "genre"), ("make", "make"),
    ("model", "model"), ("family", "family"), ("version", "version"), ("year", "year_text"),
    ("first_registration", "first_registration_text"), ("mileage_km", "mileage_text"), ("price", "price_text"),
    ("currency", "currency"), ("energy", "energy_label"), ("gearbox", "gearbox_label"),
    ("body", "body_label"), ("colour", "colour"), ("doors", "doors_text"), ("seats", "seats_text"),
    ("fiscal_power", "fiscal_power_text"), ("co2", "co2_text"), ("description", "description"),
    ("url", None), ("site_code", "site_code"), ("dealership_name", "dealership_name"),
    ("dealership_address", "dealership_address"), ("contact_name", None), ("contact_phone", None),
    ("contact_email", None),
)
COLUMNS = tuple(name for name, _ in GENERIC_FIELDS) + ("photos",)

# The row keys of the fields that are not slots: [0] before the customer code, [1:23] up to the link,
# [23:] up to the contact. Every one is a text or None in a normalised row (jobs.feeds.rows).
_KEYS = [key for _, key in GENERIC_FIELDS if key]
_GET = itemgetter(*_KEYS)
_HEAD_TAGS = xml_element_tags(n for n, k in GENERIC_FIELDS[:1])
_MIDDLE_TAGS = xml_element_tags(n for n, k in GENERIC_FIELDS[2:24])
_TAIL_TAGS = xml_element_tags(n for n, k in GENERIC_FIELDS[25:28])


def _values(r: dict) -> list[str]:
    return ["" if v is None else v for v in _GET(r)]


def _xml_header(medium) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<vehicles format="generic" version="1" medium="{xml_text(getattr(medium, "code", ""))}">\n')


def _xml_listing(r: dict) -> list[str]:
    """``<vehicle id="…"><make>…</make>…<photos><photo>url</photo></photos>``."""
    v = xml_values(_GET(r))   # None values stay None: xml_elements leaves them out
    images = r["images"]
    photos = ("  <photos>\n   <photo>" + "</photo>\n   <photo>".join(xml_values(images))
              + "</photo>\n  </photos>\n") if images else ""
    return [f' <vehicle id="{r["id"]}">\n' + xml_elements(_HEAD_TAGS, v[:1]),
            xml_elements(_MIDDLE_TAGS, v[1:23]),
            xml_elements(_TAIL_TAGS, v[23:]),
            photos + " </vehicle>\n"]


_contact_name, _contact_phone, _contact_email = (xml_element(n) for n in ("contact_name", "contact_phone",
                                                                          "contact_email"))


def _xml_contact(contact) -> str:
    name, phone, email = contact
    return _contact_name(name) + _contact_phone(phone) + _contact_email(email)


def _csv_listing(r: dict) -> list[str]:
    """UTF-8 CSV, comma-separated, one header line; photos are URLs separated by ``|``."""
    v = _values(r)
    return csv_line_parts(v[:1] + [SLOT] + v[1:23] + [SLOT] + v[23:] + [SLOT, "|".join(r["images"])], ",")


def _csv_contact(contact) -> str:
    return ",".join(csv_quote(x or "", ",") for x in contact)


register(FeedFormat("generic_xml", "XML générique", "xml", "application/xml", _xml_header, _xml_listing,
                    slots=(Slot("customer_code", xml_element("customer_code")), Slot("url", xml_element("url")),
                           Slot("contact", _xml_contact)),
                    footer="</vehicles>\n", errors="xmlcharrefreplace",
                    documentation="docs/sends.md#xml-generique", fields=COLUMNS))
register(FeedFormat("generic_csv", "CSV générique", "csv", "text/csv", lambda medium: csv_header(COLUMNS, ","),
                    _csv_listing, slots=(Slot("customer_code", csv_field(",")), Slot("url", csv_field(",")),
                                         Slot("contact", _csv_contact)),
                    errors="replace", documentation="docs/sends.md#csv-generique", fields=COLUMNS))
