"""The stock-list filters: the ONE definition of "which vehicles" shared by lists and dashboards.

Every filter of the Particulier / Marchand stock lists is a SQL condition over ``Vehicle`` built
here, and the dashboards count their bars with the very same conditions, so that the count on a
bar equals the number of rows of the list its link opens. Pure SQLAlchemy; the concession scope
is NOT applied here (callers add ``Scope.clause(Vehicle)``).

URL query parameters (= the keys of ``params``; a parameter may repeat or hold comma-separated
values, values of one parameter are OR-ed, parameters are AND-ed; unknown or malformed values are
ignored, never an error):

==================  ==========================================================================
``destination``     ``retail`` | ``trade`` | ``none`` | ``destruction`` | ``transfer`` (the list
                    takes it from its path ``/stock/<destination>/``; ``all`` = no condition)
``status``          ST, VD, DV, ARR, CDE, VND (multi). Absent → ST, VD, DV. ``all`` → any status
``concession``      concession id (multi)
``site``            site id (multi)
``score``           exact stored score 0..10 (multi)
``stock_age``       stock age bucket: ``0-30``, ``31-60``, ``61-90``, ``91-180``, ``181-`` (days)
``price_age``       price age bucket: ``0-15``, ``16-30``, ``31-60``, ``61-`` (days since the last
                    price change; only vehicles with a sale price above 0 €)
``deal``            bonne affaire (stored ``score_deal``): ``2`` ≤ 100 % of the cote, ``1`` ≤ 105 %,
                    ``0`` above or no cote (unscored counts as 0)
``price_band``      sale price TTC band: ``0-9999``, ``10000-14999``, ``15000-19999``,
                    ``20000-29999``, ``30000-``
``energy``          energy code (petrol, diesel, hybrid, plugin_hybrid, electric, lpg) (multi)
``make``            make, exact, case-insensitive (multi)
``model``           model, exact, case-insensitive (multi)
``no_price=1``      no sale price TTC (empty or 0 €)
``no_photos=1``     no photo
``not_referenced=1``  not matched to the valuation reference
``q``               quick search: every word must match the model, make, entry number or
                    registration (dashes and spaces ignored), or be the year of first registration
Advanced search (the list's "Recherche avancée" form):
``version``, ``family``, ``colour``, ``vin`` (contains, case-insensitive); ``gearbox``, ``genre``,
``body``, ``affectation``, ``origin`` (codes, multi); ``location`` (id, multi); ``referenced``
(``1``/``0``); ``mileage_min``, ``mileage_max``, ``price_min``, ``price_max``, ``year_min``,
``year_max``, ``photos_min``, ``score_min`` (integers); ``entry_from``, ``entry_to``
(ISO dates, entry date); ``valuation_stale=1`` (cote older than 15 days); ``no_valuation=1``.
==================  ==========================================================================

Buckets are data (``SCORE_BUCKETS``, ``STOCK_AGE_BUCKETS``, ``PRICE_AGE_BUCKETS``,
``DEAL_BUCKETS``, ``PRICE_BANDS``): each has a ``key`` (the URL value), a French ``label`` and
``condition(today)``; a dashboard counts them in one statement with
``func.count().filter(bucket.condition(today))`` and links with
``stock_list_url(destination, <param>=bucket.key, ...)``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, or_, true
from sqlalchemy.sql.elements import ColumnElement

from .vehicle import DESTINATIONS, PUBLISHED_STATUSES, STATUSES, Vehicle

VALUATION_STALE_DAYS = 15  # a cote older than this is flagged "!" (§0)


@dataclass(frozen=True)
class Bucket:
    """One bar of a distribution: URL ``key``, French ``label``, SQL ``condition(today)``."""
    key: str
    label: object
    _condition: Callable[[dt.date], ColumnElement]

    def condition(self, today: dt.date) -> ColumnElement:
        return self._condition(today)


def _days_ago(today: dt.date, days: int) -> dt.date:
    return today - dt.timedelta(days=days)


def _date_age_bucket(column, lo: int, hi: int | None) -> Callable[[dt.date], ColumnElement]:
    """Age in days of ``column`` within [lo, hi], as a range on the date column (index-friendly).

    The lowest bucket also holds dates in the future (a vehicle announced before it arrives)."""
    def condition(today):
        parts = []
        if lo > 0:
            parts.append(column <= _days_ago(today, lo))
        else:
            parts.append(column.is_not(None))
        if hi is not None:
            parts.append(column >= _days_ago(today, hi))
        return and_(*parts)
    return condition


def _score_is(n: int):
    return lambda today: Vehicle.score == n


SCORE_BUCKETS = [Bucket(str(n), str(n), _score_is(n)) for n in range(0, 11)]

STOCK_AGE_BUCKETS = [
    Bucket("0-30", _l("0–30 j"), _date_age_bucket(Vehicle.entry_date, 0, 30)),
    Bucket("31-60", _l("31–60 j"), _date_age_bucket(Vehicle.entry_date, 31, 60)),
    Bucket("61-90", _l("61–90 j"), _date_age_bucket(Vehicle.entry_date, 61, 90)),
    Bucket("91-180", _l("91–180 j"), _date_age_bucket(Vehicle.entry_date, 91, 180)),
    Bucket("181-", _l("> 180 j"), _date_age_bucket(Vehicle.entry_date, 181, None)),
]

def _priced_age_bucket(lo: int, hi: int | None) -> Callable[[dt.date], ColumnElement]:
    """Price age only means something for a vehicle that has a price (not empty, not 0 €)."""
    age = _date_age_bucket(Vehicle.price_changed_on, lo, hi)
    return lambda today: and_(Vehicle.sale_price_ttc > 0, age(today))


PRICE_AGE_BUCKETS = [
    Bucket("0-15", _l("0–15 j"), _priced_age_bucket(0, 15)),
    Bucket("16-30", _l("16–30 j"), _priced_age_bucket(16, 30)),
    Bucket("31-60", _l("31–60 j"), _priced_age_bucket(31, 60)),
    Bucket("61-", _l("> 60 j"), _priced_age_bucket(61, None)),
]

DEAL_BUCKETS = [
    Bucket("2", _l("Bonne affaire (≤ 100 % de la cote)"), lambda today: Vehicle.score_deal == 2),
    Bucket("1", _l("Prix proche de la cote (≤ 105 %)"), lambda today: Vehicle.score_deal == 1),
    Bucket("0", _l("Au-dessus de la cote ou sans cote"),
           lambda today: or_(Vehicle.score_deal == 0, Vehicle.score_deal.is_(None))),
]


def _price_between(lo: int | None, hi: int | None):
    def condition(today):
        parts = [Vehicle.sale_price_ttc.is_not(None), Vehicle.sale_price_ttc > 0]
        if lo is not None:
            parts.append(Vehicle.sale_price_ttc >= lo)
        if hi is not None:
            parts.append(Vehicle.sale_price_ttc < hi)
        return and_(*parts)
    return condition


PRICE_BANDS = [
    Bucket("0-9999", _l("< 10 000 €"), _price_between(None, 10000)),
    Bucket("10000-14999", _l("10 000 – 14 999 €"), _price_between(10000, 15000)),
    Bucket("15000-19999", _l("15 000 – 19 999 €"), _price_between(15000, 20000)),
    Bucket("20000-29999", _l("20 000 – 29 999 €"), _price_between(20000, 30000)),
    Bucket("30000-", _l("≥ 30 000 €"), _price_between(30000, None)),
]

BUCKET_PARAMS = {
    "score": SCORE_BUCKETS,
    "stock_age": STOCK_AGE_BUCKETS,
    "price_age": PRICE_AGE_BUCKETS,
    "deal": DEAL_BUCKETS,
    "price_band": PRICE_BANDS,
}

# Simple multi-valued equality filters on a code column.
CODE_PARAMS = {
    "energy": Vehicle.energy,
    "gearbox": Vehicle.gearbox,
    "genre": Vehicle.genre,
    "body": Vehicle.body_category,
    "affectation": Vehicle.affectation,
    "origin": Vehicle.origin,
}
ID_PARAMS = {"concession": Vehicle.concession_id, "site": Vehicle.site_id, "location": Vehicle.location_id}
CONTAINS_PARAMS = {"version": Vehicle.version, "family": Vehicle.family, "colour": Vehicle.colour,
                   "vin": Vehicle.vin}
RANGE_PARAMS = {  # param: (column, comparison)
    "mileage_min": (Vehicle.mileage, ">="), "mileage_max": (Vehicle.mileage, "<="),
    "price_min": (Vehicle.sale_price_ttc, ">="), "price_max": (Vehicle.sale_price_ttc, "<="),
    "photos_min": (Vehicle.photo_count, ">="), "score_min": (Vehicle.score, ">="),
}
FLAG_PARAMS = ("no_price", "no_photos", "not_referenced", "valuation_stale", "no_valuation")

# Every parameter this module understands (the list keeps them in its links and exports).
PARAMS = ("destination", "status", "q", "make", "model", "referenced", "year_min", "year_max",
          "entry_from", "entry_to", *BUCKET_PARAMS, *CODE_PARAMS, *ID_PARAMS, *CONTAINS_PARAMS,
          *RANGE_PARAMS, *FLAG_PARAMS)

YEAR_RE = re.compile(r"^(19|20)\d\d$")


def param_values(params: Mapping, key: str) -> list[str]:
    """The non-empty values of ``key``: repeated parameters and comma-separated values alike."""
    if params is None:
        return []
    if hasattr(params, "getlist"):
        raw = params.getlist(key)
    else:
        raw = params.get(key)
        if raw is None:
            raw = []
        elif isinstance(raw, (str, int)):
            raw = [raw]
    values = []
    for item in raw:
        for part in str(item).split(","):
            part = part.strip()
            if part:
                values.append(part)
    return values


def _ints(values) -> list[int]:
    out = []
    for v in values:
        try:
            number = int(v)
        except ValueError:
            continue
        if -2**63 < number < 2**63:  # beyond what a database integer holds matches nothing
            out.append(number)
    return out


def _number(value: str) -> Decimal | None:
    try:
        return Decimal(value.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except (InvalidOperation, AttributeError):
        return None


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def statuses(params: Mapping) -> list[str] | None:
    """The statuses asked for (default ST, VD, DV); None when ``status=all``."""
    values = [v.upper() for v in param_values(params, "status")]
    if "ALL" in values:
        return None
    chosen = [v for v in values if v in STATUSES]
    return chosen or list(PUBLISHED_STATUSES)


def _flag(params, key) -> bool:
    return any(v in ("1", "true", "on", "yes") for v in param_values(params, key))


def quick_search_condition(text: str) -> ColumnElement | None:
    """Each word matches model, make, entry number, registration or year of first registration."""
    words = [w for w in re.split(r"\s+", (text or "").strip()) if w][:6]
    if not words:
        return None
    clauses = []
    for word in words:
        like = f"%{word.lower()}%"
        plate = re.sub(r"[\s-]", "", word).upper()
        options = [
            func.lower(Vehicle.model).like(like),
            func.lower(Vehicle.make).like(like),
            func.lower(Vehicle.entry_number).like(like),
        ]
        if plate:
            options.append(func.replace(func.upper(Vehicle.registration), "-", "").like(f"%{plate}%"))
        if YEAR_RE.match(word):
            year = int(word)
            options.append(Vehicle.first_registration_date.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        clauses.append(or_(*options))
    return and_(*clauses)


def stock_conditions(params: Mapping, today: dt.date, *, with_status: bool = True,
                     with_destination: bool = True) -> list[ColumnElement]:
    """The WHERE conditions (AND-ed) for these list parameters; the scope is the caller's."""
    conds: list[ColumnElement] = []

    if with_destination:
        dest = [d for d in param_values(params, "destination") if d in DESTINATIONS]
        if dest:
            conds.append(Vehicle.destination.in_(dest))
    if with_status:
        chosen = statuses(params)
        if chosen is not None:
            conds.append(Vehicle.status.in_(chosen))

    for name, column in ID_PARAMS.items():
        values = param_values(params, name)
        if values:
            ids = _ints(values)
            conds.append(column.in_(ids) if ids else false())

    for name, buckets in BUCKET_PARAMS.items():
        keys = param_values(params, name)
        if not keys:
            continue
        chosen = [b.condition(today) for b in buckets if b.key in keys]
        if chosen:
            conds.append(or_(*chosen))

    for name, column in CODE_PARAMS.items():
        values = param_values(params, name)
        if values:
            conds.append(column.in_(values))

    for name, column in (("make", Vehicle.make), ("model", Vehicle.model)):
        values = [v.upper() for v in param_values(params, name)]
        if values:
            conds.append(func.upper(column).in_(values))

    for name, column in CONTAINS_PARAMS.items():
        for value in param_values(params, name)[:1]:
            conds.append(func.lower(column).like(f"%{value.lower()}%"))

    for name, (column, op) in RANGE_PARAMS.items():
        for value in param_values(params, name)[:1]:
            number = _number(value)
            if number is not None:
                conds.append(column >= number if op == ">=" else column <= number)

    for name, op in (("year_min", ">="), ("year_max", "<=")):
        for value in param_values(params, name)[:1]:
            if YEAR_RE.match(value):
                year = int(value)
                conds.append(Vehicle.first_registration_date >= dt.date(year, 1, 1) if op == ">="
                             else Vehicle.first_registration_date <= dt.date(year, 12, 31))
    for name, op in (("entry_from", ">="), ("entry_to", "<=")):
        for value in param_values(params, name)[:1]:
            day = _date(value)
            if day is not None:
                conds.append(Vehicle.entry_date >= day if op == ">=" else Vehicle.entry_date <= day)

    referenced = param_values(params, "referenced")[:1]
    if referenced in (["1"], ["0"]):
        conds.append(Vehicle.referenced.is_(true()) if referenced == ["1"]
                     else or_(Vehicle.referenced.is_(false()), Vehicle.referenced.is_(None)))
    if _flag(params, "no_price"):
        conds.append(or_(Vehicle.sale_price_ttc.is_(None), Vehicle.sale_price_ttc <= 0))
    if _flag(params, "no_photos"):
        conds.append(or_(Vehicle.photo_count == 0, Vehicle.photo_count.is_(None)))
    if _flag(params, "not_referenced"):
        conds.append(or_(Vehicle.referenced.is_(false()), Vehicle.referenced.is_(None)))
    if _flag(params, "valuation_stale"):
        conds.append(Vehicle.valuation_date < _days_ago(today, VALUATION_STALE_DAYS))
    if _flag(params, "no_valuation"):
        conds.append(and_(Vehicle.custom_valuation.is_(None), Vehicle.transaction_value.is_(None)))

    cond = quick_search_condition(_raw(params, "q"))
    if cond is not None:
        conds.append(cond)
    return conds


def _raw(params: Mapping, key: str) -> str:
    """A free-text parameter as typed (commas kept)."""
    if params is None:
        return ""
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "")


def list_destinations() -> tuple[str, ...]:
    """Destinations that have a stock list (path segment of ``/stock/<destination>/``)."""
    return ("retail", "trade", "none", "destruction", "transfer", "all")


def stock_list_url(destination: str, **params) -> str:
    """URL of the stock list of ``destination`` filtered by ``params`` (lists become repeated keys).

    Needs a Flask request or app context (it goes through ``url_for`` so it respects the mount point);
    None values are dropped."""
    from flask import url_for  # local: this module stays importable without Flask

    base = url_for("stock_list.index", destination=destination)
    pairs = []
    for key, value in params.items():
        if value is None or value == "":
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return base + ("?" + urlencode(pairs) if pairs else "")
