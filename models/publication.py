"""Publication set-up (§6.1–§6.4): media, publication lists, subscriptions, media configuration,
contacts and the per-vehicle media states.

The rules that use these rows live in plain modules next to this one:
``models.send_decision`` (the send decision engine, §6.5), ``models.media_state`` (the P/S/D/F
clicks, §6.4) and ``models.contact_resolution`` (which contact goes into a listing, §6.3).
``models.publication_inputs`` turns these rows into the engine's plain inputs with a few
set-based queries: ``compute_decisions(session, concession_ids=None, medium_ids=None, today=None)``.

Tenancy: ``Medium`` is network-wide (admin-defined); everything else carries ``concession_id`` and
defines ``in_concessions(ids)`` for ``models.scope.Scope``.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, Numeric, SmallInteger,
                        String, Table, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db

from .clock import utcnow
from .send_decision import (DEFAULT_PUBLISHED_STATUSES, LIMIT_MODES, MANDATORY_FIELDS, ORDERINGS,  # noqa: F401
                            OUTCOMES, SELECTION_MODES)

MONEY = Numeric(12, 2)

MEDIUM_KINDS = {
    "classified": _l("Portail d'annonces"),
    "manufacturer": _l("Site constructeur"),
    "dealer": _l("Site concession"),
    "app": _l("Application"),
    "trade": _l("Plateforme marchand"),
}
MEDIUM_DESTINATIONS = {"retail": _l("Particulier"), "trade": _l("Marchand")}
DELIVERY_KINDS = {"folder": _l("Dossier"), "http": _l("HTTP (POST)")}
# Keys of the feed plug-ins (models.feeds / jobs of the send); listed here so the medium form can offer them.
FEED_FORMATS = {
    "generic_xml": _l("XML générique"),
    "generic_csv": _l("CSV générique"),
    "google_vehicle_listings": _l("Google Vehicle Listings"),
    "meta_catalog_csv": _l("Catalogue Meta (CSV)"),
    "meta_catalog_xml": _l("Catalogue Meta (XML)"),
    "mobile_de_csv": _l("mobile.de (CSV)"),
}
MANDATORY_FIELD_LABELS = {
    "body_category": _l("Catégorie"),
    "gearbox": _l("Type de boîte"),
    "sale_price_ttc": _l("Prix de vente TTC"),
    "merchant_price": _l("Prix marchand"),
    "mileage": _l("Kilométrage"),
    "photo": _l("Au moins une photo"),
    "energy": _l("Énergie"),
    "colour": _l("Couleur"),
    "first_registration_date": _l("Date de 1re mise en circulation"),
    "registration": _l("Immatriculation"),
    "vin": _l("N° de série (VIN)"),
    "version": _l("Version"),
    "fiscal_power": _l("Puissance fiscale"),
    "doors": _l("Nombre de portes"),
    "description": _l("Description"),
}
assert set(MANDATORY_FIELD_LABELS) == set(MANDATORY_FIELDS)
SELECTION_MODE_LABELS = {"auto": _l("Automatique"), "manual": _l("Manuelle")}
LIMIT_MODE_LABELS = {"none": _l("Aucune limite"), "global": _l("Limite globale (toutes les listes)"),
                     "per_list": _l("Limite pour chaque liste")}
ORDERING_LABELS = {
    "score": _l("Scoring"),
    "stock_age_youngest": _l("Âge du stock : du plus jeune au plus vieux"),
    "stock_age_oldest": _l("Âge du stock : du plus vieux au plus jeune"),
    "price_asc": _l("Prix : du moins cher au plus cher"),
    "price_desc": _l("Prix : du plus cher au moins cher"),
    "photos": _l("Nombre de photos"),
    "none": _l("Pas de préférence"),
}
OUTCOME_LABELS = {
    "sent": _l("Envoyé"),
    "filtered_media": _l("Filtré (média)"),
    "filtered_custom": _l("Filtré (perso)"),
    "deselected": _l("Désélectionné"),
    "not_selected": _l("Non sélectionné"),
    "limit_reached": _l("Limite atteinte"),
}
assert set(OUTCOME_LABELS) == set(OUTCOMES) and set(ORDERING_LABELS) == set(ORDERINGS)
STATE_LABELS = {"P": _l("Prioritaire"), "S": _l("Sélectionné"), "D": _l("Désélectionné")}

LIST_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


def split_codes(text: str | None) -> list[str]:
    """"PE05 AU62" / "PE05, AU62" → ["PE05", "AU62"] (order kept, duplicates dropped)."""
    seen: list[str] = []
    for code in re.split(r"[\s,;]+", (text or "").strip()):
        if code and code.upper() not in seen:
            seen.append(code.upper())
    return seen


class Medium(db.Model):
    """A publication channel (média), defined by an admin for the whole network (§6.1)."""
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="classified")
    destination: Mapped[str] = mapped_column(String(10), default="retail")  # "retail" | "trade"
    feed_format: Mapped[str] = mapped_column(String(40), default="generic_xml")
    delivery_kind: Mapped[str] = mapped_column(String(10), default="folder")  # "folder" | "http"
    delivery_target: Mapped[str | None] = mapped_column(String(500))  # folder path or URL
    # The media filter: keys of MANDATORY_FIELDS a vehicle must have to be sent (JSON list).
    mandatory_fields: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    base_url: Mapped[str | None] = mapped_column(String(500))  # listing links: base_url + vehicle reference
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    def __str__(self) -> str:
        return self.name


publication_list_site = Table(
    "publication_list_site",
    db.metadata,
    Column("publication_list_id", Integer, ForeignKey("publication_list.id", ondelete="CASCADE"),
           primary_key=True),
    Column("site_id", Integer, ForeignKey("site.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class PublicationList(db.Model):
    """A named group of sites of one concession with its list codes (§6.1).

    Which media a list goes to, and under which customer code, is held by ``ListSubscription`` rows
    (the "Code liste inscrit" of the media configuration): ``media`` reads them.
    """
    __table_args__ = (UniqueConstraint("concession_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    codes: Mapped[str] = mapped_column(String(200), default="")  # space-separated list codes: "PE05 AU62"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    concession = relationship("Concession")
    sites = relationship("Site", secondary=publication_list_site, order_by="Site.name")
    subscriptions: Mapped[list[ListSubscription]] = relationship(
        back_populates="publication_list", cascade="all, delete-orphan")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    @property
    def code_list(self) -> list[str]:
        return split_codes(self.codes)

    @property
    def media(self) -> list[Medium]:
        return sorted((s.config.medium for s in self.subscriptions), key=lambda m: m.name)

    def __str__(self) -> str:
        return self.name


class MediumConfig(db.Model):
    """"Configuration de la publication" of one medium for one concession (§6.2).

    Custom filter ("filtre personnalisé"): every ``filter_*`` column left NULL (or an empty list)
    is not applied; a vehicle is kept when it meets every criterion that is set:
    score ≥ filter_min_score; stock age (days) < filter_max_stock_days; vehicle age (years since the
    first registration) ≤ filter_max_vehicle_age; photos ≥ filter_min_photos; a cote when
    filter_requires_cote; genre in filter_genres; make in filter_makes; site in filter_site_ids;
    price age (days) < filter_max_price_age_days; filter_min_sale_price ≤ sale price TTC ≤
    filter_max_sale_price; filter_min_merchant_price ≤ merchant price ≤ filter_max_merchant_price;
    colour in filter_colours.
    """
    __table_args__ = (UniqueConstraint("concession_id", "medium_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"), index=True)
    medium_id: Mapped[int] = mapped_column(ForeignKey("medium.id", ondelete="CASCADE"), index=True)
    selection_mode: Mapped[str] = mapped_column(String(6), default="auto")  # "auto" | "manual"
    limit_mode: Mapped[str] = mapped_column(String(8), default="none")  # "none" | "global" | "per_list"
    limit_value: Mapped[int | None] = mapped_column(Integer)  # the global limit; per list: ListSubscription.limit
    ordering: Mapped[str] = mapped_column(String(20), default="score")
    # The selection is imposed by an admin: dealers see S read-only and their P/D clicks do not apply.
    admin_imposed_selection: Mapped[bool] = mapped_column(Boolean, default=False)
    # Statuses published on this medium; NULL = the default ST, VD, DV.
    published_statuses: Mapped[list | None] = mapped_column(JSON)

    filter_min_score: Mapped[int | None] = mapped_column(SmallInteger)
    filter_max_stock_days: Mapped[int | None] = mapped_column(Integer)
    filter_max_vehicle_age: Mapped[int | None] = mapped_column(SmallInteger)
    filter_min_photos: Mapped[int | None] = mapped_column(SmallInteger)
    filter_requires_cote: Mapped[bool] = mapped_column(Boolean, default=False)
    filter_genres: Mapped[list | None] = mapped_column(JSON)
    filter_makes: Mapped[list | None] = mapped_column(JSON)
    filter_site_ids: Mapped[list | None] = mapped_column(JSON)
    filter_max_price_age_days: Mapped[int | None] = mapped_column(Integer)
    filter_min_sale_price: Mapped[Decimal | None] = mapped_column(MONEY)
    filter_max_sale_price: Mapped[Decimal | None] = mapped_column(MONEY)
    filter_min_merchant_price: Mapped[Decimal | None] = mapped_column(MONEY)
    filter_max_merchant_price: Mapped[Decimal | None] = mapped_column(MONEY)
    filter_colours: Mapped[list | None] = mapped_column(JSON)

    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    concession = relationship("Concession")
    medium: Mapped[Medium] = relationship()
    subscriptions: Mapped[list[ListSubscription]] = relationship(
        back_populates="config", cascade="all, delete-orphan")

    FILTER_COLUMNS = ("filter_min_score", "filter_max_stock_days", "filter_max_vehicle_age", "filter_min_photos",
                      "filter_requires_cote", "filter_genres", "filter_makes", "filter_site_ids",
                      "filter_max_price_age_days", "filter_min_sale_price", "filter_max_sale_price",
                      "filter_min_merchant_price", "filter_max_merchant_price", "filter_colours")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    @property
    def has_custom_filter(self) -> bool:
        """Whether any custom filter criterion is set (the guide's "Filtré" vs "Ajouter")."""
        return any(getattr(self, c) not in (None, False, [], "") for c in self.FILTER_COLUMNS)

    def __str__(self) -> str:
        return f"{self.medium} – {self.concession}" if self.medium else "?"


class ListSubscription(db.Model):
    """A publication list subscribed to a medium, with its customer code there ("Code liste inscrit")."""
    __table_args__ = (UniqueConstraint("config_id", "publication_list_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("medium_config.id", ondelete="CASCADE"), index=True)
    publication_list_id: Mapped[int] = mapped_column(ForeignKey("publication_list.id", ondelete="CASCADE"),
                                                     index=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"), index=True)  # = config's
    customer_code: Mapped[str | None] = mapped_column(String(40))  # e.g. bm11c1
    limit: Mapped[int | None] = mapped_column(Integer)  # used when the config's limit_mode is "per_list"

    config: Mapped[MediumConfig] = relationship(back_populates="subscriptions")
    publication_list: Mapped[PublicationList] = relationship(back_populates="subscriptions")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    def __str__(self) -> str:
        return f"{self.publication_list} ({self.customer_code or '—'})"


contact_publication_list = Table(
    "contact_publication_list",
    db.metadata,
    Column("contact_id", Integer, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
    Column("publication_list_id", Integer, ForeignKey("publication_list.id", ondelete="CASCADE"),
           primary_key=True),
)
contact_medium = Table(
    "contact_medium",
    db.metadata,
    Column("contact_id", Integer, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
    Column("medium_id", Integer, ForeignKey("medium.id", ondelete="CASCADE"), primary_key=True),
)


class Contact(db.Model):
    """A contact written into listings (§6.3); an empty lists/media/makes/statuses selection means all."""
    id: Mapped[int] = mapped_column(primary_key=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(30))
    mobile: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(255))
    makes: Mapped[list | None] = mapped_column(JSON)  # ["CITROEN", "PEUGEOT"]; empty/NULL = all makes
    statuses: Mapped[list | None] = mapped_column(JSON)  # ["ST"]; empty/NULL = all statuses
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    concession = relationship("Concession")
    publication_lists = relationship("PublicationList", secondary=contact_publication_list,
                                     order_by="PublicationList.name")
    media = relationship("Medium", secondary=contact_medium, order_by="Medium.name")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})" if self.phone else self.name


class VehicleMediumState(db.Model):
    """The explicit state of one vehicle on one medium (§6.4): "P", "S" or "D".

    No row = the default (selected in automatic mode, not selected in manual mode). ``admin_locked``
    marks an S imposed by an admin: read-only for dealers. ``concession_id`` is the vehicle's,
    denormalised so that states load per concession and medium in one query.
    """
    __table_args__ = (
        UniqueConstraint("vehicle_id", "medium_id"),
        Index("ix_vehicle_medium_state_scope", "concession_id", "medium_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id", ondelete="CASCADE"))
    medium_id: Mapped[int] = mapped_column(ForeignKey("medium.id", ondelete="CASCADE"), index=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"))
    state: Mapped[str] = mapped_column(String(1))  # "P" | "S" | "D"
    admin_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    vehicle = relationship("Vehicle")
    medium = relationship("Medium")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)


class MediumStateChange(db.Model):
    """History of the state clicks: who, when, from, to (None = the default)."""
    __table_args__ = (Index("ix_medium_state_change_vehicle", "vehicle_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id", ondelete="CASCADE"))
    medium_id: Mapped[int] = mapped_column(ForeignKey("medium.id", ondelete="CASCADE"), index=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(1))
    to_state: Mapped[str | None] = mapped_column(String(1))
    from_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    to_locked: Mapped[bool] = mapped_column(Boolean, default=False)

    vehicle = relationship("Vehicle")
    medium = relationship("Medium")
    user = relationship("User")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)


# The engine's loader lives in its own module; re-exported here so callers import from one place.
from .publication_inputs import (compute_decision_set, compute_decisions, config_input,  # noqa: E402,F401
                                 load_contact_resolver,
                                 load_decision_inputs)
