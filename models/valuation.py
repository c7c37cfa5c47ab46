"""Valuations ("cote", §5): the provider interface, the built-in estimator and the CSV import.

A provider answers ``quote(facts) -> Quote | NotQuotable``. The built-in one,
``ComparableSalesProvider``, estimates from the group's own sales of comparable vehicles (same
make and model, year of first registration ± 1, prices adjusted to the vehicle's mileage) and
answers "non cotable" with fewer than 3 comparables. Comparables are loaded set-wise (one select
for any number of vehicles to quote). "Coter" stores the quote as valeur transaction / valeur
annonce with its date; the dealer's own "cote personnalisée" is never overwritten by a provider.

CSV import (the file a dealer gets from the external reference), semicolon-separated, UTF-8 or
Latin-1, one header line, columns (case and accents ignored; order free)::

    immatriculation;vin;n_entree;valeur_transaction;valeur_annonce;date_cote

At least one identifier (n_entree, vin or immatriculation: the first one filled is used) and at
least one value. Amounts in French or international notation ("12 345,50", "12345.50 €");
dates as DD/MM/YYYY or YYYY-MM-DD (empty: today). Optional column ``cote_personnalisee``.
Bad lines are reported with their line number and the reason; good lines are applied.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Protocol, runtime_checkable

from sqlalchemy import and_, bindparam, func, or_, select, update

from .vehicle import Vehicle

VALUATION_STALE_DAYS = 15
MIN_COMPARABLES = 3
COMPARABLE_WINDOW_DAYS = 2 * 365      # sales of the last two years
KM_ADJUSTMENT_PER_10000 = Decimal("0.04")  # a comparable 10,000 km lower is worth ~4 % more
MAX_ADJUSTMENT = Decimal("0.30")
SOLD_STATUS = "VND"


# Interface ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VehicleFacts:
    """What a provider needs to know about the vehicle to quote."""
    make: str
    model: str
    year: int | None
    mileage: int | None
    version: str | None = None
    vin: str | None = None
    registration: str | None = None


@dataclass(frozen=True)
class Quote:
    transaction_value: Decimal
    listing_value: Decimal | None
    quoted_on: dt.date
    comparables: int = 0
    source: str = ""


@dataclass(frozen=True)
class NotQuotable:
    reason: str


@runtime_checkable
class ValuationProvider(Protocol):
    """A source of valuations ("cote"). ``quote_many`` answers for many vehicles at once."""
    name: str

    def quote(self, facts: VehicleFacts) -> Quote | NotQuotable: ...

    def quote_many(self, facts: list[VehicleFacts]) -> list[Quote | NotQuotable]: ...


# The estimator (plain function) -----------------------------------------------------------------
@dataclass(frozen=True)
class Comparable:
    """A sold (or listed) vehicle of the same make and model."""
    year: int | None
    mileage: int | None
    price: Decimal


def mileage_adjusted(price: Decimal, comparable_km: int | None, target_km: int | None) -> Decimal:
    """The comparable's price brought to the target mileage (± 4 % per 10,000 km, at most ± 30 %)."""
    if comparable_km is None or target_km is None:
        return price
    factor = (Decimal(comparable_km - target_km) / 10000) * KM_ADJUSTMENT_PER_10000
    factor = max(-MAX_ADJUSTMENT, min(MAX_ADJUSTMENT, factor))
    return price * (1 + factor)


def _round10(value: Decimal) -> Decimal:
    return (value / 10).quantize(Decimal("1")) * 10


def estimate(facts: VehicleFacts, sold: list[Comparable], listed: list[Comparable], today: dt.date,
             source: str = "") -> Quote | NotQuotable:
    """Median of mileage-adjusted prices of comparables (year ± 1); "non cotable" under 3 sales."""
    if facts.year is None:
        return NotQuotable("année de mise en circulation inconnue")

    def near(items):
        return [c for c in items if c.year is not None and abs(c.year - facts.year) <= 1 and c.price > 0]

    sales = near(sold)
    if len(sales) < MIN_COMPARABLES:
        return NotQuotable(f"{len(sales)} vente(s) comparable(s), il en faut au moins {MIN_COMPARABLES}")
    value = statistics.median([mileage_adjusted(c.price, c.mileage, facts.mileage) for c in sales])
    ads = near(listed)
    listing = (_round10(statistics.median([mileage_adjusted(c.price, c.mileage, facts.mileage) for c in ads]))
               if len(ads) >= MIN_COMPARABLES else None)
    return Quote(transaction_value=_round10(value), listing_value=listing, quoted_on=today,
                 comparables=len(sales), source=source)


def _key(make, model):
    return ((make or "").strip().upper(), (model or "").strip().upper())


class ComparableSalesProvider:
    """Built-in provider: the group's own sales (valeur transaction) and current ads (valeur annonce)."""
    name = "ventes du groupe"

    def __init__(self, session, today: dt.date | None = None):
        self.session = session
        self.today = today or dt.date.today()

    def _load(self, pairs) -> tuple[dict, dict]:
        """Sold and listed comparables of these make+model pairs, in one select."""
        sold, listed = defaultdict(list), defaultdict(list)
        if not pairs:
            return sold, listed
        year = func.extract("year", Vehicle.first_registration_date)
        stmt = select(Vehicle.make, Vehicle.model, year.label("year"), Vehicle.mileage, Vehicle.sale_price_ttc,
                      Vehicle.status).where(
            Vehicle.sale_price_ttc > 0,
            or_(and_(Vehicle.status == SOLD_STATUS,
                     Vehicle.sale_date > self.today - dt.timedelta(days=COMPARABLE_WINDOW_DAYS)),
                Vehicle.status.in_(("ST", "VD", "DV"))),
            or_(*[and_(func.upper(Vehicle.make) == mk, func.upper(Vehicle.model) == md) for mk, md in pairs]))
        for r in self.session.execute(stmt):
            c = Comparable(int(r.year) if r.year is not None else None, r.mileage, Decimal(r.sale_price_ttc))
            (sold if r.status == SOLD_STATUS else listed)[_key(r.make, r.model)].append(c)
        return sold, listed

    def quote_many(self, facts: list[VehicleFacts]) -> list[Quote | NotQuotable]:
        pairs = sorted({_key(f.make, f.model) for f in facts})
        sold, listed = {}, {}
        for start in range(0, len(pairs), 200):
            s, li = self._load(pairs[start:start + 200])
            sold.update(s), listed.update(li)
        return [estimate(f, sold.get(_key(f.make, f.model), []), listed.get(_key(f.make, f.model), []),
                         self.today, self.name) for f in facts]

    def quote(self, facts: VehicleFacts) -> Quote | NotQuotable:
        return self.quote_many([facts])[0]


def facts_of(vehicle) -> VehicleFacts:
    """The provider's view of a vehicle (ORM object or row)."""
    first = vehicle.first_registration_date
    return VehicleFacts(make=vehicle.make, model=vehicle.model, year=first.year if first else None,
                        mileage=vehicle.mileage, version=vehicle.version, vin=vehicle.vin,
                        registration=vehicle.registration)


def apply_quote(vehicle, quote: Quote) -> None:
    """Store a provider's quote on the vehicle (the cote personnalisée stays the dealer's)."""
    vehicle.transaction_value = quote.transaction_value
    if quote.listing_value is not None:
        vehicle.listing_value = quote.listing_value
    vehicle.valuation_date = quote.quoted_on


def displayed_cote(vehicle) -> tuple[Decimal | None, dt.date | None]:
    """The cote shown in lists: the cote personnalisée with its date, else the valeur transaction."""
    if vehicle.custom_valuation is not None and vehicle.custom_valuation > 0:
        return vehicle.custom_valuation, vehicle.custom_valuation_date
    if vehicle.transaction_value is not None and vehicle.transaction_value > 0:
        return vehicle.transaction_value, vehicle.valuation_date
    return None, None


def is_stale(valuation_date: dt.date | None, today: dt.date) -> bool:
    """The "!" flag: a cote older than 15 days."""
    return valuation_date is not None and (today - valuation_date).days > VALUATION_STALE_DAYS


# CSV import -------------------------------------------------------------------------------------
COLUMNS = ("immatriculation", "vin", "n_entree", "valeur_transaction", "valeur_annonce", "date_cote",
           "cote_personnalisee")
IDENTIFIERS = ("n_entree", "vin", "immatriculation")
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@dataclass
class ValuationRow:
    line: int
    entry_number: str | None
    vin: str | None
    registration: str | None
    transaction_value: Decimal | None
    listing_value: Decimal | None
    custom_valuation: Decimal | None
    valuation_date: dt.date


@dataclass
class ImportResult:
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    vehicle_ids: list[int] = field(default_factory=list)


def _norm_header(name: str) -> str:
    name = unicodedata.normalize("NFKD", name.strip().lower())
    name = "".join(c for c in name if not unicodedata.combining(c))
    name = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    aliases = {"immat": "immatriculation", "n_entree": "n_entree", "no_entree": "n_entree",
               "numero_entree": "n_entree", "num_entree": "n_entree", "n_d_entree": "n_entree"}
    return aliases.get(name, name)


def parse_amount(text: str) -> Decimal | None:
    """'12 345,50' / '12345.50 €' → Decimal; '' → None; raises ValueError when not an amount."""
    text = (text or "").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("€", "")
    if not text:
        return None
    if "," in text and "." in text:  # 12.345,50
        text = text.replace(".", "")
    text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError("montant illisible") from None
    if not value.is_finite() or value < 0:
        raise ValueError("montant négatif ou illisible")
    if value >= Decimal("10000000"):
        raise ValueError("montant trop élevé")
    return value.quantize(Decimal("0.01"))


def parse_date(text: str, today: dt.date) -> dt.date:
    text = (text or "").strip()
    if not text:
        return today
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y"):
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if day > today:
            raise ValueError("date de cote dans le futur")
        return day
    raise ValueError("date illisible (JJ/MM/AAAA attendu)")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1 (Windows-1252)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def normalise_plate(text: str | None) -> str | None:
    text = re.sub(r"[\s-]", "", (text or "")).upper()
    return text or None


def parse_valuation_csv(data: bytes, today: dt.date) -> tuple[list[ValuationRow], list[tuple[int, str]]]:
    """Rows of a valuation file and the errors of the bad lines, as (line number, reason)."""
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line or "," not in first_line else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [(1, "fichier vide")]
    names = [_norm_header(h) for h in header]
    if not any(n in names for n in IDENTIFIERS):
        return [], [(1, "en-tête sans colonne d'identification (n_entree, vin ou immatriculation)")]
    if not any(n in names for n in ("valeur_transaction", "valeur_annonce", "cote_personnalisee")):
        return [], [(1, "en-tête sans colonne de valeur (valeur_transaction, valeur_annonce)")]
    rows, errors = [], []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names):
            errors.append((line, f"{len(cells)} colonnes au lieu de {len(names)}"))
            continue
        record = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names)}
        try:
            row = ValuationRow(
                line=line,
                entry_number=record.get("n_entree") or None,
                vin=(record.get("vin") or "").upper() or None,
                registration=normalise_plate(record.get("immatriculation")),
                transaction_value=_amount(record, "valeur_transaction"),
                listing_value=_amount(record, "valeur_annonce"),
                custom_valuation=_amount(record, "cote_personnalisee"),
                valuation_date=_date(record, today),
            )
        except ValueError as exc:
            errors.append((line, str(exc)))
            continue
        if not (row.entry_number or row.vin or row.registration):
            errors.append((line, "aucun identifiant (n_entree, vin ou immatriculation)"))
        elif row.transaction_value is None and row.listing_value is None and row.custom_valuation is None:
            errors.append((line, "aucune valeur"))
        else:
            rows.append(row)
    return rows, errors


def _amount(record, name):
    try:
        return parse_amount(record.get(name, ""))
    except ValueError as exc:
        raise ValueError(f"{name} : {exc}") from None


def _date(record, today):
    try:
        return parse_date(record.get("date_cote", ""), today)
    except ValueError as exc:
        raise ValueError(f"date_cote : {exc}") from None


def apply_valuation_rows(session, rows: list[ValuationRow], scope_clause=None) -> ImportResult:
    """Match rows to vehicles of the scope (one select per 500 rows) and store their values."""
    result = ImportResult()
    plate = func.replace(func.replace(func.upper(Vehicle.registration), "-", ""), " ", "")
    by = {"n_entree": defaultdict(list), "vin": defaultdict(list), "immatriculation": defaultdict(list)}
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        entries = {r.entry_number for r in chunk if r.entry_number}
        vins = {r.vin for r in chunk if r.vin}
        plates = {r.registration for r in chunk if r.registration}
        wanted = [c for c in (Vehicle.entry_number.in_(entries) if entries else None,
                              func.upper(Vehicle.vin).in_(vins) if vins else None,
                              plate.in_(plates) if plates else None) if c is not None]
        stmt = select(Vehicle.id, Vehicle.entry_number, Vehicle.vin, plate.label("plate")).where(or_(*wanted))
        if scope_clause is not None:
            stmt = stmt.where(scope_clause)
        for v in session.execute(stmt):
            if v.entry_number in entries:
                by["n_entree"][v.entry_number].append(v.id)
            if v.vin and v.vin.upper() in vins:
                by["vin"][v.vin.upper()].append(v.id)
            if v.plate and v.plate in plates:
                by["immatriculation"][v.plate].append(v.id)
    updates = {}
    for row in rows:
        kind, ident = next((k, i) for k, i in (("n_entree", row.entry_number), ("vin", row.vin),
                                               ("immatriculation", row.registration)) if i)
        ids = sorted(set(by[kind].get(ident, [])))
        if not ids:
            result.errors.append((row.line, f"véhicule introuvable ({kind} {ident})"))
            continue
        if len(ids) > 1:
            result.errors.append((row.line, f"plusieurs véhicules correspondent ({kind} {ident})"))
            continue
        values = {"valuation_date": row.valuation_date}
        if row.transaction_value is not None:
            values["transaction_value"] = row.transaction_value
        if row.listing_value is not None:
            values["listing_value"] = row.listing_value
        if row.custom_valuation is not None:
            values["custom_valuation"] = row.custom_valuation
            values["custom_valuation_date"] = row.valuation_date
        updates[ids[0]] = values  # a later line for the same vehicle wins
    # One executemany per set of filled columns, not one statement per line.
    table = Vehicle.__table__
    batches = defaultdict(list)
    for vehicle_id, values in updates.items():
        batches[tuple(sorted(values))].append({"vid": vehicle_id, **{f"v_{k}": v for k, v in values.items()}})
    for columns, params in batches.items():
        stmt = (update(table).where(table.c.id == bindparam("vid"))
                .values(**{c: bindparam(f"v_{c}") for c in columns}))
        session.connection().execute(stmt, params)
    result.updated = len(updates)
    result.vehicle_ids = sorted(updates)
    result.errors.sort()
    return result
