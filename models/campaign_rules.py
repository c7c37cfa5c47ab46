"""Campaign rules over plain data (§7): states and transitions, offer validation, conflicts, precedence,
statistics. Nothing here knows Flask or the database; models/campaign.py feeds it rows.

Messages are French msgids (translated by the caller with gettext).

Periods are inclusive: [start, end] covers both days. Two periods overlap when they share at least one
day, so "touching" periods (one ends on the day the other starts) overlap; a period that ends the day
before the other starts does not.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation


def N_(message: str) -> str:
    """Marks a msgid for extraction; translated where it is shown."""
    return message


# Kinds, owners, origins -------------------------------------------------------------------------------
FLASH, DEALER = "flash", "dealer"
ORIGIN_FILIALE, ORIGIN_DEALER = "filiale", "dealer"
AMOUNT, PERCENT = "amount", "percent"
CATEGORY_CODES = ("new", "used", "service", "accessory", "financing")   # labels in models/campaign.py

# States: a master flash goes draft → review (shared with VPP, optional) → sent; a concession's copy is
# received → validated; a dealer's own campaign is draft → validated.
DRAFT, REVIEW, SENT, RECEIVED, VALIDATED = "draft", "review", "sent", "received", "validated"
REVIEW_PENDING, REVIEW_APPROVED, REVIEW_COMMENTED = "pending", "approved", "commented"

# (role of the campaign, action) → states it may start from, and the state it leads to.
# role: "master" (filiale flash), "copy" (a concession's copy of a flash), "dealer" (own campaign).
TRANSITIONS = {
    ("master", "share"): ((DRAFT, REVIEW), REVIEW),
    ("master", "send"): ((DRAFT, REVIEW, SENT), SENT),   # sending again reaches new targets only
    ("copy", "validate"): ((RECEIVED, VALIDATED), VALIDATED),  # validating again: "validated last"
    ("dealer", "validate"): ((DRAFT, VALIDATED), VALIDATED),
}
TRANSITION_ERRORS = {
    "share": N_("Seul un flash de la filiale non encore envoyé peut être partagé pour validation."),
    "send": N_("Seul un flash de la filiale peut être envoyé aux concessions."),
    "validate": N_("Cette campagne ne peut pas être validée par une concession."),
}


class RuleError(ValueError):
    """A rule refused an action; ``message`` is a French msgid, ``field`` the form field concerned."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def campaign_role(kind: str, is_copy: bool) -> str:
    """"master", "copy" or "dealer": what a campaign is for the workflow."""
    if kind == DEALER:
        return "dealer"
    return "copy" if is_copy else "master"


def owner_of(kind: str) -> str:
    """Who owns a campaign for precedence: the filiale (flash and its copies) or the dealer."""
    return ORIGIN_DEALER if kind == DEALER else ORIGIN_FILIALE


def initial_state(kind: str, is_copy: bool) -> str:
    return RECEIVED if campaign_role(kind, is_copy) == "copy" else DRAFT


def allowed_actions(kind: str, is_copy: bool, state: str) -> set[str]:
    """The workflow actions possible from this state."""
    role = campaign_role(kind, is_copy)
    return {action for (r, action), (sources, _) in TRANSITIONS.items() if r == role and state in sources}


def check_transition(kind: str, is_copy: bool, state: str, action: str) -> str:
    """The state ``action`` leads to; RuleError if it is not allowed from ``state``."""
    entry = TRANSITIONS.get((campaign_role(kind, is_copy), action))
    if entry is None or state not in entry[0]:
        raise RuleError(TRANSITION_ERRORS.get(action, N_("Action impossible dans cet état.")))
    return entry[1]


def locked_offer_fields(is_copy: bool) -> frozenset[str]:
    """Fields a dealer may not change: the dates of the offers the filiale pushed."""
    return frozenset({"start_date", "end_date"}) if is_copy else frozenset()


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the month of ``day`` (a flash's default period)."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def periods_overlap(a_start: dt.date, a_end: dt.date, b_start: dt.date, b_end: dt.date) -> bool:
    """Inclusive periods share at least one day (identical, nested, overlapping or touching)."""
    return a_start <= b_end and b_start <= a_end


# Offer fields and validation -----------------------------------------------------------------------------
OFFER_FIELDS = ("reference", "label", "category", "discount_kind", "discount_value", "network_share",
                "conditions", "start_date", "end_date")
COMPARED_FIELDS = ("reference", "label", "category", "discount_kind", "discount_value", "network_share", "conditions")


def normalise_reference(value) -> str:
    """References compare upper-case without surrounding or doubled spaces ("clio v" → "CLIO V")."""
    return " ".join(str(value or "").split()).upper()


def _decimal(value):
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).replace(",", ".").replace("\u202f", "").replace(" ", ""))
    except InvalidOperation:
        return value  # left as typed: offer_errors reports it


def normalise_offer_fields(fields: dict) -> dict:
    """Keep the known offer fields, normalise the reference, texts and numbers."""
    values = {k: v for k, v in fields.items() if k in OFFER_FIELDS}
    if "reference" in values:
        values["reference"] = normalise_reference(values["reference"])
    for name in ("label", "conditions", "category"):
        if name in values and isinstance(values[name], str):
            values[name] = values[name].strip() or None
    for name in ("discount_value", "network_share"):
        if name in values:
            values[name] = _decimal(values[name])
    return values


def offer_errors(values: dict, campaign_start: dt.date, campaign_end: dt.date) -> dict[str, str]:
    """Field → French msgid for what is wrong in an offer (empty when it may be saved)."""
    errors: dict[str, str] = {}
    if not values.get("reference"):
        errors["reference"] = N_("Saisissez la référence du produit ou du modèle.")
    elif len(values["reference"]) > 40:
        errors["reference"] = N_("La référence ne peut pas dépasser 40 caractères.")
    if not values.get("label"):
        errors["label"] = N_("Saisissez un libellé.")
    elif len(values["label"]) > 160:
        errors["label"] = N_("Le libellé ne peut pas dépasser 160 caractères.")
    if values.get("category") not in (None, *CATEGORY_CODES):
        errors["category"] = N_("Catégorie inconnue.")
    kind = values.get("discount_kind") or AMOUNT
    if kind not in (AMOUNT, PERCENT):
        errors["discount_kind"] = N_("Type de remise inconnu.")
    discount = values.get("discount_value")
    if discount is None:
        errors["discount_value"] = N_("Saisissez la remise.")
    elif not isinstance(discount, Decimal) or not discount.is_finite():
        errors["discount_value"] = N_("La remise doit être un nombre.")
    elif discount <= 0:
        errors["discount_value"] = N_("La remise doit être positive.")
    elif kind == PERCENT and discount > 100:
        errors["discount_value"] = N_("Une remise en pourcentage ne peut pas dépasser 100 %.")
    elif discount >= Decimal("1000000"):
        errors["discount_value"] = N_("La remise est trop élevée.")
    share = values.get("network_share")
    if share is not None:
        if not isinstance(share, Decimal) or not share.is_finite():
            errors["network_share"] = N_("L'ER doit être un nombre.")
        elif share < 0:
            errors["network_share"] = N_("L'ER ne peut pas être négatif.")
        elif isinstance(discount, Decimal) and discount.is_finite() and share > discount:
            errors["network_share"] = N_("L'ER ne peut pas dépasser la remise.")
    start, end = values.get("start_date"), values.get("end_date")
    if not isinstance(start, dt.date):
        errors["start_date"] = N_("Saisissez la date de début.")
    if not isinstance(end, dt.date):
        errors["end_date"] = N_("Saisissez la date de fin.")
    if isinstance(start, dt.date) and isinstance(end, dt.date):
        if end < start:
            errors["end_date"] = N_("La fin doit être après le début.")
        elif start < campaign_start or end > campaign_end:
            errors["start_date"] = N_("La période de l'offre doit être comprise dans celle de la campagne.")
    return errors


def campaign_errors(name, start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    """Field → French msgid for what is wrong in a campaign's name and period."""
    errors = {}
    if not (name or "").strip():
        errors["name"] = N_("Saisissez le nom de la campagne.")
    elif len(name.strip()) > 160:
        errors["name"] = N_("Le nom ne peut pas dépasser 160 caractères.")
    if not isinstance(start, dt.date):
        errors["start_date"] = N_("Saisissez la date de début.")
    if not isinstance(end, dt.date):
        errors["end_date"] = N_("Saisissez la date de fin.")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
        errors["end_date"] = N_("La fin doit être après le début.")
    return errors


def same_value(old, new) -> bool:
    """Equal for history purposes (Decimal 10 == 10.00, '' == None)."""
    if old in ("", None) and new in ("", None):
        return True
    if isinstance(old, (Decimal, int, float)) and isinstance(new, (Decimal, int, float)):
        return Decimal(str(old)) == Decimal(str(new))
    return old == new


def format_number(value) -> str:
    """French number: 1 500 or 12,5 (no useless decimals)."""
    if value is None:
        return ""
    value = Decimal(str(value))
    if value == value.to_integral_value():
        text = f"{int(value):,}".replace(",", "\u202f")
    else:
        text = f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
    return text


def format_discount(kind: str, value) -> str:
    if value is None:
        return ""
    return f"{format_number(value)} {'%' if kind == PERCENT else '€'}"


# Conflicts and precedence ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OfferSpan:
    """One live offer as the conflict rules see it.

    ``concession_id`` is the concession a copy or dealer campaign belongs to; a filiale master flash has
    None and ``targets`` (the concessions it is for). ``family_id`` is the master flash's id for a flash
    and its copies (they never conflict with each other), else the campaign's id.
    """
    offer_id: int
    campaign_id: int
    reference: str
    start: dt.date
    end: dt.date
    owner: str = ORIGIN_FILIALE
    concession_id: int | None = None
    targets: frozenset = frozenset()
    family_id: int | None = None
    campaign_start: dt.date | None = None
    validated_at: dt.datetime | None = None

    def concerns(self, concession_id: int) -> bool:
        return self.concession_id == concession_id if self.concession_id is not None else concession_id in self.targets


@dataclass(frozen=True, slots=True)
class Conflict:
    """``offer_id`` is in conflict with ``other_offer_id`` (of ``other_campaign_id``); the winner's campaign."""
    offer_id: int
    other_offer_id: int
    other_campaign_id: int
    winner_campaign_id: int


_EPOCH = dt.datetime.min


def precedence_key(span: OfferSpan):
    """Sort key: the highest wins. Dealer's own campaign over the filiale's flash; then the campaign that
    starts later; then the one validated last (a validated one over one not validated); then the newer."""
    return (span.owner == ORIGIN_DEALER, span.campaign_start or span.start,
            span.validated_at is not None, span.validated_at or _EPOCH, span.campaign_id)


def winner(a: OfferSpan, b: OfferSpan) -> OfferSpan:
    """The span whose campaign takes precedence."""
    return a if precedence_key(a) >= precedence_key(b) else b


def _family(s: OfferSpan) -> int:
    return s.family_id if s.family_id is not None else s.campaign_id


def can_conflict(a: OfferSpan, b: OfferSpan) -> bool:
    """Same reference, different campaigns (not a flash and its own copy), a common concession, and
    overlapping periods."""
    if a.reference != b.reference or a.campaign_id == b.campaign_id or _family(a) == _family(b):
        return False
    if not periods_overlap(a.start, a.end, b.start, b.end):
        return False
    if a.concession_id is not None and b.concession_id is not None:
        return a.concession_id == b.concession_id
    if a.concession_id is not None:
        return a.concession_id in b.targets
    if b.concession_id is not None:
        return b.concession_id in a.targets
    return not a.targets.isdisjoint(b.targets)


def _pair(a: OfferSpan, b: OfferSpan, out: dict) -> None:
    w = winner(a, b).campaign_id
    out[a.offer_id].append(Conflict(a.offer_id, b.offer_id, b.campaign_id, w))
    out[b.offer_id].append(Conflict(b.offer_id, a.offer_id, a.campaign_id, w))


def _sweep(bucket: list[OfferSpan], out: dict) -> None:
    """Pairs of overlapping spans in one (reference, concession) bucket: sort by start, keep the open ones."""
    bucket.sort(key=lambda s: s.start)
    active: list[OfferSpan] = []
    for s in bucket:
        active = [a for a in active if a.end >= s.start]
        for a in active:
            if a.campaign_id != s.campaign_id and _family(a) != _family(s):
                _pair(a, s, out)
        active.append(s)


def find_conflicts(spans) -> dict[int, list[Conflict]]:
    """Every offer in conflict → its conflicts (told per offer, both sides).

    Offers bound to a concession are bucketed by (reference, concession) and swept by start date;
    a filiale master flash (bound to its targets) is compared with the offers of its reference grouped by
    campaign family, each group skipped at once when its overall period cannot overlap.
    """
    # A bucket holds a lone span until a second one arrives: most (reference, concession) pairs have one
    # offer, and not building 50,000 one-item lists halves the time.
    bound: dict = {}
    masters: dict[str, list[OfferSpan]] = defaultdict(list)
    get = bound.get
    for s in spans:
        concession_id = s.concession_id
        if concession_id is None:
            masters[s.reference].append(s)
            continue
        key = (s.reference, concession_id)
        held = get(key)
        if held is None:
            bound[key] = s
        elif held.__class__ is list:
            held.append(s)
        else:
            bound[key] = [held, s]
    out: dict[int, list[Conflict]] = defaultdict(list)
    for bucket in bound.values():
        if bucket.__class__ is list:
            _sweep(bucket, out)
    if masters:
        _masters(masters, bound, out)
    return dict(out)


def _masters(masters: dict, bound: dict, out: dict) -> None:
    families: dict[str, dict[int, list]] = {ref: defaultdict(list) for ref in masters}
    for (reference, _), bucket in bound.items():
        groups = families.get(reference)
        if groups is not None:
            for s in (bucket if bucket.__class__ is list else (bucket,)):
                groups[s.family_id if s.family_id is not None else s.campaign_id].append(s)
    for reference, flash_spans in masters.items():
        groups = []
        for family, members in families[reference].items():
            groups.append((family, min(m.start for m in members), max(m.end for m in members), members))
        for m in flash_spans:
            m_family = _family(m)
            for family, low, high, members in groups:
                if family == m_family or low > m.end or high < m.start:
                    continue
                for s in members:
                    if s.concession_id in m.targets and s.start <= m.end and m.start <= s.end \
                            and s.campaign_id != m.campaign_id:
                        _pair(m, s, out)
        for i, a in enumerate(flash_spans):
            for b in flash_spans[i + 1:]:
                if can_conflict(a, b):
                    _pair(a, b, out)


class ConflictIndex:
    """Spans indexed by reference, to check one offer at save time without scanning everything."""

    def __init__(self, spans=()):
        self.by_reference: dict[str, list[OfferSpan]] = defaultdict(list)
        for s in spans:
            self.by_reference[s.reference].append(s)

    def check(self, span: OfferSpan) -> list[Conflict]:
        """The conflicts ``span`` would have (other spans of the same offer id are ignored)."""
        found = []
        family = _family(span)
        for other in self.by_reference.get(span.reference, ()):
            # Cheap rejections first: most offers of a reference are copies of one flash.
            if other.concession_id is not None and span.concession_id is not None \
                    and other.concession_id != span.concession_id:
                continue
            if other.offer_id != span.offer_id and _family(other) != family and can_conflict(span, other):
                found.append(Conflict(span.offer_id, other.offer_id, other.campaign_id,
                                      winner(span, other).campaign_id))
        return found


# Statistics ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OfferData:
    """An offer's comparable content (flash offer or a copy's offer)."""
    offer_id: int
    campaign_id: int
    reference: str
    label: str
    discount_kind: str
    discount_value: Decimal
    network_share: Decimal | None = None
    category: str | None = None
    conditions: str | None = None
    origin: str = ORIGIN_FILIALE
    source_offer_id: int | None = None
    deleted: bool = False


@dataclass(frozen=True)
class CopyData:
    """A concession's copy of a flash."""
    campaign_id: int
    concession_id: int
    concession_name: str
    state: str
    validated_at: dt.datetime | None = None


@dataclass
class ConcessionFigures:
    concession_id: int
    concession_name: str
    validated: bool
    validated_at: dt.datetime | None
    kept: int = 0
    modified: int = 0
    deleted: int = 0
    added: int = 0


@dataclass
class OfferFigures:
    offer_id: int
    reference: str
    label: str
    discount_kind: str
    flash_discount: Decimal
    kept: int = 0
    modified: int = 0
    deleted: int = 0
    applied: list = field(default_factory=list)   # discounts applied by concessions (same kind as the flash)

    @property
    def average_applied(self) -> Decimal | None:
        if not self.applied:
            return None
        return (sum(self.applied, Decimal(0)) / len(self.applied)).quantize(Decimal("0.01"))

    @property
    def difference(self) -> Decimal | None:
        """Average discount applied minus the flash discount (positive: dealers give more)."""
        avg = self.average_applied
        return None if avg is None else avg - self.flash_discount


@dataclass
class CampaignStatistics:
    targeted: int
    validated: int
    modified: int
    deleted: int
    added: int
    concessions: list[ConcessionFigures]
    offers: list[OfferFigures]

    @property
    def validated_share(self) -> int:
        return round(100 * self.validated / self.targeted) if self.targeted else 0


def is_modified(copy: OfferData, source: OfferData) -> bool:
    """A pre-filled offer the dealer changed (any compared field differs from the flash)."""
    return any(not same_value(getattr(copy, f), getattr(source, f)) for f in COMPARED_FIELDS)


def campaign_statistics(flash_offers, copies, copy_offers) -> CampaignStatistics:
    """Figures of one flash: concessions that validated, offers kept / modified / deleted versus the
    flash, offers added by dealers, discounts applied versus the flash discount."""
    sources = {o.offer_id: o for o in flash_offers}
    per_offer = {o.offer_id: OfferFigures(o.offer_id, o.reference, o.label, o.discount_kind, o.discount_value)
                 for o in flash_offers if not o.deleted}
    per_copy = {c.campaign_id: ConcessionFigures(c.concession_id, c.concession_name, c.state == VALIDATED,
                                                 c.validated_at) for c in copies}
    for o in copy_offers:
        figures = per_copy.get(o.campaign_id)
        if figures is None:
            continue
        if o.origin == ORIGIN_DEALER or o.source_offer_id not in sources:
            if not o.deleted:
                figures.added += 1
            continue
        source, line = sources[o.source_offer_id], per_offer.get(o.source_offer_id)
        if o.deleted:
            figures.deleted += 1
            if line:
                line.deleted += 1
            continue
        changed = is_modified(o, source)
        if changed:
            figures.modified += 1
        else:
            figures.kept += 1
        if line:
            if changed:
                line.modified += 1
            else:
                line.kept += 1
            if o.discount_kind == source.discount_kind:
                line.applied.append(o.discount_value)
    concessions = sorted(per_copy.values(), key=lambda c: c.concession_name)
    return CampaignStatistics(
        targeted=len(per_copy), validated=sum(c.validated for c in concessions),
        modified=sum(c.modified for c in concessions), deleted=sum(c.deleted for c in concessions),
        added=sum(c.added for c in concessions), concessions=concessions,
        offers=sorted(per_offer.values(), key=lambda o: o.reference))
