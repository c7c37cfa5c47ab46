"""Meta (Facebook) vehicle catalog feed, in CSV and XML.

Fields as published by Meta for vehicle catalogs (automotive inventory ads): vehicle_id, vin (17
characters), title, description, url, make, model, year, mileage (value + unit), price (amount +
ISO 4217 code), address (addr1, city, postal_code, country), body_style, exterior_color,
state_of_vehicle, images. Checked in tests against ``schemas/meta_vehicle_catalog.schema.json``.
"""
from __future__ import annotations

from . import FeedFormat, register
from .base import XmlStream, csv_writer, detach, integer, money, text_writer, xml_text

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


def _values(r) -> dict:
    return {
        "vehicle_id": f'{r.get("concession_code")}-{r["entry_number"]}',
        "vin": r.get("vin") or "",
        "title": " ".join(p for p in (r.get("make"), r.get("model"), r.get("version")) if p),
        "description": (r.get("description") or "")[:5000],
        "url": r["url"], "make": r.get("make") or "", "model": r.get("model") or "",
        "year": r.get("year") or "", "trim": r.get("version") or "",
        "mileage_value": integer(r.get("mileage")), "mileage_unit": "KM",
        "price": f'{money(r.get("price"))} {r["currency"]}' if r.get("price") is not None else "",
        "body_style": BODY_STYLES.get(r.get("body_category"), "OTHER" if r.get("body_category") else ""),
        "exterior_color": r.get("colour") or "", "state_of_vehicle": "USED",
        "fuel_type": FUELS.get(r.get("energy"), ""), "transmission": TRANSMISSIONS.get(r.get("gearbox"), ""),
        "dealer_name": r.get("dealership_name") or "", "dealer_phone": r.get("contact_phone") or "",
        "addr1": r.get("site_address") or "", "city": r.get("site_city") or "",
        "postal_code": r.get("site_postcode") or "", "country": r["country"],
    }


def write_meta_csv(rows, medium, out) -> int:
    """UTF-8 CSV with Meta's column names (nested fields dotted, images indexed)."""
    text = text_writer(out, "utf-8")
    w = csv_writer(text)
    w.writerow(CSV_COLUMNS)
    count = 0
    for r in rows:
        v = _values(r)
        images = r["images"][:MAX_IMAGES]
        w.writerow([v["vehicle_id"], v["vin"], v["title"], v["description"], v["url"], v["make"], v["model"],
                    v["year"], v["trim"], v["mileage_value"], v["mileage_unit"], v["price"], v["body_style"],
                    v["exterior_color"], v["state_of_vehicle"], v["fuel_type"], v["transmission"],
                    v["dealer_name"], v["dealer_phone"], v["addr1"], v["city"], v["postal_code"],
                    v["country"]] + images + [""] * (MAX_IMAGES - len(images)))
        count += 1
    detach(text)
    return count


_XML_SIMPLE = ("vehicle_id", "vin", "title", "description", "url", "make", "model", "year", "trim", "price",
               "body_style", "exterior_color", "state_of_vehicle", "fuel_type", "transmission", "dealer_name",
               "dealer_phone")


def write_meta_xml(rows, medium, out) -> int:
    """``<listings><listing>…</listing></listings>`` as in Meta's XML vehicle feed sample."""
    xml = XmlStream(out)
    xml.write("<listings>\n <title>" + xml_text(getattr(medium, "name", "")) + "</title>\n")
    count = 0
    for r in rows:
        v = _values(r)
        parts = [" <listing>\n"]
        ap = parts.append
        for name in _XML_SIMPLE:
            value = v[name]
            if value is None or value == "":
                continue
            ap(f"  <{name}>{xml_text(value)}</{name}>\n")
        ap(f'  <mileage>\n   <value>{v["mileage_value"]}</value>\n   <unit>KM</unit>\n  </mileage>\n'
           '  <address format="simple">\n'
           f'   <component name="addr1">{xml_text(v["addr1"])}</component>\n'
           f'   <component name="city">{xml_text(v["city"])}</component>\n'
           f'   <component name="postal_code">{xml_text(v["postal_code"])}</component>\n'
           f'   <component name="country">{v["country"]}</component>\n  </address>\n')
        images = r["images"][:MAX_IMAGES]
        if images:
            ap("  <image>\n   <url>")
            ap("</url>\n  </image>\n  <image>\n   <url>".join(xml_text(u) for u in images))
            ap("</url>\n  </image>\n")
        ap(" </listing>\n")
        xml.write("".join(parts))
        count += 1
    xml.write("</listings>\n")
    xml.flush()
    return count


register(FeedFormat("meta_catalog_csv", "Meta (Facebook) catalogue véhicules – CSV", "csv", "text/csv", write_meta_csv,
                    required_vehicle_fields=REQUIRED, schema="meta_vehicle_catalog.schema.json",
                    fields=CSV_COLUMNS,
                    documentation="https://developers.facebook.com/docs/marketing-api/auto-ads/get-started/"
                                  "catalog-fields"))
register(FeedFormat("meta_catalog_xml", "Meta (Facebook) catalogue véhicules – XML", "xml", "application/xml",
                    write_meta_xml, required_vehicle_fields=REQUIRED, schema="meta_vehicle_catalog.schema.json",
                    documentation="https://developers.facebook.com/docs/marketing-api/auto-ads/get-started/"
                                  "catalog-fields"))
