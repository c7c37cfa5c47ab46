"""The score /10 of a vehicle (§3) and its set-based refresh over the stock.

``score_breakdown(facts, resale_ease)`` is the rule, a plain function over plain data.
``resale_ease_of(stats, first_registration_date, mileage, today)`` decides "facilité de revente".
``refresh_scores(session, ...)`` stores the score and its breakdown on the vehicles (one select of
the vehicles, one select of the sales history, and one UPDATE per distinct breakdown), so lists
and charts over 100,000 vehicles filter and group on columns instead of computing per request.
``score_vehicle(session, vehicle)`` does the same for one ORM vehicle being edited.

Sales history: vehicles of the whole network with status VND sold in the last 12 months; only
aggregates (count and median days in stock per make+model) are used, never another dealer's rows.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, or_, select, update

from .vehicle import Vehicle

EASY, MEDIUM, HARD = "easy", "medium", "hard"
RESALE_LABELS = {EASY: "Facile", MEDIUM: "Moyen", HARD: "Difficile"}  # French, shown as is
RESALE_POINTS = {EASY: 2, MEDIUM: 1, HARD: 0}

PRICE_FRESH_DAYS = 30        # price age below this earns 2 points
SALES_WINDOW_DAYS = 365      # the last 12 months of sales
MIN_SALES = 3                # fewer sales: fall back on age and mileage
EASY_MEDIAN_DAYS = 45
HARD_MEDIAN_DAYS = 90
EASY_MAX_YEARS, EASY_MAX_KM = 5, 80_000
HARD_MIN_YEARS, HARD_MIN_KM = 10, 150_000
SOLD_STATUS = "VND"


@dataclass(frozen=True)
class ScoreFacts:
    """What the score is computed from (the vehicle's own fields)."""
    photo_count: int = 0
    sale_price_ttc: Decimal | None = None
    price_changed_on: dt.date | None = None
    referenced: bool = False
    custom_valuation: Decimal | None = None
    transaction_value: Decimal | None = None
    today: dt.date = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class Breakdown:
    """The score and its parts, as shown in the Scoring column."""
    photos: int
    price: int
    referenced: int
    deal: int
    resale: int
    resale_ease: str

    @property
    def total(self) -> int:
        return self.photos + self.price + self.referenced + self.deal + self.resale

    def columns(self) -> dict:
        """The stored columns of Vehicle for this breakdown."""
        return {"score": self.total, "score_photos": self.photos, "score_price": self.price,
                "score_referenced": self.referenced, "score_deal": self.deal, "score_resale": self.resale,
                "resale_ease": self.resale_ease}


@dataclass(frozen=True)
class SalesStats:
    """The group's sales of one make+model over the last 12 months."""
    count: int
    median_days: float


def photo_points(count: int | None) -> int:
    """0 photo → 0, 1–5 → 1, 6–11 → 2, 12 or more → 3."""
    count = count or 0
    if count <= 0:
        return 0
    if count <= 5:
        return 1
    if count <= 11:
        return 2
    return 3


def has_price(price) -> bool:
    """A sale price counts when it is set and above 0 € (the guide shows "0 €" for no price)."""
    return price is not None and Decimal(price) > 0


def price_points(price, changed_on: dt.date | None, today: dt.date) -> int:
    """2 when a price is set and changed less than 30 days ago."""
    if not has_price(price) or changed_on is None:
        return 0
    return 2 if (today - changed_on).days < PRICE_FRESH_DAYS else 0


def reference_value(custom_valuation, transaction_value) -> Decimal | None:
    """The cote a price is compared with: the cote personnalisée, else the valeur transaction."""
    for value in (custom_valuation, transaction_value):
        if value is not None and Decimal(value) > 0:
            return Decimal(value)
    return None


def deal_points(price, cote) -> int:
    """Bonne affaire: price ≤ 100 % of the cote → 2, ≤ 105 % → 1, above or no cote/price → 0."""
    if not has_price(price) or cote is None:
        return 0
    price = Decimal(price)
    if price <= cote:
        return 2
    if price * 100 <= cote * 105:
        return 1
    return 0


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def resale_ease_of(stats: SalesStats | None, first_registration_date: dt.date | None,
                   mileage: int | None, today: dt.date) -> str:
    """Facile / moyen / difficile from the group's sales, else from the vehicle's age and mileage."""
    if stats is not None and stats.count >= MIN_SALES:
        if stats.median_days <= EASY_MEDIAN_DAYS:
            return EASY
        if stats.median_days > HARD_MEDIAN_DAYS:
            return HARD
    # Not enough history, or a median between 45 and 90 days: age and mileage decide.
    old = first_registration_date is not None and first_registration_date < _years_before(today, HARD_MIN_YEARS)
    worn = mileage is not None and mileage > HARD_MIN_KM
    if old or worn:
        return HARD
    young = first_registration_date is not None and first_registration_date >= _years_before(today, EASY_MAX_YEARS)
    low_km = mileage is not None and mileage <= EASY_MAX_KM
    if young and low_km:
        return EASY
    return MEDIUM


def score_breakdown(facts: ScoreFacts, resale_ease: str) -> Breakdown:
    """The score /10 with its breakdown (§3)."""
    return Breakdown(
        photos=photo_points(facts.photo_count),
        price=price_points(facts.sale_price_ttc, facts.price_changed_on, facts.today),
        referenced=1 if facts.referenced else 0,
        deal=deal_points(facts.sale_price_ttc, reference_value(facts.custom_valuation, facts.transaction_value)),
        resale=RESALE_POINTS[resale_ease],
        resale_ease=resale_ease,
    )


def median_by_key(rows: Iterable[tuple]) -> dict:
    """{key: SalesStats} from (key, days) pairs."""
    days = defaultdict(list)
    for key, d in rows:
        days[key].append(d)
    return {k: SalesStats(len(v), statistics.median(v)) for k, v in days.items()}


def _key(make, model) -> tuple[str, str]:
    return ((make or "").strip().upper(), (model or "").strip().upper())


def sales_stats(session, today: dt.date, pairs: Iterable[tuple[str, str]] | None = None) -> dict:
    """{(MAKE, MODEL): SalesStats} over the network's sales of the last 12 months, in one select.

    ``pairs`` restricts it to some make+model (a single vehicle being edited)."""
    stmt = select(Vehicle.make, Vehicle.model, Vehicle.entry_date, Vehicle.sale_date).where(
        Vehicle.status == SOLD_STATUS, Vehicle.sale_date.is_not(None), Vehicle.entry_date.is_not(None),
        Vehicle.sale_date > today - dt.timedelta(days=SALES_WINDOW_DAYS), Vehicle.sale_date <= today)
    if pairs is not None:
        pairs = sorted(set(pairs))
        if not pairs:
            return {}
        stmt = stmt.where(or_(*[and_(func.upper(Vehicle.make) == mk, func.upper(Vehicle.model) == md)
                                for mk, md in pairs]))
    return median_by_key((_key(r.make, r.model), max(0, (r.sale_date - r.entry_date).days))
                         for r in session.execute(stmt))


def _breakdown_for(row, stats: dict, today: dt.date) -> Breakdown:
    facts = ScoreFacts(photo_count=row.photo_count or 0, sale_price_ttc=row.sale_price_ttc,
                       price_changed_on=row.price_changed_on, referenced=bool(row.referenced),
                       custom_valuation=row.custom_valuation, transaction_value=row.transaction_value,
                       today=today)
    ease = resale_ease_of(stats.get(_key(row.make, row.model)), row.first_registration_date, row.mileage, today)
    return score_breakdown(facts, ease)


INPUT_COLUMNS = (Vehicle.id, Vehicle.make, Vehicle.model, Vehicle.photo_count, Vehicle.sale_price_ttc,
                 Vehicle.price_changed_on, Vehicle.referenced, Vehicle.custom_valuation,
                 Vehicle.transaction_value, Vehicle.first_registration_date, Vehicle.mileage)
STORED_COLUMNS = (Vehicle.score, Vehicle.score_photos, Vehicle.score_price, Vehicle.score_referenced,
                  Vehicle.score_deal, Vehicle.score_resale, Vehicle.resale_ease, Vehicle.scored_on)
UPDATE_CHUNK = 2000


def refresh_scores(session, concession_ids=None, vehicle_ids=None, today: dt.date | None = None,
                   make_model: tuple[str, str] | None = None) -> int:
    """Recompute and store the scores of the stock (or of some concessions / vehicles), set-wise.

    Sold vehicles are scored too (harmless, and a sale can be cancelled). Only rows whose stored
    values change are written, grouped by identical breakdown: one UPDATE … WHERE id IN (…) per
    distinct breakdown and chunk. Returns the number of vehicles updated. Does not commit."""
    today = today or dt.date.today()
    stmt = select(*INPUT_COLUMNS, *STORED_COLUMNS)
    if concession_ids is not None:
        stmt = stmt.where(Vehicle.concession_id.in_(list(concession_ids)))
    if vehicle_ids is not None:
        stmt = stmt.where(Vehicle.id.in_(list(vehicle_ids)))
    if make_model is not None:  # a sale moved this make+model's median: its vehicles are rescored
        mk, md = _key(*make_model)
        stmt = stmt.where(func.upper(Vehicle.make) == mk, func.upper(Vehicle.model) == md)
    rows = session.execute(stmt).all()
    if not rows:
        return 0
    pairs = {_key(r.make, r.model) for r in rows}
    stats = sales_stats(session, today, pairs if len(pairs) <= 50 else None)

    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        b = _breakdown_for(row, stats, today)
        stored = (row.score, row.score_photos, row.score_price, row.score_referenced, row.score_deal,
                  row.score_resale, row.resale_ease, row.scored_on)
        wanted = (b.total, b.photos, b.price, b.referenced, b.deal, b.resale, b.resale_ease, today)
        if stored != wanted:
            groups[(b, today)].append(row.id)
    table = Vehicle.__table__
    for (b, day), ids in groups.items():
        for start in range(0, len(ids), UPDATE_CHUNK):
            session.execute(update(table).where(table.c.id.in_(ids[start:start + UPDATE_CHUNK]))
                            .values(**b.columns(), scored_on=day))
    return sum(len(ids) for ids in groups.values())


def score_vehicle(session, vehicle: Vehicle, today: dt.date | None = None) -> Breakdown:
    """Score one vehicle being edited (ORM object, possibly unsaved) and set its stored columns."""
    today = today or dt.date.today()
    stats = sales_stats(session, today, [_key(vehicle.make, vehicle.model)])
    b = _breakdown_for(vehicle, stats, today)
    for name, value in b.columns().items():
        setattr(vehicle, name, value)
    vehicle.scored_on = today
    return b


def stored_breakdown(vehicle) -> Breakdown | None:
    """The breakdown stored on a vehicle (or a row with the same columns), None if never scored."""
    if vehicle.score is None:
        return None
    return Breakdown(photos=vehicle.score_photos or 0, price=vehicle.score_price or 0,
                     referenced=vehicle.score_referenced or 0, deal=vehicle.score_deal or 0,
                     resale=vehicle.score_resale or 0, resale_ease=vehicle.resale_ease or MEDIUM)
