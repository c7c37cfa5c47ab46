"""A mobile.de-style CSV: semicolon-separated, ISO-8859-15, German column names, one line per ad.

Modelled on the dealer CSV import of German portals: customer number, internal number, category,
make, model, first registration (MM.YYYY), mileage, price in whole euros, fuel, gearbox, colour,
VIN, pictures (URLs separated by ``|``). Characters outside ISO-8859-15 become ``?``; the euro sign
and French accents are in it. Checked against ``schemas/mobile_de.schema.json``.
"""
from __future__ import annotations

import codecs

from . import FeedFormat, Slot, register
from .base import SLOT, csv_field, csv_header, csv_line_parts

# Typographic characters outside ISO-8859-15 get their plain equivalent; anything else becomes "?".
_PLAIN = {"\u2013": "-", "\u2014": "-", "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
          "\u2026": "...", "\u00a0": " ", "\u202f": " "}


def _transliterate(error: UnicodeEncodeError):
    text = error.object[error.start:error.end]
    return "".join(_PLAIN.get(ch, "?") for ch in text), error.end


codecs.register_error("latin9_plain", _transliterate)

COLUMNS = ("kundennummer", "interne_nummer", "kategorie", "marke", "modell", "modellbeschreibung",
           "erstzulassung", "kilometer", "preis", "mwst", "waehrung", "kraftstoffart", "getriebeart",
           "farbe", "tueren", "sitze", "fin", "beschreibung", "bilder", "haendler", "telefon")
CATEGORIES = {"sedan": "Limousine", "hatchback": "Kleinwagen", "estate": "Kombi", "suv": "SUV/Geländewagen",
              "coupe": "Sportwagen/Coupé", "convertible": "Cabrio/Roadster", "minivan": "Van/Kleinbus",
              "van": "Transporter", "pickup": "Pick-up"}
FUELS = {"petrol": "Benzin", "diesel": "Diesel", "hybrid": "Hybrid (Benzin/Elektro)",
         "plugin_hybrid": "Plug-in-Hybrid", "electric": "Elektro", "lpg": "Autogas (LPG)"}
GEARBOXES = {"manual": "Schaltgetriebe", "automatic": "Automatik"}
ENCODING = "iso-8859-15"


def _flat(value) -> str:
    return " ".join(str(value).split()) if value else ""


def _listing(r: dict) -> list[str]:
    """Semicolon CSV in ISO-8859-15 with a header line; the customer number and phone are the slots."""
    first = r.get("first_registration_date") or r.get("registration_date")
    price = r.get("price")
    mileage = r.get("mileage")
    return csv_line_parts([
        SLOT, r["entry_number"], CATEGORIES.get(r.get("body_category"), ""),
        r.get("make") or "", r.get("model") or "", _flat(r.get("version")),
        first.strftime("%m.%Y") if first else "", "" if mileage is None else str(int(mileage)),
        "" if price is None else str(int(round(price))), "1", "EUR", FUELS.get(r.get("energy"), ""),
        GEARBOXES.get(r.get("gearbox"), ""), r.get("colour") or "", str(r.get("doors") or ""),
        str(r.get("seats") or ""), r.get("vin") or "", _flat(r.get("description"))[:5000],
        "|".join(r["images"]), _flat(r.get("dealership_name")), SLOT,
    ], ";")


register(FeedFormat(
    "mobile_de_csv", "mobile.de (CSV ISO-8859-15)", "csv", "text/csv; charset=iso-8859-15",
    lambda medium: csv_header(COLUMNS, ";"), _listing,
    slots=(Slot("customer_code", csv_field(";")), Slot("contact", csv_field(";", 1))),
    required_vehicle_fields=("body_category", "sale_price_ttc", "first_registration_date", "mileage",
                             "energy", "gearbox"),
    schema="mobile_de.schema.json", encoding=ENCODING, errors="latin9_plain", fields=COLUMNS,
    documentation="docs/sends.md#mobilede"))
