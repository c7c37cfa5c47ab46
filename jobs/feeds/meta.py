"""Meta (Facebook) vehicle catalog feed, in CSV and XML.

Fields as published by Meta for vehicle catalogs (automotive inventory ads): vehicle_id, vin (17
characters), title, description, url, make, model, year, mileage (value + unit), price (amount +
ISO 4217 code), address (addr1, city, postal_code, country), body_style, exterior_color,
state_of_vehicle, images. Checked in tests against ``schemas/meta_vehicle_catalog.schema.json``.
"""
from __future__ import annotations

from . import FeedFormat, Slot, register
from .base import (SLOT, csv_field, csv_header, csv_line_parts, xml_element, xml_element_tags, xml_elements,
                   xml_text, xml_values)

BODY_STYLES = {"sedan": "SEDAN", "hatchback": "HATCHBACK", "estate": "WAGON", "suv": "SUV", "coupe": "COUPE",
               "convertible": "CONVERTIBLE", "minivan": "MINIVAN", "van": "VAN", "pickup": "TRUCK"}
FUELS = {"petrol": "GASOLINE", "diesel": "DIESEL", "hybrid": "HYBRID", "plugin_hybrid": "PLUGIN_HYBRID",
         "electric": "ELECTRIC", "lpg": "OTHER"}
TRANSMISSIONS = {"manual": "MANUAL", "automatic": "AUTOMATIC"}
MAX_IMAGES = 20

CSV_COLUMNS = (("vehicle_id", "vin", "title", "description", "url", "make", "model", "year", "trim",
                "mileage.value", "mileage.unit", "price", "body_style", "exterior_color",
                "state_of_vehicle", "fuel_type", "transmission", "dealer_name", "dealer_phone",
                "address.addr1", "address.city", "address.postal_code", "address.country")
               + tuple(f"image[{i}].url" for i in range(MAX_IMAGES)))

REQUIRED = ("vin", "sale_price_ttc", "first_registration_date", "mileage", "body_category", "colour",
            "description", "photo")


def _values(r: dict) -> list[str]:
    """The listing's fields that are not slots, in CSV order: vehicle_id … description (4), make …
    dealer_name (13), then the address (4)."""
    body = r.get("body_category")
    price = r.get("price_text")
    mileage = r.get("mileage")
    return [
        f'{r.get("concession_code")}-{r["entry_number"]}', r.get("vin") or "",
        " ".join(p for p in (r.get("make"), r.get("model"), r.get("version")) if p),
        (r.get("description") or "")[:5000],
        r.get("make") or "", r.get("model") or "", str(r.get("year") or ""), r.get("version") or "",
        "" if mileage is None else str(int(mileage)), "KM", f'{price} {r["currency"]}' if price else "",
        BODY_STYLES.get(body, "OTHER" if body else ""), r.get("colour") or "", "USED",
        FUELS.get(r.get("energy"), ""), TRANSMISSIONS.get(r.get("gearbox"), ""), r.get("dealership_name") or "",
        r.get("site_address") or "", r.get("site_city") or "", r.get("site_postcode") or "", r["country"],
    ]


def _csv_listing(r: dict) -> list[str]:
    """UTF-8 CSV with Meta's column names (nested fields dotted, images indexed); the link and the
    dealer's phone are the slots."""
    v = _values(r)
    images = r["images"][:MAX_IMAGES]
    return csv_line_parts(v[:4] + [SLOT] + v[4:17] + [SLOT] + v[17:] + images + [""] * (MAX_IMAGES - len(images)),
                          ",")


# Elements of the listing that are not slots: before the link (4), between the link and the phone (12:
# mileage is written apart).
_XML_BEFORE_URL = xml_element_tags(("vehicle_id", "vin", "title", "description"))
_XML_BEFORE_PHONE = xml_element_tags(("make", "model", "year", "trim", "price", "body_style", "exterior_color",
                                      "state_of_vehicle", "fuel_type", "transmission", "dealer_name"))


def _xml_header(medium) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            "<listings>\n <title>" + xml_text(getattr(medium, "name", "")) + "</title>\n")


def _xml_listing(r: dict) -> list[str]:
    """``<listings><listing>…</listing></listings>`` as in Meta's XML vehicle feed sample."""
    v = xml_values(_values(r))
    mileage, addr1, city, postal_code, country = v[8], v[17], v[18], v[19], v[20]
    images = r["images"][:MAX_IMAGES]
    after = (f'  <mileage>\n   <value>{mileage}</value>\n   <unit>KM</unit>\n  </mileage>\n'
             '  <address format="simple">\n'
             f'   <component name="addr1">{addr1}</component>\n'
             f'   <component name="city">{city}</component>\n'
             f'   <component name="postal_code">{postal_code}</component>\n'
             f'   <component name="country">{country}</component>\n  </address>\n')
    if images:
        after += ("  <image>\n   <url>" + "</url>\n  </image>\n  <image>\n   <url>".join(xml_values(images))
                  + "</url>\n  </image>\n")
    return [" <listing>\n" + xml_elements(_XML_BEFORE_URL, v[:4]),
            xml_elements(_XML_BEFORE_PHONE, v[4:8] + v[10:17]),
            after + " </listing>\n"]


_dealer_phone = xml_element("dealer_phone")

register(FeedFormat("meta_catalog_csv", "Meta (Facebook) catalogue véhicules – CSV", "csv", "text/csv",
                    lambda medium: csv_header(CSV_COLUMNS, ","), _csv_listing,
                    slots=(Slot("url", csv_field(",")), Slot("contact", csv_field(",", 1))), errors="replace",
                    required_vehicle_fields=REQUIRED, schema="meta_vehicle_catalog.schema.json",
                    fields=CSV_COLUMNS,
                    documentation="https://developers.facebook.com/docs/marketing-api/auto-ads/get-started/"
                                  "catalog-fields"))
register(FeedFormat("meta_catalog_xml", "Meta (Facebook) catalogue véhicules – XML", "xml", "application/xml",
                    _xml_header, _xml_listing,
                    slots=(Slot("url", xml_element("url")), Slot("contact", lambda c: _dealer_phone(c[1]))),
                    footer="</listings>\n", errors="xmlcharrefreplace",
                    required_vehicle_fields=REQUIRED, schema="meta_vehicle_catalog.schema.json",
                    documentation="https://developers.facebook.com/docs/marketing-api/auto-ads/get-started/"
                                  "catalog-fields"))
