"""Promotion campaigns and their offers (§7): flash campaigns of the filiale, their per-concession
copies, dealer campaigns, VPP reviews, offer history and storefront tokens.

Design (see docs/campaigns-core.md):

* ``Campaign`` is one table for three things, told apart by two columns:
  - the filiale's flash: ``kind="flash"``, ``concession_id`` NULL, ``parent_id`` NULL;
  - a concession's copy of a flash: ``kind="flash"``, ``concession_id`` = the concession,
    ``parent_id`` = the flash (unique per (parent_id, concession_id): sending twice duplicates nothing);
  - a dealer's own campaign: ``kind="dealer"``, ``concession_id`` = the concession.
  The copy is a full campaign the dealer edits and validates; its offers point at the flash offer they
  came from (``source_offer_id``) so statistics compare them with the flash.
* Offers are soft-deleted (``deleted``) so statistics count deletions versus the flash, and every change
  goes through ``create_offer`` / ``update_offer`` / ``delete_offer``, which write ``OfferHistory`` rows
  in the same transaction (the one place an offer changes).
* Visibility: ``campaigns_visible_to(user)`` / ``offers_visible_to(user)`` are the one place that says
  which campaigns a user sees: network-wide roles see all; dealers see their concessions' copies and
  own campaigns (never the filiale's master flash); validators see the campaigns shared with them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String,
                        Table, Text, UniqueConstraint, false, func, insert, or_, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from backoffice.extensions import db

from . import campaign_rules as rules
from .clock import utcnow
from .notification import Notification, notify  # noqa: F401  (registers the table; re-exported)
from .organisation import Concession, Pole
from .permissions import CAMPAIGN_VALIDATE, NETWORK_WIDE

MONEY = Numeric(12, 2)

# Kinds, states and origins (their rules live in models/campaign_rules.py).
FLASH, DEALER = rules.FLASH, rules.DEALER
KINDS = {FLASH: _l("Flash filiale"), DEALER: _l("Campagne concession")}
STATES = {
    rules.DRAFT: _l("Brouillon"),
    rules.REVIEW: _l("Partagée pour validation"),
    rules.SENT: _l("Envoyée aux concessions"),
    rules.RECEIVED: _l("À valider"),
    rules.VALIDATED: _l("Validée"),
}
ORIGINS = {rules.ORIGIN_FILIALE: _l("Filiale"), rules.ORIGIN_DEALER: _l("Concession")}
DISCOUNT_KINDS = {rules.AMOUNT: _l("Montant (€)"), rules.PERCENT: _l("Pourcentage (%)")}
CATEGORIES = {  # keys: rules.CATEGORY_CODES
    "new": _l("Véhicules neufs"),
    "used": _l("Véhicules d'occasion"),
    "service": _l("Atelier / après-vente"),
    "accessory": _l("Accessoires"),
    "financing": _l("Financement"),
}
REVIEW_STATUSES = {rules.REVIEW_PENDING: _l("En attente"), rules.REVIEW_APPROVED: _l("Approuvée"),
                   rules.REVIEW_COMMENTED: _l("Commentée")}

campaign_concession = Table(
    "campaign_concession",
    db.metadata,
    Column("campaign_id", Integer, ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("concession_id", Integer, ForeignKey("concession.id", ondelete="CASCADE"), primary_key=True),
)
campaign_pole = Table(
    "campaign_pole",
    db.metadata,
    Column("campaign_id", Integer, ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("pole_id", Integer, ForeignKey("pole.id", ondelete="CASCADE"), primary_key=True),
)


class CampaignError(ValueError):
    """A business rule refused an action; ``str(error)`` is the (translated) message for the user,
    ``field`` the form field concerned and ``errors`` every field → message."""

    def __init__(self, message: str, field: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message, self.field = message, field
        self.errors = errors or ({field: message} if field else {})


def _fail(errors: dict):
    """Raise CampaignError with the rule messages translated."""
    translated = {name: gettext(msg) for name, msg in errors.items()}
    name = next(iter(translated))
    raise CampaignError(translated[name], name, translated)


def _check_transition(campaign, action: str) -> str:
    try:
        return rules.check_transition(campaign.kind, campaign.is_copy, campaign.state, action)
    except rules.RuleError as exc:
        raise CampaignError(gettext(exc.message)) from None


class Campaign(db.Model):
    """A promotion campaign: filiale flash, a concession's copy of it, or a dealer's own campaign."""
    __table_args__ = (
        UniqueConstraint("parent_id", "concession_id"),
        Index("ix_campaign_period", "start_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(10), default=FLASH)
    concession_id: Mapped[int | None] = mapped_column(ForeignKey("concession.id", ondelete="CASCADE"),
                                                      index=True)  # NULL: owned by the filiale
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)   # inclusive
    state: Mapped[str] = mapped_column(String(12), default=rules.DRAFT, index=True)
    description: Mapped[str | None] = mapped_column(Text)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)      # flash: last "Envoyer aux dealers"
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    validated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # copy / dealer campaign
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    concession: Mapped[Concession | None] = relationship()
    parent: Mapped[Campaign | None] = relationship(remote_side=[id], back_populates="copies")
    copies: Mapped[list[Campaign]] = relationship(back_populates="parent", order_by="Campaign.concession_id",
                                                  passive_deletes=True)
    offers: Mapped[list[Offer]] = relationship(back_populates="campaign", order_by="Offer.reference",
                                               passive_deletes=True)
    target_concessions: Mapped[list[Concession]] = relationship(secondary=campaign_concession,
                                                                order_by="Concession.name")
    target_poles: Mapped[list[Pole]] = relationship(secondary=campaign_pole, order_by="Pole.name")
    reviews: Mapped[list[CampaignReview]] = relationship(back_populates="campaign",
                                                         order_by="CampaignReview.shared_at",
                                                         passive_deletes=True)
    created_by = relationship("User", foreign_keys=[created_by_id])
    sent_by = relationship("User", foreign_keys=[sent_by_id])
    validated_by = relationship("User", foreign_keys=[validated_by_id])

    @classmethod
    def in_concessions(cls, concession_ids):
        """A concession sees its copies and its own campaigns, never the filiale's master flash."""
        return cls.concession_id.in_(concession_ids)

    @property
    def is_master_flash(self) -> bool:
        return self.kind == FLASH and self.concession_id is None

    @property
    def is_copy(self) -> bool:
        return self.parent_id is not None

    @property
    def owner(self) -> str:
        """"filiale" for a flash and its copies, "dealer" for a concession's own campaign (precedence)."""
        return rules.owner_of(self.kind)

    @property
    def owner_label(self) -> str:
        return str(self.concession.name) if self.kind == DEALER and self.concession else str(_l("Filiale"))

    @property
    def state_label(self) -> str:
        return str(STATES.get(self.state, self.state))

    @property
    def kind_label(self) -> str:
        return str(KINDS.get(self.kind, self.kind))

    @property
    def live_offers(self) -> list[Offer]:
        return [o for o in self.offers if not o.deleted]

    def __str__(self) -> str:
        if self.is_copy and self.concession is not None:
            return f"{self.name} – {self.concession.name}"
        return self.name


class Offer(db.Model):
    """One promotion of a campaign: a product/model reference (the conflict key), discount, ER, period."""
    __table_args__ = (
        UniqueConstraint("campaign_id", "source_offer_id"),
        Index("ix_offer_reference_period", "reference", "start_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(40))   # normalised upper-case, e.g. "CLIO-V"
    label: Mapped[str] = mapped_column(String(160))
    category: Mapped[str | None] = mapped_column(String(20))
    discount_kind: Mapped[str] = mapped_column(String(8), default=rules.AMOUNT)
    discount_value: Mapped[Decimal] = mapped_column(MONEY)
    network_share: Mapped[Decimal | None] = mapped_column(MONEY)  # "ER", same unit as the discount
    conditions: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)   # inclusive
    origin: Mapped[str] = mapped_column(String(8), default=rules.ORIGIN_FILIALE)
    source_offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id", ondelete="SET NULL"), index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="offers")
    source_offer: Mapped[Offer | None] = relationship(remote_side=[id])
    history: Mapped[list[OfferHistory]] = relationship(back_populates="offer", order_by="OfferHistory.id",
                                                       passive_deletes=True)

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.campaign_id.in_(select(Campaign.id).where(Campaign.concession_id.in_(concession_ids)))

    @property
    def discount_label(self) -> str:
        return rules.format_discount(self.discount_kind, self.discount_value)

    @property
    def network_share_label(self) -> str:
        return rules.format_discount(self.discount_kind, self.network_share) if self.network_share is not None else ""

    @property
    def category_label(self) -> str:
        return str(CATEGORIES.get(self.category, self.category or ""))

    @property
    def origin_label(self) -> str:
        return str(ORIGINS.get(self.origin, self.origin))

    def __str__(self) -> str:
        return f"{self.reference} – {self.label}"


class OfferHistory(db.Model):
    """One change of an offer: who, when, what (create / update of one field / delete), old → new.

    ``side`` says whose content it is ("filiale" shown violet, "dealer" shown green).
    """
    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offer.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(8))     # create | update | delete
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    side: Mapped[str] = mapped_column(String(8), default=rules.ORIGIN_FILIALE)

    offer: Mapped[Offer] = relationship(back_populates="history")
    user = relationship("User")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.campaign_id.in_(select(Campaign.id).where(Campaign.concession_id.in_(concession_ids)))

    @property
    def field_label(self) -> str:
        return str(OFFER_FIELD_LABELS.get(self.field, self.field or ""))


OFFER_FIELD_LABELS = {
    "reference": _l("Référence"), "label": _l("Libellé"), "category": _l("Catégorie"),
    "discount_kind": _l("Type de remise"), "discount_value": _l("Remise"), "network_share": _l("ER"),
    "conditions": _l("Conditions"), "start_date": _l("Début"), "end_date": _l("Fin"),
}


class CampaignReview(db.Model):
    """A flash shared with a VPP for validation: they approve it or comment on it."""
    __table_args__ = (UniqueConstraint("campaign_id", "reviewer_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    reviewer_email: Mapped[str] = mapped_column(String(255), index=True)   # lower-case
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=rules.REVIEW_PENDING)
    comment: Mapped[str | None] = mapped_column(Text)
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    shared_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    campaign: Mapped[Campaign] = relationship(back_populates="reviews")
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    shared_by = relationship("User", foreign_keys=[shared_by_id])

    @property
    def status_label(self) -> str:
        return str(REVIEW_STATUSES.get(self.status, self.status))


class StorefrontToken(db.Model):
    """A read-only API token of one concession's storefront; only its SHA-256 is stored."""
    id: Mapped[int] = mapped_column(primary_key=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))   # shown to tell tokens apart, never enough to use
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    concession: Mapped[Concession] = relationship()

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    @staticmethod
    def hash(plain: str) -> str:
        return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def issue_storefront_token(session, concession_id: int, name: str, user_id: int | None = None
                           ) -> tuple[StorefrontToken, str]:
    """Create a token for a concession's storefront; returns the row and the plain token (shown once)."""
    plain = "sf_" + secrets.token_urlsafe(32)
    row = StorefrontToken(concession_id=concession_id, name=name, token_hash=StorefrontToken.hash(plain),
                          prefix=plain[:10], created_by_id=user_id)
    session.add(row)
    session.flush()
    return row, plain


def storefront_token_lookup(session, plain: str | None) -> StorefrontToken | None:
    """The live token row matching this plain token, or None (unknown, revoked or empty)."""
    if not plain:
        return None
    return session.execute(
        select(StorefrontToken).where(StorefrontToken.token_hash == StorefrontToken.hash(plain),
                                      StorefrontToken.revoked_at.is_(None))).scalar_one_or_none()


# Visibility: the one place ---------------------------------------------------------------------------
def campaign_visibility_clause(user):
    """SQL clause on Campaign for what ``user`` may see (None: everything)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if user.has_permission(NETWORK_WIDE):
        return None
    clauses = []
    concession_ids = sorted(c.id for c in user.concessions)
    if concession_ids:
        clauses.append(Campaign.in_concessions(concession_ids))
    if user.has_permission(CAMPAIGN_VALIDATE):
        clauses.append(Campaign.id.in_(
            select(CampaignReview.campaign_id).where(or_(CampaignReview.reviewer_id == user.id,
                                                         CampaignReview.reviewer_email == user.email.lower()))))
    if not clauses:
        return false()
    return or_(*clauses)


def campaigns_visible_to(user):
    """``select(Campaign)`` restricted to what ``user`` may see."""
    stmt = select(Campaign)
    clause = campaign_visibility_clause(user)
    return stmt if clause is None else stmt.where(clause)


def visible_campaign_ids(user):
    """A subquery of the ids of the campaigns ``user`` may see."""
    stmt = select(Campaign.id)
    clause = campaign_visibility_clause(user)
    return stmt if clause is None else stmt.where(clause)


def offers_visible_to(user, include_deleted: bool = False):
    """``select(Offer)`` of the offers of the campaigns ``user`` may see (live ones by default)."""
    stmt = select(Offer)
    clause = campaign_visibility_clause(user)
    if clause is not None:
        stmt = stmt.where(Offer.campaign_id.in_(visible_campaign_ids(user)))
    if not include_deleted:
        stmt = stmt.where(Offer.deleted.is_(False))
    return stmt


def get_campaign_or_404(user, campaign_id):
    """The campaign if ``user`` may see it, else 404 (a campaign outside the scope does not exist)."""
    from flask import abort

    try:
        campaign_id = int(campaign_id)
    except (TypeError, ValueError):
        abort(404)
    row = db.session.execute(campaigns_visible_to(user).where(Campaign.id == campaign_id)).scalar_one_or_none()
    if row is None:
        abort(404)
    return row


def get_offer_or_404(user, offer_id, include_deleted: bool = False):
    """The offer if ``user`` may see its campaign, else 404."""
    from flask import abort

    try:
        offer_id = int(offer_id)
    except (TypeError, ValueError):
        abort(404)
    row = db.session.execute(offers_visible_to(user, include_deleted).where(Offer.id == offer_id)
                             ).scalar_one_or_none()
    if row is None:
        abort(404)
    return row


def target_concession_ids(session, campaign: Campaign) -> list[int]:
    """The concessions a flash goes to: those chosen directly plus every concession of the chosen pôles."""
    direct = select(campaign_concession.c.concession_id).where(campaign_concession.c.campaign_id == campaign.id)
    via_poles = select(Concession.id).where(Concession.pole_id.in_(
        select(campaign_pole.c.pole_id).where(campaign_pole.c.campaign_id == campaign.id)))
    return sorted(set(session.execute(direct).scalars()) | set(session.execute(via_poles).scalars()))


# Offer changes and their history: the one place an offer changes -------------------------------------
def _side(user) -> str:
    """Whose content a change is: the filiale's (violet) or the dealer's (green)."""
    if user is not None and getattr(user, "has_permission", None) and user.has_permission(NETWORK_WIDE):
        return rules.ORIGIN_FILIALE
    return rules.ORIGIN_DEALER if user is not None else rules.ORIGIN_FILIALE


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return rules.format_number(value)
    return str(value)


def create_offer(session, campaign: Campaign, user, **fields) -> Offer:
    """Add an offer to a campaign and its "create" history row (origin follows the campaign's owner)."""
    values = rules.normalise_offer_fields(fields)
    values.setdefault("start_date", campaign.start_date)
    values.setdefault("end_date", campaign.end_date)
    errors = rules.offer_errors(values, campaign.start_date, campaign.end_date)
    if errors:
        _fail(errors)
    origin = rules.ORIGIN_FILIALE if campaign.concession_id is None else rules.ORIGIN_DEALER
    offer = Offer(campaign=campaign, origin=origin, **values)
    session.add(offer)
    session.flush()
    session.add(OfferHistory(offer_id=offer.id, campaign_id=campaign.id, user_id=getattr(user, "id", None),
                             action="create", new_value=f"{offer.reference} – {offer.label} "
                             f"({offer.discount_label})", side=_side(user)))
    return offer


def update_offer(session, offer: Offer, user, **fields) -> list[tuple[str, str | None, str | None]]:
    """Change fields of an offer, one history row per changed field; returns the (field, old, new) list.

    On a concession's copy of a flash, the dates are locked (CampaignError if they change).
    """
    values = rules.normalise_offer_fields(fields)
    campaign = offer.campaign
    merged = {name: getattr(offer, name) for name in rules.OFFER_FIELDS}
    merged.update(values)
    errors = rules.offer_errors(merged, campaign.start_date, campaign.end_date)
    if errors:
        _fail(errors)
    changes = []
    for name, new in values.items():
        old = getattr(offer, name)
        if rules.same_value(old, new):
            continue
        changes.append((name, old, new))
    locked = rules.locked_offer_fields(campaign.is_copy)
    if any(name in locked for name, _, _ in changes):
        raise CampaignError(gettext("Les dates d'une offre du flash ne peuvent pas être modifiées."), "start_date")
    now, side = utcnow(), _side(user)
    for name, old, new in changes:
        setattr(offer, name, new)
        session.add(OfferHistory(offer_id=offer.id, campaign_id=offer.campaign_id,
                                 user_id=getattr(user, "id", None), at=now, action="update", field=name,
                                 old_value=_text(old), new_value=_text(new), side=side))
    if changes:
        offer.updated_at = now
    return [(name, _text(old), _text(new)) for name, old, new in changes]


def delete_offer(session, offer: Offer, user) -> None:
    """Soft-delete an offer (statistics count deletions versus the flash) with its history row."""
    if offer.deleted:
        return
    offer.deleted, offer.deleted_at = True, utcnow()
    session.add(OfferHistory(offer_id=offer.id, campaign_id=offer.campaign_id, user_id=getattr(user, "id", None),
                             at=offer.deleted_at, action="delete",
                             old_value=f"{offer.reference} – {offer.label}", side=_side(user)))


# Workflow -----------------------------------------------------------------------------------------------
def new_campaign(session, user, *, name: str, kind: str, start_date: dt.date | None = None,
                 end_date: dt.date | None = None, concession_id: int | None = None,
                 month: dt.date | None = None) -> Campaign:
    """Create a campaign in its first state; a flash's period defaults to the whole month of ``month``."""
    if kind == FLASH and (start_date is None or end_date is None):
        start_date, end_date = rules.month_bounds(month or dt.date.today())
    errors = rules.campaign_errors(name, start_date, end_date)
    if errors:
        _fail(errors)
    if kind == DEALER and concession_id is None:
        raise CampaignError(gettext("Une campagne concession appartient à une concession."))
    campaign = Campaign(name=name.strip(), kind=kind, concession_id=concession_id if kind == DEALER else None,
                        start_date=start_date, end_date=end_date, state=rules.initial_state(kind, False),
                        created_by_id=getattr(user, "id", None))
    session.add(campaign)
    session.flush()
    return campaign


def share_for_review(session, campaign: Campaign, user, emails) -> list[CampaignReview]:
    """Share a flash with VPP e-mail addresses (new reviews only; asking again resets to pending)."""
    from .user import User

    _check_transition(campaign, "share")
    emails = sorted({e.strip().lower() for e in emails if e and e.strip()})
    if not emails:
        raise CampaignError(gettext("Saisissez au moins une adresse e-mail."), "emails")
    users = {u.email.lower(): u for u in session.execute(select(User).where(User.email.in_(emails))).scalars()}
    existing = {r.reviewer_email: r for r in campaign.reviews}
    touched = []
    for email in emails:
        review = existing.get(email)
        if review is None:
            review = CampaignReview(campaign=campaign, reviewer_email=email)
            session.add(review)
        review.reviewer_id = users[email].id if email in users else None
        review.status, review.comment, review.answered_at = rules.REVIEW_PENDING, None, None
        review.shared_by_id, review.shared_at = getattr(user, "id", None), utcnow()
        touched.append(review)
    campaign.state = rules.REVIEW
    session.flush()
    return touched


def answer_review(session, campaign: Campaign, user, approved: bool, comment: str | None) -> CampaignReview:
    """A VPP approves or comments a flash shared with them (CampaignError if it was not shared with them)."""
    review = session.execute(select(CampaignReview).where(
        CampaignReview.campaign_id == campaign.id,
        or_(CampaignReview.reviewer_id == user.id, CampaignReview.reviewer_email == user.email.lower()))
    ).scalar_one_or_none()
    if review is None:
        raise CampaignError(gettext("Cette campagne ne vous a pas été partagée."))
    comment = (comment or "").strip() or None
    if not approved and not comment:
        raise CampaignError(gettext("Saisissez un commentaire."), "comment")
    review.status = rules.REVIEW_APPROVED if approved else rules.REVIEW_COMMENTED
    review.comment, review.answered_at, review.reviewer_id = comment, utcnow(), user.id
    return review


@dataclass
class SendResult:
    """What "Envoyer le flash aux dealers" did."""
    offer_count: int                      # live offers of the flash
    concession_ids: list[int]             # every targeted concession
    new_concession_ids: list[int]         # concessions that got their copy now (to notify)
    copy_ids: dict[int, int] = field(default_factory=dict)  # concession id → its copy's id
    offers_added: int = 0                 # offer rows created in copies by this send


def send_flash(session, flash: Campaign, user, now: dt.datetime | None = None) -> SendResult:
    """Give each target concession its copy of the flash with the offers pre-filled (origin filiale).

    Idempotent: a concession that already has its copy keeps it; only flash offers it never had are
    added (an offer the dealer deleted stays deleted). Does not commit.
    """
    if not flash.is_master_flash:
        raise CampaignError(gettext("Seul un flash de la filiale peut être envoyé aux concessions."))
    _check_transition(flash, "send")
    now = now or utcnow()
    offers = [o for o in flash.offers if not o.deleted]
    targets = target_concession_ids(session, flash)
    if not offers:
        raise CampaignError(gettext("Ajoutez au moins une offre avant d'envoyer le flash."))
    if not targets:
        raise CampaignError(gettext("Sélectionnez au moins une concession ou un pôle."))
    existing = dict(session.execute(select(Campaign.concession_id, Campaign.id)
                                    .where(Campaign.parent_id == flash.id)).all())
    new_ids = [cid for cid in targets if cid not in existing]
    copies = [Campaign(name=flash.name, kind=FLASH, concession_id=cid, parent_id=flash.id,
                       start_date=flash.start_date, end_date=flash.end_date, state=rules.RECEIVED,
                       description=flash.description, created_by_id=getattr(user, "id", None),
                       created_at=now, updated_at=now) for cid in new_ids]
    session.add_all(copies)
    session.flush()
    copy_ids = dict(existing)
    copy_ids.update({c.concession_id: c.id for c in copies})
    wanted = [copy_ids[cid] for cid in targets]
    # Offers each copy already has (live or deleted), so a re-send adds only what is missing.
    have = set(session.execute(select(Offer.campaign_id, Offer.source_offer_id)
                               .where(Offer.campaign_id.in_(wanted), Offer.source_offer_id.is_not(None))).all())
    rows = [{"campaign_id": copy_id, "reference": o.reference, "label": o.label, "category": o.category,
             "discount_kind": o.discount_kind, "discount_value": o.discount_value,
             "network_share": o.network_share, "conditions": o.conditions, "start_date": o.start_date,
             "end_date": o.end_date, "origin": rules.ORIGIN_FILIALE, "source_offer_id": o.id,
             "deleted": False, "created_at": now, "updated_at": now}
            for copy_id in wanted for o in offers if (copy_id, o.id) not in have]
    if rows:
        session.execute(insert(Offer), rows)
        # One "create" history row per pre-filled offer: the filiale's content (violet).
        created = [(oid, camp) for oid, camp, src in session.execute(
            select(Offer.id, Offer.campaign_id, Offer.source_offer_id)
            .where(Offer.campaign_id.in_(wanted), Offer.source_offer_id.is_not(None))).all()
            if (camp, src) not in have]
        label = str(_l("Pré-rempli par la filiale"))
        session.execute(insert(OfferHistory), [
            {"offer_id": oid, "campaign_id": camp, "user_id": getattr(user, "id", None), "at": now,
             "action": "create", "new_value": label, "side": rules.ORIGIN_FILIALE} for oid, camp in created])
    flash.state, flash.sent_at, flash.sent_by_id = rules.SENT, now, getattr(user, "id", None)
    session.flush()
    return SendResult(offer_count=len(offers), concession_ids=targets, new_concession_ids=new_ids,
                      copy_ids=copy_ids, offers_added=len(rows))


def validate_campaign(session, campaign: Campaign, user, now: dt.datetime | None = None) -> Campaign:
    """A CDV validates their concession's copy or own campaign: its live offers go to the storefront."""
    _check_transition(campaign, "validate")
    campaign.state = rules.VALIDATED
    campaign.validated_at, campaign.validated_by_id = now or utcnow(), getattr(user, "id", None)
    session.flush()
    return campaign


# Conflicts: plain data for models.campaign_rules ---------------------------------------------------------
def offer_spans(session, campaign_ids=None, references=None, concession_id: int | None = None,
                period: tuple[dt.date, dt.date] | None = None) -> list[rules.OfferSpan]:
    """Live offers as ``OfferSpan`` rows for conflict detection (one query, plus one for flash targets).

    ``concession_id`` keeps what can conflict for that concession (its campaigns and the filiale's
    flashes); ``period`` keeps the offers touching it, widened once to the offers those overlap so that a
    conflict with an offer just outside the period is still found.
    """
    stmt = (select(Offer.id, Offer.campaign_id, Offer.reference, Offer.start_date.label("offer_start"),
                   Offer.end_date.label("offer_end"), Campaign.kind, Campaign.concession_id, Campaign.parent_id,
                   Campaign.start_date.label("campaign_start"), Campaign.validated_at)
            .join(Campaign, Campaign.id == Offer.campaign_id).where(Offer.deleted.is_(False)))
    if campaign_ids is not None:
        stmt = stmt.where(Offer.campaign_id.in_(campaign_ids))
    if references is not None:
        stmt = stmt.where(Offer.reference.in_(references))
    if concession_id is not None:
        stmt = stmt.where(or_(Campaign.concession_id == concession_id, Campaign.concession_id.is_(None)))
    if period is not None:
        first, last = period
        touching = stmt.where(Offer.end_date >= first, Offer.start_date <= last).subquery()
        bounds = session.execute(select(func.min(touching.c.offer_start), func.max(touching.c.offer_end))).one()
        if bounds[0] is not None:
            first, last = min(first, bounds[0]), max(last, bounds[1])
        stmt = stmt.where(Offer.end_date >= first, Offer.start_date <= last)
    rows = session.execute(stmt).all()
    masters = {r.campaign_id for r in rows if r.concession_id is None}
    targets = master_targets(session, masters, concession_id)
    empty = frozenset()
    owner = rules.owner_of
    return [rules.OfferSpan(r.id, r.campaign_id, r.reference, r.offer_start, r.offer_end, owner(r.kind),
                            r.concession_id, targets.get(r.campaign_id, empty) if r.concession_id is None else empty,
                            r.parent_id or r.campaign_id, r.campaign_start, r.validated_at)
            for r in rows]


def master_targets(session, master_ids, concession_id: int | None = None) -> dict[int, frozenset[int]]:
    """Target concessions of filiale flashes (direct and through pôles), in two queries; only
    ``concession_id`` when given."""
    if not master_ids:
        return {}
    ids = sorted(master_ids)
    found: dict[int, set[int]] = {i: set() for i in ids}
    direct = select(campaign_concession.c.campaign_id, campaign_concession.c.concession_id).where(
        campaign_concession.c.campaign_id.in_(ids))
    via_poles = (select(campaign_pole.c.campaign_id, Concession.id)
                 .join(Concession, Concession.pole_id == campaign_pole.c.pole_id)
                 .where(campaign_pole.c.campaign_id.in_(ids)))
    if concession_id is not None:
        direct = direct.where(campaign_concession.c.concession_id == concession_id)
        via_poles = via_poles.where(Concession.id == concession_id)
    for stmt in (direct, via_poles):
        for cid, conc in session.execute(stmt):
            found[cid].add(conc)
    return {k: frozenset(v) for k, v in found.items()}


def conflicts_for_offers(session, spans_scope) -> dict[int, list[rules.Conflict]]:
    """Conflicts among the given spans (e.g. ``offer_spans(session, campaign_ids=visible ids)``)."""
    return rules.find_conflicts(spans_scope)


def check_offer_conflicts(session, offer: Offer) -> list[rules.Conflict]:
    """Conflicts an offer has at save time: loads only the live offers of its reference."""
    spans = offer_spans(session, references=[offer.reference], concession_id=offer.campaign.concession_id)
    own = next((s for s in spans if s.offer_id == offer.id), None)
    if own is None:   # a deleted or not yet flushed offer: nothing to check
        return []
    return rules.ConflictIndex(spans).check(own)


def storefront_offers_by_concession(session, day: dt.date, concession_ids=None) -> dict[int, list[Offer]]:
    """Concession id → the offers its storefront shows on ``day``: live offers of its validated campaigns
    whose period includes the day; when two share a reference, only the one whose campaign takes
    precedence. Set-based: one query for the offers, one for their spans, whatever the network size."""
    stmt = (select(Offer).join(Campaign, Campaign.id == Offer.campaign_id)
            .where(Campaign.concession_id.is_not(None), Campaign.state == rules.VALIDATED,
                   Offer.deleted.is_(False), Offer.start_date <= day, Offer.end_date >= day)
            .options(selectinload(Offer.campaign))
            .order_by(Campaign.concession_id, Offer.reference, Offer.id))
    if concession_ids is not None:
        stmt = stmt.where(Campaign.concession_id.in_(list(concession_ids)))
    offers = session.execute(stmt).scalars().all()
    spans = [rules.OfferSpan(o.id, o.campaign_id, o.reference, o.start_date, o.end_date,
                             rules.owner_of(o.campaign.kind), o.campaign.concession_id, frozenset(),
                             o.campaign.parent_id or o.campaign_id, o.campaign.start_date, o.campaign.validated_at)
             for o in offers]
    conflicts = rules.find_conflicts(spans)
    published: dict[int, list[Offer]] = {}
    for o in offers:
        if all(c.winner_campaign_id == o.campaign_id for c in conflicts.get(o.id, ())):
            published.setdefault(o.campaign.concession_id, []).append(o)
    return published


def storefront_offers(session, concession_id: int, day: dt.date) -> list[Offer]:
    """The offers one concession's storefront shows on ``day`` (see storefront_offers_by_concession)."""
    return storefront_offers_by_concession(session, day, [concession_id]).get(concession_id, [])


def _offer_data(row) -> rules.OfferData:
    return rules.OfferData(row.id, row.campaign_id, row.reference, row.label, row.discount_kind,
                           row.discount_value, row.network_share, row.category, row.conditions, row.origin,
                           row.source_offer_id, row.deleted)


_OFFER_COLUMNS = (Offer.id, Offer.campaign_id, Offer.reference, Offer.label, Offer.discount_kind,
                  Offer.discount_value, Offer.network_share, Offer.category, Offer.conditions, Offer.origin,
                  Offer.source_offer_id, Offer.deleted)


def flash_statistics(session, flash_id: int) -> rules.CampaignStatistics:
    """Statistics of a filiale flash against its copies (three queries, whatever the network size)."""
    flash_offers = [_offer_data(r) for r in session.execute(
        select(*_OFFER_COLUMNS).where(Offer.campaign_id == flash_id))]
    copies = [rules.CopyData(r.id, r.concession_id, r.name, r.state, r.validated_at) for r in session.execute(
        select(Campaign.id, Campaign.concession_id, Concession.name, Campaign.state, Campaign.validated_at)
        .join(Concession, Concession.id == Campaign.concession_id).where(Campaign.parent_id == flash_id))]
    copy_offers = [_offer_data(r) for r in session.execute(
        select(*_OFFER_COLUMNS).join(Campaign, Campaign.id == Offer.campaign_id)
        .where(Campaign.parent_id == flash_id))]
    return rules.campaign_statistics(flash_offers, copies, copy_offers)


def flashes_of_month(session, month: dt.date) -> list[Campaign]:
    """The filiale's flashes whose period touches the month of ``month``."""
    first, last = rules.month_bounds(month)
    return session.execute(
        select(Campaign).where(Campaign.kind == FLASH, Campaign.concession_id.is_(None),
                               Campaign.start_date <= last, Campaign.end_date >= first)
        .order_by(Campaign.start_date, Campaign.id)).scalars().all()


def month_statistics(session, month: dt.date) -> list[tuple[Campaign, rules.CampaignStatistics]]:
    """Each flash of the month with its statistics (the monthly e-mail and the statistics page)."""
    return [(flash, flash_statistics(session, flash.id)) for flash in flashes_of_month(session, month)]
