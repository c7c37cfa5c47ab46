"""Google Vehicle Listings (vehicle ads) feed: tab-separated text feed, one listing per line.

Required attributes as published by Google for vehicle listings: vin, store_code, dealership_name,
dealership_address, price (amount + ISO 4217 code), condition, make, model, year; mileage for used
vehicles; trim when known; image_link (+ additional_image_link). Checked in tests against
``schemas/google_vehicle_listings.schema.json``.
"""
from __future__ import annotations

from . import FeedFormat, register
from .base import csv_writer, detach, money, text_writer

COLUMNS = ("id", "vin", "store_code", "dealership_name", "dealership_address", "price", "condition",
           "make", "model", "year", "mileage", "trim", "image_link", "additional_image_link", "link",
           "title", "color", "body_style", "fuel", "transmission", "description")


def _clean(value) -> str:
    # Tabs and new lines would split a TSV record: flatten them.
    return " ".join(str(value).split()) if value is not None else ""


def write_google(rows, medium, out) -> int:
    """Tab-separated UTF-8, header line of attribute names."""
    text = text_writer(out, "utf-8")
    w = csv_writer(text, delimiter="\t")
    w.writerow(COLUMNS)
    count = 0
    for r in rows:
        images = r["images"]
        mileage = r.get("mileage")
        w.writerow((
            f'{r.get("concession_code")}-{r["entry_number"]}', r.get("vin") or "", r.get("site_code") or "",
            _clean(r.get("dealership_name")), _clean(r.get("dealership_address")),
            f'{money(r.get("price"))} {r["currency"]}' if r.get("price") is not None else "",
            r["condition"], _clean(r.get("make")), _clean(r.get("model")), r.get("year") or "",
            f"{int(mileage)} km" if mileage is not None else "", _clean(r.get("version")),
            images[0] if images else "", ",".join(images[1:11]), r["url"],
            _clean(" ".join(p for p in (r.get("make"), r.get("model"), r.get("version")) if p)),
            _clean(r.get("colour")), r.get("body_label") or "", r.get("energy_label") or "",
            r.get("gearbox_label") or "", _clean(r.get("description"))[:5000],
        ))
        count += 1
    detach(text)
    return count


register(FeedFormat(
    "google_vehicle_listings", "Google Vehicle Listings (TSV)", "tsv", "text/tab-separated-values",
    write_google,
    required_vehicle_fields=("vin", "sale_price_ttc", "first_registration_date", "mileage", "photo"),
    schema="google_vehicle_listings.schema.json", fields=COLUMNS,
    documentation="https://support.google.com/google-ads/answer/14157046"))
