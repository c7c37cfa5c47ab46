"""Realistic used-vehicle stock and a year of sales history, inserted set-wise."""
from __future__ import annotations

import datetime as dt
import io
import os
import string
from decimal import Decimal

from flask import current_app
from sqlalchemy import insert, select

from backoffice.extensions import db
from models import Site, Vehicle, VehiclePhoto

# make, model, family, body, genre, [versions], new price (€), energies
CATALOGUE = [
    ("RENAULT", "CLIO", "CLIO V", "hatchback", "VP", ["1.0 TCe 90 Evolution", "E-Tech full hybrid 145 Techno",
                                                      "1.5 Blue dCi 100 Intens"], 21000, ["petrol", "hybrid", "diesel"]),
    ("RENAULT", "CAPTUR", "CAPTUR II", "suv", "VP", ["TCe 140 EDC Techno", "E-Tech 145 Esprit Alpine"], 28000,
     ["petrol", "hybrid"]),
    ("RENAULT", "MEGANE", "MEGANE IV", "estate", "VP", ["Estate 1.3 TCe 140 Business", "Blue dCi 115 Intens"],
     27000, ["petrol", "diesel"]),
    ("RENAULT", "KANGOO", "KANGOO VAN", "van", "VU", ["Blue dCi 95 Grand Confort", "E-Tech électrique 122"],
     26000, ["diesel", "electric"]),
    ("PEUGEOT", "208", "208 II", "hatchback", "VP", ["1.2 PureTech 100 Allure", "e-208 136 GT"], 22000,
     ["petrol", "electric"]),
    ("PEUGEOT", "2008", "2008 II", "suv", "VP", ["1.2 PureTech 130 EAT8 GT", "BlueHDi 110 Active Pack"], 27000,
     ["petrol", "diesel"]),
    ("PEUGEOT", "3008", "3008 II", "suv", "VP", ["1.5 BlueHDi 130 EAT8 Allure", "Hybrid4 300 GT"], 36000,
     ["diesel", "plugin_hybrid"]),
    ("PEUGEOT", "308", "308 III", "hatchback", "VP", ["1.2 PureTech 130 Allure Pack", "Hybrid 180 GT"], 31000,
     ["petrol", "plugin_hybrid"]),
    ("PEUGEOT", "PARTNER", "PARTNER III", "van", "VU", ["1.5 BlueHDi 100 Premium"], 24000, ["diesel"]),
    ("CITROEN", "C3", "C3 III", "hatchback", "VP", ["PureTech 83 Feel", "BlueHDi 100 Shine"], 18500,
     ["petrol", "diesel"]),
    ("CITROEN", "C5 AIRCROSS", "C5 AIRCROSS", "suv", "VP", ["BlueHDi 130 EAT8 Feel", "Hybride 225 Shine"], 34000,
     ["diesel", "plugin_hybrid"]),
    ("CITROEN", "BERLINGO", "BERLINGO III", "minivan", "VP", ["BlueHDi 130 Shine XL"], 29000, ["diesel"]),
    ("DACIA", "SANDERO", "SANDERO III", "hatchback", "VP", ["Stepway TCe 90 Confort", "ECO-G 100 Expression"],
     15500, ["petrol", "lpg"]),
    ("DACIA", "DUSTER", "DUSTER II", "suv", "VP", ["Blue dCi 115 4x4 Prestige", "TCe 130 Journey"], 21000,
     ["diesel", "petrol"]),
    ("VOLKSWAGEN", "GOLF", "GOLF VIII", "hatchback", "VP", ["1.5 eTSI 150 DSG7 Life", "2.0 TDI 115 Style"],
     32000, ["petrol", "diesel"]),
    ("VOLKSWAGEN", "POLO", "POLO VI", "hatchback", "VP", ["1.0 TSI 95 Life", "1.0 TSI 110 DSG7 R-Line"], 22000,
     ["petrol"]),
    ("VOLKSWAGEN", "T-ROC", "T-ROC", "suv", "VP", ["1.5 TSI 150 DSG7 Style"], 31000, ["petrol"]),
    ("TOYOTA", "YARIS", "YARIS IV", "hatchback", "VP", ["Hybride 116h France", "1.5 VVT-i 125 Design"], 23000,
     ["hybrid", "petrol"]),
    ("TOYOTA", "C-HR", "C-HR", "suv", "VP", ["122h Dynamic Business", "184h GR Sport"], 32000, ["hybrid"]),
    ("BMW", "SERIE 1", "SERIE 1 F40", "hatchback", "VP", ["118i 136 M Sport", "116d 116 Business Design"],
     35000, ["petrol", "diesel"]),
    ("BMW", "X1", "X1 U11", "suv", "VP", ["sDrive18i 136 xLine", "xDrive25e 245 M Sport"], 45000,
     ["petrol", "plugin_hybrid"]),
    ("AUDI", "A3", "A3 SPORTBACK", "hatchback", "VP", ["35 TFSI 150 S tronic S line", "30 TDI 116 Design"],
     36000, ["petrol", "diesel"]),
    ("AUDI", "Q3", "Q3 II", "suv", "VP", ["35 TDI 150 S tronic Design Luxe"], 45000, ["diesel"]),
    ("MERCEDES-BENZ", "CLASSE A", "CLASSE A W177", "hatchback", "VP", ["A 180 d 116 Progressive Line",
                                                                       "A 250 e 218 AMG Line"], 36000,
     ["diesel", "plugin_hybrid"]),
    ("FORD", "FIESTA", "FIESTA VII", "hatchback", "VP", ["1.0 EcoBoost 100 Titanium"], 20000, ["petrol"]),
    ("FORD", "KUGA", "KUGA III", "suv", "VP", ["2.5 Duratec 225 PHEV ST-Line X"], 42000, ["plugin_hybrid"]),
    ("OPEL", "CORSA", "CORSA F", "hatchback", "VP", ["1.2 Turbo 100 Elegance", "Corsa-e 136 GS Line"], 21000,
     ["petrol", "electric"]),
    ("FIAT", "500", "500 III", "hatchback", "VP", ["1.0 70 Hybrid Dolcevita", "500e 118 La Prima"], 18000,
     ["hybrid", "electric"]),
    ("TESLA", "MODEL 3", "MODEL 3", "sedan", "VP", ["Propulsion", "Grande Autonomie AWD"], 45000, ["electric"]),
    ("KIA", "SPORTAGE", "SPORTAGE V", "suv", "VP", ["1.6 T-GDi 230 HEV Design"], 38000, ["hybrid"]),
    ("HYUNDAI", "TUCSON", "TUCSON IV", "suv", "VP", ["1.6 T-GDi 230 Hybrid Executive"], 39000, ["hybrid"]),
    ("NISSAN", "QASHQAI", "QASHQAI III", "suv", "VP", ["1.3 Mild Hybrid 158 Xtronic N-Connecta"], 33000,
     ["hybrid"]),
    ("SKODA", "OCTAVIA", "OCTAVIA IV", "estate", "VP", ["Combi 2.0 TDI 150 DSG7 Style"], 34000, ["diesel"]),
    ("SEAT", "IBIZA", "IBIZA V", "hatchback", "VP", ["1.0 TSI 95 Style", "1.0 TSI 110 FR"], 19500, ["petrol"]),
]
COLOURS = ("Blanc Glacier", "Gris Platine", "Noir Étoilé", "Bleu Iron", "Rouge Flamme", "Gris Cassiopée",
           "Blanc Nacré", "Bleu Céleste", "Vert Kaki", "Orange Valencia")
WARRANTIES = ("Garantie 12 mois", "Garantie constructeur", "Garantie 24 mois", "Sans garantie")
EQUIPMENT = ("Climatisation automatique, GPS, radar de recul, régulateur de vitesse",
             "Caméra de recul, Apple CarPlay, jantes alliage, feux LED",
             "Toit ouvrant, sièges chauffants, aide au stationnement, affichage tête haute")
SUPPLIERS = ("Particulier", "BCA Enchères", "Renault Retail Group", "Leasys", "Arval", "Ayvens")
STATUS_WEIGHTS = (("ST", 62), ("VD", 10), ("DV", 8), ("ARR", 8), ("CDE", 7), ("VND", 5))
DESTINATION_WEIGHTS = (("retail", 55), ("trade", 20), ("none", 19), ("destruction", 2), ("transfer", 4))
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _plate(rng):
    letters = lambda: "".join(rng.choice(PLATE_LETTERS) for _ in range(2))  # noqa: E731
    return f"{letters()}-{rng.randint(100, 999)}-{letters()}"


def vehicle_row(rng, today, concession_id, site_id, location_id, number, sold=False):
    """One realistic vehicle as a dict of column values."""
    make, model, family, body, genre, versions, new_price, energies = rng.choice(CATALOGUE)
    age_years = min(12, max(0, int(rng.expovariate(1 / 4))))
    first_reg = today - dt.timedelta(days=365 * age_years + rng.randint(30, 330))
    mileage = max(5, int(age_years * rng.gauss(14000, 5000) + rng.randint(0, 8000)))
    # Market value: -13 %/year with a floor at a fifth of the new price, less for high mileage.
    value = new_price * max(0.2, 0.87 ** max(age_years, 0.5)) * (1 - min(mileage, 250000) / 900000)
    price = Decimal(int(max(2500, value) / 100) * 100 - 10)
    stock_days = int(rng.expovariate(1 / 70))
    entry = today - dt.timedelta(days=min(stock_days, 400))
    status = "VND" if sold else _weighted(rng, STATUS_WEIGHTS)
    destination = "retail" if sold else _weighted(rng, DESTINATION_WEIGHTS)
    if status in ("ARR",):
        entry = today + dt.timedelta(days=rng.randint(0, 10)) if rng.random() < 0.3 else entry
    priced = sold or rng.random() > 0.12
    price_changed = entry + dt.timedelta(days=rng.randint(0, max(0, (today - entry).days)))
    if price_changed > today:
        price_changed = today
    referenced = rng.random() > 0.2
    valuation = price * Decimal(str(round(rng.uniform(0.93, 1.12), 3))) if referenced else None
    sale_date = None
    if sold:
        sale_date = today - dt.timedelta(days=rng.randint(1, 360))
        entry = sale_date - dt.timedelta(days=int(rng.expovariate(1 / 55)) + 3)
        price_changed = entry
    vat = Decimal("20.00")
    return {
        "concession_id": concession_id, "site_id": site_id, "location_id": location_id,
        "entry_number": f"{number:05d}", "status": status,
        "affectation": "sale" if rng.random() > 0.05 else rng.choice(("workshop", "staff")),
        "origin": rng.choice(("trade_in", "trade_in", "purchase", "lease_return", "consignment")),
        "destination": destination,
        "purchase_date": entry - dt.timedelta(days=rng.randint(0, 20)), "entry_date": entry,
        "order_date": (today - dt.timedelta(days=rng.randint(0, 10))) if status == "CDE" else None,
        "delivery_date": None, "sale_date": sale_date,
        "purchase_price": (price * Decimal("0.78")).quantize(Decimal("1")),
        "sale_price_ttc": price if priced else None,
        "sale_price_ht": (price / (1 + vat / 100)).quantize(Decimal("0.01")) if priced else None,
        "vat_rate": vat, "price_changed_on": price_changed if priced else None,
        "recon_cost_estimated": Decimal(rng.randint(0, 15) * 100),
        "recon_cost_actual": Decimal(rng.randint(0, 15) * 100) if rng.random() > 0.5 else None,
        "merchant_price": (price * Decimal("0.85")).quantize(Decimal("1")) if priced else None,
        "registration": _plate(rng) if rng.random() > 0.03 else None,
        "registration_date": first_reg, "first_registration_date": first_reg, "genre": genre,
        "energy": rng.choice(energies), "make": make, "model": model, "version": rng.choice(versions),
        "family": family, "vin": "VF" + "".join(rng.choice(VIN_CHARS) for _ in range(15)) if rng.random() > 0.05
        else None,
        "cnit": None, "body_category": body, "fiscal_power": rng.randint(4, 11), "seats": 5,
        "doors": 3 if body == "coupe" else 5, "co2": rng.randint(0, 160),
        # a realistic share of fiches lack the gearbox: media filters have something to report
        "gearbox": None if rng.random() < 0.08 else ("automatic" if rng.random() < 0.45 else "manual"),
        "mileage": mileage, "first_hand": rng.random() > 0.4, "provenance": "France",
        "last_inspection_date": (today - dt.timedelta(days=rng.randint(10, 700))) if age_years >= 4 else None,
        "colour": rng.choice(COLOURS) if rng.random() > 0.04 else None, "warranty": rng.choice(WARRANTIES),
        "equipment": rng.choice(EQUIPMENT),
        "description": f"{make.title()} {model.title()} en très bon état, entretien suivi, {rng.choice(EQUIPMENT).lower()}.",
        "supplier": rng.choice(SUPPLIERS), "intermediary": None, "buyer": None, "repreneur": None,
        "salesperson": rng.choice(("J. Bernard", "N. Petit", "K. Robert", "E. Moreau")),
        "referenced": referenced,
        "custom_valuation": valuation.quantize(Decimal("1")) if valuation and rng.random() < 0.5 else None,
        "custom_valuation_date": (today - dt.timedelta(days=rng.randint(0, 40))) if valuation else None,
        "transaction_value": valuation.quantize(Decimal("1")) if valuation else None,
        "listing_value": (valuation * Decimal("1.06")).quantize(Decimal("1")) if valuation else None,
        "valuation_date": (today - dt.timedelta(days=rng.randint(0, 40))) if valuation else None,
        "photo_count": 0 if rng.random() < 0.3 else min(25, int(rng.expovariate(1 / 8)) + 1),
    }


def seed(ctx):
    rng, today = ctx.rng, ctx.today
    sites = db.session.execute(select(Site.id, Site.concession_id)).all()
    demo_sites = [s for s in sites if s.concession_id in {c.id for c in ctx.data["concessions"].values()}]
    from models import Location

    first_location = dict(db.session.execute(select(Location.site_id, Location.id)
                                             .order_by(Location.id.desc())).all())
    numbers: dict[int, int] = {}
    rows = []

    def add(site, sold=False):
        numbers[site.concession_id] = numbers.get(site.concession_id, 1000) + 1
        rows.append(vehicle_row(rng, today, site.concession_id, site.id, first_location.get(site.id),
                                numbers[site.concession_id], sold=sold))

    # The demo concessions always get their ~150 vehicles; scale runs spread the rest over the network.
    demo_count = min(ctx.vehicles, 150)
    for _ in range(demo_count):
        add(rng.choice(demo_sites))
    for _ in range(ctx.vehicles - demo_count):
        add(rng.choice(sites))
    # Sales history of the last 12 months: what "facilité de revente" and valuations learn from.
    # Enough sales that comparable vehicles exist for valuations ("Coter") on the demo stock.
    for _ in range(max(400, ctx.vehicles // 4)):
        add(rng.choice(demo_sites if ctx.vehicles <= 150 else sites), sold=True)

    photo_counts = [r["photo_count"] for r in rows]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Vehicle), rows[start:start + 5000])
    db.session.commit()
    if ctx.with_photos:
        _write_photos(ctx, photo_counts)


def _write_photos(ctx, photo_counts):
    """Small generated JPEGs so that photo pages and feeds have real files."""
    from PIL import Image, ImageDraw

    vehicles = db.session.execute(select(Vehicle.id, Vehicle.make, Vehicle.model, Vehicle.photo_count)
                                  .where(Vehicle.photo_count > 0)).all()
    folder = current_app.config["PHOTO_FOLDER"]
    palette = [(40, 70, 120), (120, 40, 40), (60, 110, 60), (90, 90, 90), (150, 110, 30)]
    photo_rows = []
    for v in vehicles:
        target = os.path.join(folder, str(v.id))
        os.makedirs(target, exist_ok=True)
        for position in range(v.photo_count):
            img = Image.new("RGB", (320, 240), palette[(v.id + position) % len(palette)])
            ImageDraw.Draw(img).text((12, 12), f"{v.make} {v.model} #{position + 1}", fill=(255, 255, 255))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=70)
            name = "".join(ctx.rng.choice(string.hexdigits.lower()) for _ in range(24)) + ".jpg"
            with open(os.path.join(target, name), "wb") as out:
                out.write(buf.getvalue())
            photo_rows.append({"vehicle_id": v.id, "position": position, "filename": name,
                               "content_type": "image/jpeg", "size_bytes": buf.tell()})
    if photo_rows:
        db.session.execute(insert(VehiclePhoto), photo_rows)
    db.session.commit()
