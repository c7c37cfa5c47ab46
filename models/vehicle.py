"""The used-vehicle stock: the fiche VO, its price history and its photos (§2)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (DDL, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, SmallInteger,
                        String, Text, UniqueConstraint, event, func)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db

from .clock import utcnow

# Stock statuses: the first three are "in stock" and published by default (§0).
STATUSES = {
    "ST": _l("En stock"),
    "VD": _l("Démonstration / direction"),
    "DV": _l("Dépôt-vente"),
    "ARR": _l("Arrivage"),
    "CDE": _l("Commandé"),
    "VND": _l("Vendu"),
}
PUBLISHED_STATUSES = ("ST", "VD", "DV")

DESTINATIONS = {
    "none": _l("Sans destination"),
    "retail": _l("Particulier"),
    "trade": _l("Marchand"),
    "destruction": _l("Destruction"),
    "transfer": _l("Muté"),
}
AFFECTATIONS = {"sale": _l("Vente"), "workshop": _l("Atelier"), "staff": _l("Collaborateurs")}
ORIGINS = {
    "trade_in": _l("Reprise"),
    "purchase": _l("Achat"),
    "consignment": _l("Dépôt-vente"),
    "lease_return": _l("Retour de location"),
    "demo": _l("Véhicule de démonstration"),
}
GENRES = {"VP": _l("VP – voiture particulière"), "VU": _l("VU – utilitaire"), "CAM": _l("Camping-car"),
          "MOTO": _l("Moto")}
ENERGIES = {
    "petrol": _l("Essence"), "diesel": _l("Diesel"), "hybrid": _l("Hybride"),
    "plugin_hybrid": _l("Hybride rechargeable"), "electric": _l("Électrique"), "lpg": _l("GPL"),
}
GEARBOXES = {"manual": _l("Manuelle"), "automatic": _l("Automatique")}
BODY_CATEGORIES = {
    "sedan": _l("Berline"), "hatchback": _l("Citadine"), "estate": _l("Break"), "suv": _l("SUV / 4x4"),
    "coupe": _l("Coupé"), "convertible": _l("Cabriolet"), "minivan": _l("Monospace"), "van": _l("Fourgon"),
    "pickup": _l("Pick-up"),
}

# French plates: current SIV format and the older FNI format.
REGISTRATION_PATTERN = r"^([A-Z]{2}-?\d{3}-?[A-Z]{2}|\d{1,4} ?[A-Z]{1,3} ?(\d{2}|2A|2B|97\d))$"
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"

MONEY = Numeric(12, 2)


class Vehicle(db.Model):
    """A fiche VO. ``concession_id`` is denormalised from the site so every scope filter is one column."""
    __table_args__ = (
        UniqueConstraint("concession_id", "entry_number"),
        Index("ix_vehicle_scope", "concession_id", "destination", "status"),
        Index("ix_vehicle_make_model", "make", "model"),
        # Dashboards group the whole network's stock of one destination: on PostgreSQL an
        # index-only scan over these narrow columns instead of the wide rows (≈5× faster at 100k).
        Index("ix_vehicle_dashboard", "destination", "status",
              postgresql_include=["concession_id", "site_id", "entry_date", "price_changed_on", "score",
                                  "score_deal", "sale_price_ttc", "energy", "make", "photo_count",
                                  "referenced"]),
        # Stock lists: page 1 in the default order (weakest score first) read in index order, and
        # sorts / age filters on the dates without a scan of the wide rows.
        Index("ix_vehicle_destination_score", "destination", "score", "id"),
        Index("ix_vehicle_entry_date", "entry_date"),
        Index("ix_vehicle_price_changed_on", "price_changed_on"),
        # Quick search and list counts over the network: the searched columns read from a narrow
        # index instead of the wide rows (same key as ix_vehicle_dashboard: the two could merge).
        Index("ix_vehicle_search", "destination", "status",
              postgresql_include=["concession_id", "make", "model", "entry_number", "registration",
                                  "first_registration_date"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))

    # Statut
    entry_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(3), default="ST")
    affectation: Mapped[str] = mapped_column(String(10), default="sale")
    origin: Mapped[str | None] = mapped_column(String(20))
    destination: Mapped[str] = mapped_column(String(12), default="none")

    # Dates et prix
    purchase_date: Mapped[dt.date | None] = mapped_column(Date)
    entry_date: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)
    order_date: Mapped[dt.date | None] = mapped_column(Date)
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)
    sale_date: Mapped[dt.date | None] = mapped_column(Date)
    purchase_price: Mapped[Decimal | None] = mapped_column(MONEY)
    sale_price_ht: Mapped[Decimal | None] = mapped_column(MONEY)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("20.00"))
    sale_price_ttc: Mapped[Decimal | None] = mapped_column(MONEY)
    price_changed_on: Mapped[dt.date | None] = mapped_column(Date)
    recon_cost_estimated: Mapped[Decimal | None] = mapped_column(MONEY)
    recon_cost_actual: Mapped[Decimal | None] = mapped_column(MONEY)
    merchant_price: Mapped[Decimal | None] = mapped_column(MONEY)

    # Véhicule
    registration: Mapped[str | None] = mapped_column(String(12), index=True)
    registration_date: Mapped[dt.date | None] = mapped_column(Date)
    first_registration_date: Mapped[dt.date | None] = mapped_column(Date)
    genre: Mapped[str | None] = mapped_column(String(5))
    energy: Mapped[str | None] = mapped_column(String(15))
    make: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(60))
    version: Mapped[str | None] = mapped_column(String(120))
    family: Mapped[str | None] = mapped_column(String(60))
    vin: Mapped[str | None] = mapped_column(String(17))
    cnit: Mapped[str | None] = mapped_column(String(20))
    body_category: Mapped[str | None] = mapped_column(String(15))
    fiscal_power: Mapped[int | None] = mapped_column(SmallInteger)
    seats: Mapped[int | None] = mapped_column(SmallInteger)
    doors: Mapped[int | None] = mapped_column(SmallInteger)
    co2: Mapped[int | None] = mapped_column(SmallInteger)
    gearbox: Mapped[str | None] = mapped_column(String(10))

    # Infos commerciales
    mileage: Mapped[int | None] = mapped_column(Integer)
    first_hand: Mapped[bool | None] = mapped_column(Boolean)
    provenance: Mapped[str | None] = mapped_column(String(60))
    last_inspection_date: Mapped[dt.date | None] = mapped_column(Date)
    colour: Mapped[str | None] = mapped_column(String(40))
    warranty: Mapped[str | None] = mapped_column(String(120))
    equipment: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)

    # Acteurs
    supplier: Mapped[str | None] = mapped_column(String(120))
    intermediary: Mapped[str | None] = mapped_column(String(120))
    buyer: Mapped[str | None] = mapped_column(String(120))
    repreneur: Mapped[str | None] = mapped_column(String(120))
    salesperson: Mapped[str | None] = mapped_column(String(120))

    # Cotation
    referenced: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_valuation: Mapped[Decimal | None] = mapped_column(MONEY)
    custom_valuation_date: Mapped[dt.date | None] = mapped_column(Date)
    transaction_value: Mapped[Decimal | None] = mapped_column(MONEY)
    listing_value: Mapped[Decimal | None] = mapped_column(MONEY)
    valuation_date: Mapped[dt.date | None] = mapped_column(Date)

    # Kept up to date on every photo change so lists and charts never count rows per vehicle.
    photo_count: Mapped[int] = mapped_column(SmallInteger, default=0)

    # Score /10 and its breakdown (§3), stored so that lists and charts over 100,000 vehicles
    # group and filter on columns; refreshed by models.scoring when an input changes and nightly
    # (price freshness depends on the date). resale_ease: "easy" | "medium" | "hard".
    score: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    score_photos: Mapped[int | None] = mapped_column(SmallInteger)
    score_price: Mapped[int | None] = mapped_column(SmallInteger)
    score_referenced: Mapped[int | None] = mapped_column(SmallInteger)
    score_deal: Mapped[int | None] = mapped_column(SmallInteger)
    score_resale: Mapped[int | None] = mapped_column(SmallInteger)
    resale_ease: Mapped[str | None] = mapped_column(String(6))
    scored_on: Mapped[dt.date | None] = mapped_column(Date)

    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    concession = relationship("Concession")
    site = relationship("Site")
    location = relationship("Location")
    photos: Mapped[list[VehiclePhoto]] = relationship(
        back_populates="vehicle", order_by="VehiclePhoto.position", cascade="all, delete-orphan")
    price_changes: Mapped[list[PriceChange]] = relationship(
        back_populates="vehicle", order_by="PriceChange.changed_at.desc()", cascade="all, delete-orphan")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.make, self.model, self.version) if p)

    @property
    def margin(self) -> Decimal | None:
        """Sale price HT less purchase price and reconditioning (real, else estimated)."""
        if self.sale_price_ht is None or self.purchase_price is None:
            return None
        recon = self.recon_cost_actual if self.recon_cost_actual is not None else (self.recon_cost_estimated or 0)
        return self.sale_price_ht - self.purchase_price - recon

    def stock_days(self, today: dt.date | None = None) -> int | None:
        """Âge du stock: days since the entry date."""
        return ((today or dt.date.today()) - self.entry_date).days if self.entry_date else None

    def price_age_days(self, today: dt.date | None = None) -> int | None:
        """Âge du prix: days since the sale price last changed."""
        return ((today or dt.date.today()) - self.price_changed_on).days if self.price_changed_on else None

    def __str__(self) -> str:
        return f"VO {self.entry_number} – {self.label}"


# Quick search of the stock lists (models.stock_filters.quick_search_condition): every word is a
# LIKE '%word%' on these expressions, OR-ed with the year of first registration. On PostgreSQL,
# trigram GIN indexes on exactly those expressions turn the network-wide search from a scan of
# every row (≈300 ms at 125,000 rows) into bitmap index scans (≈20 ms). pg_trgm is a trusted
# extension (PostgreSQL ≥ 13): the database owner may create it.
event.listen(Vehicle.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
for _name, _expr in (("model", func.lower(Vehicle.model)), ("make", func.lower(Vehicle.make)),
                     ("entry", func.lower(Vehicle.entry_number)),
                     ("plate", func.replace(func.upper(Vehicle.registration), "-", ""))):
    Index(f"ix_vehicle_search_{_name}", _expr.label(f"search_{_name}"), postgresql_using="gin",
          postgresql_ops={f"search_{_name}": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
Index("ix_vehicle_first_registration", Vehicle.first_registration_date)


class PriceChange(db.Model):
    """One change of a vehicle's sale price TTC: what "âge du prix" is measured from."""
    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id", ondelete="CASCADE"), index=True)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    old_price: Mapped[Decimal | None] = mapped_column(MONEY)
    new_price: Mapped[Decimal | None] = mapped_column(MONEY)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    vehicle: Mapped[Vehicle] = relationship(back_populates="price_changes")
    user = relationship("User")


class VehiclePhoto(db.Model):
    """An image of a vehicle; the file lives under instance/photos/<vehicle id>/."""
    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    filename: Mapped[str] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(30))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    vehicle: Mapped[Vehicle] = relationship(back_populates="photos")


def apply_sale_price(vehicle: Vehicle, new_price: Decimal | None, user_id: int | None,
                     today: dt.date | None = None) -> bool:
    """Set the sale price TTC; a real change is dated and kept in the price history.

    The one place where a sale price changes: the fiche, the in-place edit of the stock lists and
    imports all call it. HT is derived from TTC and the VAT rate. Returns whether it changed.
    """
    old = vehicle.sale_price_ttc
    if new_price is not None:
        new_price = Decimal(new_price).quantize(Decimal("0.01"))
        if new_price < 0:
            raise ValueError("negative price")
    vehicle.sale_price_ttc = new_price
    rate = Decimal(vehicle.vat_rate if vehicle.vat_rate is not None else 20)
    vehicle.sale_price_ht = (None if new_price is None
                             else (new_price / (1 + rate / 100)).quantize(Decimal("0.01")))
    if old is not None and new_price is not None and Decimal(old) == new_price:
        return False
    if old is None and new_price is None:
        return False
    vehicle.price_changed_on = today or dt.date.today()
    vehicle.price_changes.append(PriceChange(old_price=old, new_price=new_price, user_id=user_id))
    return True


def public_vehicle_token(secret: str, vehicle_id: int) -> str:
    """The unguessable key of a vehicle's public listing page and photos, written into feeds.

    Portals fetch photos and listing pages without logging in: a signed key lets them, without letting
    anyone enumerate the stock by id.
    """
    import hmac

    # hmac.digest: the one-shot C path, several times faster than hmac.new (feeds sign 100,000s of ids).
    signature = hmac.digest(secret.encode(), f"vehicle:{vehicle_id}".encode(), "sha256").hex()[:16]
    return f"{vehicle_id}-{signature}"


def vehicle_id_from_token(secret: str, token: str) -> int | None:
    """The vehicle id of a public key, or None when the key is not one we issued."""
    import hmac

    head, _, _signature = token.partition("-")
    if not head.isdigit():
        return None
    expected = public_vehicle_token(secret, int(head))
    return int(head) if hmac.compare_digest(expected, token) else None
