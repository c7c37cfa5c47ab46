"""Stock figures of the remarketing dashboards (§4): set-based queries, one statement per figure.

Every count is made with the conditions of ``models.stock_filters`` (the ones the stock lists
apply), so the number on a bar equals the rows of the list its link opens. Several counts share
one statement through aggregate ``FILTER`` clauses: a dashboard issues a small, fixed number of
statements whatever the size of the stock. Pure SQLAlchemy: callers pass the session, the scope
(anything with ``clause(Vehicle)``) and ``today``.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Float, and_, func, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from .organisation import Concession, Site
from .stock_filters import (DEAL_BUCKETS, PRICE_AGE_BUCKETS, PRICE_BANDS, SCORE_BUCKETS, STOCK_AGE_BUCKETS,
                            statuses as chosen_statuses, stock_conditions)
from .vehicle import ENERGIES, PUBLISHED_STATUSES, STATUSES, Vehicle

# Destinations counted by the publication dashboard (the guide's "Stock": sans destination,
# à particulier, à marchand) and the ones with a dashboard of their own.
PUBLICATION_DESTINATIONS = ("none", "retail", "trade")
DASHBOARD_DESTINATIONS = ("retail", "trade")

# Advice printed beside the averages (guide §3.1).
ADVICE_STOCK_AGE_DAYS = 90
ADVICE_PRICE_AGE_DAYS = 30
ADVICE_PHOTOS = 12

# The distribution charts of a destination dashboard: (stock_filters parameter, buckets).
DISTRIBUTIONS = (
    ("score", SCORE_BUCKETS),
    ("stock_age", STOCK_AGE_BUCKETS),
    ("price_age", PRICE_AGE_BUCKETS),
    ("deal", DEAL_BUCKETS),
    ("price_band", PRICE_BANDS),
)
# "À tarifer": priced more than ADVICE_PRICE_AGE_DAYS ago (the price age buckets above 30 days).
TO_REPRICE = {"price_age": ["31-60", "61-"]}

# Répartitions over a closed list of codes are counted in the same statement as the buckets
# (one FILTER per code, with the list's own condition); open-ended ones (make, site) are GROUP BYs.
CODE_BREAKDOWNS = {"energy": tuple(ENERGIES), "status": tuple(STATUSES)}
BREAKDOWNS = {"make": Vehicle.make, "energy": Vehicle.energy, "status": Vehicle.status}


class days_since(FunctionElement):
    """Days from ``column`` (a date) to ``today``, portable between PostgreSQL and SQLite."""
    type = Float()
    inherit_cache = True
    name = "days_since"


@compiles(days_since)
def _days_since_sqlite(element, compiler, **kw):
    column, today = list(element.clauses)
    return f"(julianday({compiler.process(today, **kw)}) - julianday({compiler.process(column, **kw)}))"


@compiles(days_since, "postgresql")
def _days_since_pg(element, compiler, **kw):
    column, today = list(element.clauses)
    return f"(CAST({compiler.process(today, **kw)} AS DATE) - {compiler.process(column, **kw)})"


# Selection: the site selector and the status filter ------------------------------------------
@dataclass(frozen=True)
class Selection:
    """What the dashboard's site selector and status filter chose (already checked against the scope)."""
    concession_id: int | None = None
    site_id: int | None = None
    statuses: tuple[str, ...] = PUBLISHED_STATUSES

    @property
    def default_statuses(self) -> bool:
        return tuple(sorted(self.statuses)) == tuple(sorted(PUBLISHED_STATUSES))

    def params(self) -> dict:
        """The stock-list parameters that carry this selection into every link."""
        out: dict = {}
        if not self.default_statuses:
            out["status"] = list(self.statuses)
        if self.site_id is not None:
            out["site"] = self.site_id
        elif self.concession_id is not None:
            out["concession"] = self.concession_id
        return out


def parse_statuses(params: Mapping) -> tuple[str, ...]:
    """The statuses asked for (default ST, VD, DV; ``all`` means every status)."""
    from .vehicle import STATUSES

    chosen = chosen_statuses(params)
    return tuple(STATUSES) if chosen is None else tuple(chosen)


@dataclass(frozen=True)
class SiteOption:
    id: int
    name: str
    concession_id: int
    concession_name: str


def site_options(session, scope, concession_id: int | None = None, site_id: int | None = None) -> list[SiteOption]:
    """Sites the selector offers, with their concession (one statement).

    A dealer's scope: all its sites. Network-wide (up to 2,000 concessions): only the sites of the
    concession asked for, or of the site asked for; none when nothing is selected."""
    stmt = (select(Site.id, Site.name, Concession.id, Concession.name)
            .join(Concession, Concession.id == Site.concession_id)
            .order_by(Concession.name, Site.name))
    if scope.is_network:
        if site_id is not None:
            stmt = stmt.where(Site.concession_id == select(Site.concession_id).where(Site.id == site_id)
                              .scalar_subquery())
        elif concession_id is not None:
            stmt = stmt.where(Site.concession_id == concession_id)
        else:
            return []
    else:
        stmt = stmt.where(scope.clause(Site))
    return [SiteOption(*row) for row in session.execute(stmt)]


def concession_options(session, scope) -> list[tuple[int, str]]:
    """(id, name) of the concessions the scope may see, by name (one statement)."""
    stmt = select(Concession.id, Concession.name).order_by(Concession.name)
    clause = scope.clause(Concession)
    if clause is not None:
        stmt = stmt.where(clause)
    return [(cid, name) for cid, name in session.execute(stmt)]


# Building blocks ------------------------------------------------------------------------------
def _base_conditions(scope, destinations: Iterable[str], selection: Selection, today: dt.date) -> list:
    """Scope + destination(s) + statuses + selected site/concession, as the lists apply them."""
    return list(_base_conditions_cached(scope, tuple(destinations), selection, today))


# SQL expressions are immutable: the ones a dashboard needs are built once per (scope, selection,
# day) and reused by its statements and by later views, instead of being rebuilt for each.
@lru_cache(maxsize=256)
def _base_conditions_cached(scope, destinations: tuple, selection: Selection, today: dt.date) -> tuple:
    params = dict(selection.params())
    params["destination"] = list(destinations)
    params["status"] = list(selection.statuses)
    conds = stock_conditions(params, today)
    clause = scope.clause(Vehicle) if scope is not None else None
    if clause is not None:
        conds.append(clause)
    return tuple(conds)


def _filter_of(params: Mapping, today: dt.date):
    """One list parameter set as a single condition (without status/destination: in the base)."""
    conds = stock_conditions(params, today, with_status=False, with_destination=False)
    return and_(*conds) if conds else true()


def _ratio(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


# Publication dashboard ------------------------------------------------------------------------
@dataclass
class PublicationFigures:
    total: int
    by_destination: dict[str, int]
    avg_stock_age: float | None
    avg_price_age: float | None
    avg_photos: float | None
    # per destination: counts of vehicles to fix, keyed like the list parameter
    to_reprice: dict[str, int]
    not_referenced: dict[str, int]
    no_price: dict[str, int]
    no_photos: dict[str, int]

    def share(self, counts: dict[str, int]) -> float:
        return _ratio(sum(counts.values()), self.total)


PUBLICATION_ISSUES = {
    "to_reprice": TO_REPRICE,
    "not_referenced": {"not_referenced": "1"},
    "no_price": {"no_price": "1"},
    "no_photos": {"no_photos": "1"},
}


def publication_figures(session, scope, selection: Selection, today: dt.date) -> PublicationFigures:
    """Stock by destination, average ages and photos, listings to improve: one GROUP BY statement.

    Grouped by destination so each condition is evaluated once per vehicle; the averages of the
    whole stock are recombined from the per-destination sums."""
    conds = _base_conditions(scope, PUBLICATION_DESTINATIONS, selection, today)
    stock_age = days_since(Vehicle.entry_date, today)
    price_age = days_since(Vehicle.price_changed_on, today)
    columns = [
        Vehicle.destination,
        func.count().label("n"),
        func.sum(stock_age).label("stock_age_sum"), func.count(Vehicle.entry_date).label("stock_age_n"),
        func.sum(price_age).label("price_age_sum"), func.count(Vehicle.price_changed_on).label("price_age_n"),
        func.sum(Vehicle.photo_count).label("photos_sum"), func.count(Vehicle.photo_count).label("photos_n"),
    ]
    for issue, params in PUBLICATION_ISSUES.items():
        columns.append(func.count().filter(_filter_of(params, today)).label(issue))
    stmt = select(*columns).select_from(Vehicle).where(*conds).group_by(Vehicle.destination)
    rows = {r.destination: r._mapping for r in session.execute(stmt)}
    empty = {"n": 0, "stock_age_sum": None, "stock_age_n": 0, "price_age_sum": None, "price_age_n": 0,
             "photos_sum": None, "photos_n": 0, **{k: 0 for k in PUBLICATION_ISSUES}}
    per = {d: rows.get(d, empty) for d in PUBLICATION_DESTINATIONS}

    def mean(name):
        total = sum(float(r[f"{name}_sum"] or 0) for r in per.values())
        n = sum(r[f"{name}_n"] or 0 for r in per.values())
        return total / n if n else None

    return PublicationFigures(
        total=sum(r["n"] for r in per.values()),
        by_destination={d: r["n"] for d, r in per.items()},
        avg_stock_age=mean("stock_age"), avg_price_age=mean("price_age"), avg_photos=mean("photos"),
        **{issue: {d: r[issue] or 0 for d, r in per.items()} for issue in PUBLICATION_ISSUES})


def _float(value) -> float | None:
    return None if value is None else float(value)


# Destination dashboards (Particulier / Marchand) ----------------------------------------------
@dataclass
class DestinationFigures:
    """Indicators and the bucket counts of every distribution of one destination."""
    total: int
    avg_stock_age: float | None
    avg_price_age: float | None
    avg_score: float | None
    to_reprice: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # param → bucket key → count
    codes: dict[str, dict[str | None, int]] = field(default_factory=dict)  # energy/status → code → count

    def share(self, param: str, key: str) -> float:
        return _ratio(self.counts.get(param, {}).get(key, 0), self.total)


def destination_figures(session, scope, destination: str, selection: Selection,
                        today: dt.date) -> DestinationFigures:
    """Indicators + every bucketed distribution of one destination in ONE statement."""
    conds = _base_conditions(scope, [destination], selection, today)
    return _bucket_query(session, conds, today, with_codes=True)


def _bucket_query(session, conds, today, with_codes: bool = False) -> DestinationFigures:
    columns = _bucket_columns(today, with_codes)
    row = session.execute(select(*columns).select_from(Vehicle).where(*conds)).one()._mapping
    counts = {param: {b.key: row[f"{param}__{i}"] or 0 for i, b in enumerate(buckets)}
              for param, buckets in DISTRIBUTIONS}
    codes_found: dict[str, dict] = {}
    if with_codes:
        codes_found = {param: {code: row[f"{param}__c{i}"] or 0 for i, code in enumerate(codes)}
                       for param, codes in CODE_BREAKDOWNS.items()}
        codes_found["energy"][None] = row["energy__null"] or 0
    return DestinationFigures(total=row["total"] or 0, avg_stock_age=_float(row["stock_age"]),
                              avg_price_age=_float(row["price_age"]), avg_score=_float(row["score"]),
                              to_reprice=row["to_reprice"] or 0, counts=counts, codes=codes_found)


@lru_cache(maxsize=8)
def _bucket_columns(today: dt.date, with_codes: bool) -> tuple:
    """The aggregate columns of the bucket statement (built once per day)."""
    columns = [
        func.count().label("total"),
        # AVG skips NULLs: a vehicle without entry date / price date / score does not count
        func.avg(days_since(Vehicle.entry_date, today)).label("stock_age"),
        func.avg(days_since(Vehicle.price_changed_on, today)).label("price_age"),
        func.avg(Vehicle.score).label("score"),
        func.count().filter(_filter_of(TO_REPRICE, today)).label("to_reprice"),
    ]
    for param, buckets in DISTRIBUTIONS:
        for i, bucket in enumerate(buckets):
            columns.append(func.count().filter(bucket.condition(today)).label(f"{param}__{i}"))
    if with_codes:
        for param, codes in CODE_BREAKDOWNS.items():
            for i, code in enumerate(codes):
                cond = and_(*stock_conditions({param: code}, today, with_destination=False,
                                              with_status=(param == "status")))
                columns.append(func.count().filter(cond).label(f"{param}__c{i}"))
        columns.append(func.count().filter(Vehicle.energy.is_(None)).label("energy__null"))
    return tuple(columns)


def code_slices(figures: DestinationFigures, param: str) -> list[Slice]:
    """The energy or status répartition out of the bucket statement, largest first, empty groups left out."""
    found = [Slice(code, "" if code is None else str(code), n) for code, n in figures.codes[param].items() if n]
    return sorted(found, key=lambda s: (-s.count, s.label))


# The network comparison is the same for every user: computed once per destination and statuses,
# kept a few minutes (one full aggregate over the network instead of one per page view).
_network_cache: dict[tuple, tuple[float, DestinationFigures]] = {}
_network_lock = threading.Lock()


def network_figures(session, destination: str, statuses: tuple[str, ...], today: dt.date,
                    max_age_seconds: float = 0, cache_key: object = None) -> DestinationFigures:
    """The same figures over every concession (aggregates only: the "Moyenne du réseau")."""
    key = (cache_key, destination, tuple(sorted(statuses)), today)
    now = time.monotonic()
    if max_age_seconds > 0:
        with _network_lock:
            hit = _network_cache.get(key)
        if hit and now - hit[0] <= max_age_seconds:
            return hit[1]
    conds = _base_conditions(None, [destination], Selection(statuses=tuple(statuses)), today)
    figures = _bucket_query(session, conds, today)
    if max_age_seconds > 0:
        with _network_lock:
            _network_cache[key] = (now, figures)
    return figures


def clear_network_cache() -> None:
    """Forget the cached network figures (tests, after a bulk import)."""
    with _network_lock:
        _network_cache.clear()


def stock_count(session, scope, destination: str, selection: Selection, today: dt.date) -> int:
    """Vehicles of one destination in the selection (one statement), e.g. the "VO sans destination"."""
    conds = _base_conditions(scope, [destination], selection, today)
    return session.execute(select(func.count()).select_from(Vehicle).where(*conds)).scalar_one()


# Répartitions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slice:
    """One group of a répartition: the list parameter value, its label and count."""
    value: str | int | None
    label: str
    count: int


def breakdown(session, scope, destination: str, selection: Selection, param: str, today: dt.date,
              limit: int | None = None) -> list[Slice]:
    """Vehicles grouped by energy, status or make (one GROUP BY statement), largest first."""
    column = BREAKDOWNS[param]
    conds = _base_conditions(scope, [destination], selection, today)
    n = func.count().label("n")
    stmt = (select(column, n).select_from(Vehicle).where(*conds).group_by(column)
            .order_by(n.desc(), column))
    if limit:
        stmt = stmt.limit(limit)
    return [Slice(value, str(value) if value is not None else "", count)
            for value, count in session.execute(stmt)]


def site_breakdown(session, scope, destination: str, selection: Selection, today: dt.date,
                   site_names: Mapping[int, str], limit: int | None = None) -> list[Slice]:
    """Vehicles grouped by site (one statement), largest first; names from ``site_names``."""
    conds = _base_conditions(scope, [destination], selection, today)
    n = func.count().label("n")
    stmt = (select(Vehicle.site_id, n).select_from(Vehicle).where(*conds).group_by(Vehicle.site_id)
            .order_by(n.desc(), Vehicle.site_id))
    if limit:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    missing = [site_id for site_id, _n in rows if site_id not in site_names]
    if missing:  # network-wide the selector does not hold every site: name the few shown
        named = session.execute(select(Site.id, Site.name).where(Site.id.in_(missing))).all()
        site_names = {**site_names, **dict(named)}
    return [Slice(site_id, site_names.get(site_id, str(site_id)), count) for site_id, count in rows]
