"""Google Vehicle Listings (vehicle ads) feed: tab-separated text feed, one listing per line.

Required attributes as published by Google for vehicle listings: vin, store_code, dealership_name,
dealership_address, price (amount + ISO 4217 code), condition, make, model, year; mileage for used
vehicles; trim when known; image_link (+ additional_image_link). Checked in tests against
``schemas/google_vehicle_listings.schema.json``.
"""
from __future__ import annotations

from . import FeedFormat, Slot, register
from .base import SLOT, csv_field, csv_header, csv_line_parts

COLUMNS = ("id", "vin", "store_code", "dealership_name", "dealership_address", "price", "condition",
           "make", "model", "year", "mileage", "trim", "image_link", "additional_image_link", "link",
           "title", "color", "body_style", "fuel", "transmission", "description")


def _clean(value) -> str:
    # Tabs and new lines would split a TSV record: flatten them.
    return " ".join(str(value).split()) if value is not None else ""


def _listing(r: dict) -> list[str]:
    """Tab-separated UTF-8, header line of attribute names; the link is the slot."""
    images = r["images"]
    mileage = r.get("mileage")
    make, model, version = r.get("make"), r.get("model"), r.get("version")
    price = r.get("price_text")
    return csv_line_parts([
        f'{r.get("concession_code")}-{r["entry_number"]}', r.get("vin") or "", r.get("site_code") or "",
        _clean(r.get("dealership_name")), _clean(r.get("dealership_address")),
        f'{price} {r["currency"]}' if price else "",
        r["condition"], _clean(make), _clean(model), str(r.get("year") or ""),
        f"{int(mileage)} km" if mileage is not None else "", _clean(version),
        images[0] if images else "", ",".join(images[1:11]), SLOT,
        _clean(" ".join(p for p in (make, model, version) if p)),
        _clean(r.get("colour")), r.get("body_label") or "", r.get("energy_label") or "",
        r.get("gearbox_label") or "", _clean(r.get("description"))[:5000],
    ], "\t")


register(FeedFormat(
    "google_vehicle_listings", "Google Vehicle Listings (TSV)", "tsv", "text/tab-separated-values",
    lambda medium: csv_header(COLUMNS, "\t"), _listing, slots=(Slot("url", csv_field("\t")),), errors="replace",
    required_vehicle_fields=("vin", "sale_price_ttc", "first_registration_date", "mileage", "photo"),
    schema="google_vehicle_listings.schema.json", fields=COLUMNS,
    documentation="https://support.google.com/google-ads/answer/14157046"))
