"""The rows given to feed writers: one plain dict per published vehicle, loaded set-based.

One query per send over vehicles ⋈ sites ⋈ concessions (never a query per vehicle). Photo URLs
are built from the vehicle id and the photo positions (``photo_count``), so no photo row is read.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select

from models.organisation import Concession, Site
from models.vehicle import BODY_CATEGORIES, ENERGIES, GEARBOXES, Vehicle, public_vehicle_token

from .base import money

ROW_COLUMNS = (
    Vehicle.id, Vehicle.entry_number, Vehicle.vin, Vehicle.registration, Vehicle.status, Vehicle.genre,
    Vehicle.make, Vehicle.model, Vehicle.family, Vehicle.version, Vehicle.energy, Vehicle.gearbox,
    Vehicle.body_category, Vehicle.colour, Vehicle.doors, Vehicle.seats, Vehicle.fiscal_power,
    Vehicle.co2, Vehicle.mileage, Vehicle.sale_price_ttc, Vehicle.first_registration_date,
    Vehicle.registration_date, Vehicle.description, Vehicle.photo_count, Vehicle.concession_id,
    Vehicle.site_id, Site.code.label("site_code"), Site.name.label("site_name"),
    Site.address.label("site_address"), Site.postcode.label("site_postcode"), Site.city.label("site_city"),
    Site.manager_name.label("site_manager_name"), Site.manager_phone.label("site_manager_phone"),
    Site.manager_email.label("site_manager_email"), Concession.code.label("concession_code"),
    Concession.name.label("concession_name"),
)


def vehicle_rows_stmt(vehicle_ids=None):
    """The select of feed rows (all vehicles, or only ``vehicle_ids``)."""
    stmt = (select(*ROW_COLUMNS).join(Site, Site.id == Vehicle.site_id)
            .join(Concession, Concession.id == Vehicle.concession_id))
    if vehicle_ids is not None:
        stmt = stmt.where(Vehicle.id.in_(list(vehicle_ids)))
    return stmt


def labels() -> dict[str, dict[str, str]]:
    """French labels of coded fields, resolved once per feed (not once per row)."""
    return {"gearbox": {k: str(v) for k, v in GEARBOXES.items()},
            "energy": {k: str(v) for k, v in ENERGIES.items()},
            "body": {k: str(v) for k, v in BODY_CATEGORIES.items()}}


def _secret() -> str:
    from flask import current_app, has_app_context

    return current_app.config["SECRET_KEY"] if has_app_context() else ""


@lru_cache(maxsize=4096)
def _dealership(concession_name, site_name, site_address, site_postcode, site_city) -> tuple[str, str]:
    """(dealership name, one-line address) of a site: the same for all its vehicles, so computed once."""
    address = ", ".join(p for p in (site_address, " ".join(p for p in (site_postcode, site_city) if p)) if p)
    return f'{concession_name or ""} – {site_name or ""}'.strip(" –"), address


def public_page(base_url: str, key: str) -> str:
    """Our public page of a vehicle (``key``: its ``public_vehicle_token``), its listing link by default."""
    return f"{base_url.rstrip('/')}/vo/{key}"


def _text(value) -> str | None:
    return None if value is None else str(value)


def feed_row(r: dict, base_url: str, contact: tuple | None = None, names: dict | None = None,
             listing_base: str | None = None, secret: str | None = None) -> dict:
    """Normalise a loaded row into the fields every writer reads."""
    first = r.get("first_registration_date") or r.get("registration_date")
    get = r.get
    dealership_name, address = _dealership(get("concession_name"), get("site_name"), get("site_address"),
                                           get("site_postcode"), get("site_city"))
    base = base_url.rstrip("/")
    names = names or labels()
    vid = r["id"]
    key = public_vehicle_token(_secret() if secret is None else secret, vid)  # signed: portals fetch photos without a login
    name, phone, email = contact or (r.get("site_manager_name"), r.get("site_manager_phone"),
                                     r.get("site_manager_email"))
    return {
        **r,
        "year": first.year if first else None,
        "condition": "used",
        "currency": "EUR",
        "price": r.get("sale_price_ttc"),
        "price_text": money(r.get("sale_price_ttc")),
        # Texts of the numbers and dates, converted once for every format that prints them as is.
        "year_text": None if first is None else str(first.year),
        "first_registration_text": _text(r.get("first_registration_date")),
        "mileage_text": _text(r.get("mileage")), "doors_text": _text(r.get("doors")),
        "seats_text": _text(r.get("seats")), "fiscal_power_text": _text(r.get("fiscal_power")),
        "co2_text": _text(r.get("co2")),
        "dealership_name": dealership_name,
        "dealership_address": address,
        "country": "FR",
        # The listing link: the medium's base + our reference when it has one, else our public page.
        "url": f"{listing_base}{r.get('concession_code')}-{r['entry_number']}" if listing_base else public_page(base, key),
        "images": [f"{base}/photos/{key}/{i}.jpg" for i in range(1, (r.get("photo_count") or 0) + 1)],
        "gearbox_label": names["gearbox"].get(r.get("gearbox"), ""),
        "energy_label": names["energy"].get(r.get("energy"), ""),
        "body_label": names["body"].get(r.get("body_category"), ""),
        "contact_name": name,
        "contact_phone": phone,
        "contact_email": email,
    }
