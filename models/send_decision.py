"""The send decision engine (§6.5): pure, set-based, no Flask and no database.

Inputs are plain dataclasses (``DecisionInputs``); ``decide(inputs)`` returns a ``DecisionSet`` in
which every candidate — one (vehicle, medium, publication list) — has exactly one outcome:

===================  ==========================================================================
``filtered_media``   a mandatory field of the medium is missing (reasons: every missing field)
``deselected``       the vehicle is "D" on this medium
``filtered_custom``  the concession's custom filter excludes it (reasons: every failed criterion)
``not_selected``     manual selection and the vehicle is neither selected nor prioritised
``limit_reached``    eligible, but the maximum number of ads was reached
``sent``             published; ``rank`` is its position in the list's feed, priority first
===================  ==========================================================================

Order of the rules (§6.5): candidates = vehicles of the list's sites whose status is published
(default ST, VD, DV) and whose destination is the medium's; missing mandatory field → filtered
media; D → deselected; P → kept first (a P beats the custom filter and manual selection); custom
filter → filtered custom; manual and not S → not selected; the rest is ordered by the medium's
ordering, P first; the limit (global: shared by all of the concession's lists on that medium;
per list: each list its own) cuts the ordered sequence, the rest → limit reached.

States (``StateInput``): no row = the default (selected in automatic mode). When the configuration
has ``admin_imposed`` set, only the admin's (``admin_locked``) rows count and every other eligible
vehicle is selected, even in manual mode.

Speed: the work is done on groups, not on candidates, wherever the rule allows it: vehicles are
bucketed once by (site, destination, status, filled-fields bitmask), so the media filter is one
test per bucket; custom-filter criteria are evaluated once per distinct (criterion, value) into
sets of failing vehicles and intersected with a group; orderings are precomputed once into a
position per vehicle; reasons are shared tuples per bitmask. ``Decision`` objects are only built
when iterated (``DecisionSet.__iter__``), counts come from group sizes.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import filterfalse
from decimal import Decimal
from typing import Iterable, Iterator, NamedTuple

DEFAULT_PUBLISHED_STATUSES = ("ST", "VD", "DV")
SELECTION_MODES = ("auto", "manual")
LIMIT_MODES = ("none", "global", "per_list")
ORDERINGS = ("score", "stock_age_youngest", "stock_age_oldest", "price_asc", "price_desc", "photos", "none")
OUTCOMES = ("sent", "filtered_media", "filtered_custom", "deselected", "not_selected", "limit_reached")
STATES = ("P", "S", "D")

# Mandatory fields a medium may require (its "filtre média"): key → reason when missing, as the guide words it.
MANDATORY_FIELDS = {
    "body_category": "véhicule sans catégorie de renseignée",
    "gearbox": "véhicule sans type de boîte de renseigné",
    "sale_price_ttc": "véhicule sans prix de vente TTC de renseigné",
    "merchant_price": "véhicule sans prix marchand de renseigné",
    "mileage": "véhicule sans kilométrage de renseigné",
    "photo": "véhicule sans photo",
    "energy": "véhicule sans énergie de renseignée",
    "colour": "véhicule sans couleur de renseignée",
    "first_registration_date": "véhicule sans date de 1re mise en circulation de renseignée",
    "registration": "véhicule sans immatriculation de renseignée",
    "vin": "véhicule sans numéro de série (VIN) de renseigné",
    "version": "véhicule sans version de renseignée",
    "fiscal_power": "véhicule sans puissance fiscale de renseignée",
    "doors": "véhicule sans nombre de portes de renseigné",
    "description": "véhicule sans description de renseignée",
}
FIELD_BITS = {key: 1 << i for i, key in enumerate(MANDATORY_FIELDS)}
# The vehicle attribute each mandatory field reads ("photo" reads photo_count > 0).
FIELD_ATTRIBUTES = {key: ("photo_count" if key == "photo" else key) for key in MANDATORY_FIELDS}


def fields_mask(keys: Iterable[str]) -> int:
    """Bitmask of mandatory-field keys (unknown keys raise KeyError: a typo must not pass silently)."""
    mask = 0
    for key in keys:
        mask |= FIELD_BITS[key]
    return mask


def filled_mask(values) -> int:
    """Bitmask of the mandatory fields filled in ``values`` (a mapping or an object with the attributes)."""
    get = values.get if hasattr(values, "get") else (lambda name, _o=values: getattr(_o, name, None))
    mask = 0
    for key, attribute in FIELD_ATTRIBUTES.items():
        value = get(attribute)
        if key == "photo":
            if value:
                mask |= FIELD_BITS[key]
        elif value is not None and value != "":
            mask |= FIELD_BITS[key]
    return mask


# Inputs ------------------------------------------------------------------------------------------

@dataclass(slots=True)
class VehicleInput:
    """What the engine needs of one vehicle. ``filled`` = ``filled_mask(vehicle)``."""
    id: int
    concession_id: int
    site_id: int
    status: str
    destination: str
    filled: int = 0
    make: str | None = None
    genre: str | None = None
    colour: str | None = None
    score: int | None = None
    photo_count: int = 0
    entry_date: dt.date | None = None
    price_changed_on: dt.date | None = None
    first_registration_date: dt.date | None = None
    sale_price_ttc: float | Decimal | None = None
    merchant_price: float | Decimal | None = None
    has_cote: bool = False


@dataclass(frozen=True, slots=True)
class MediumInput:
    id: int
    name: str
    destination: str = "retail"
    mandatory_fields: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, slots=True)
class CustomFilter:
    """The "filtre personnalisé": a criterion left None (or an empty collection) is not applied."""
    min_score: int | None = None
    max_stock_days: int | None = None  # stock age < n days
    max_vehicle_age: int | None = None  # years since first registration ≤ n
    min_photos: int | None = None
    requires_cote: bool = False
    genres: frozenset[str] | None = None
    makes: frozenset[str] | None = None
    site_ids: frozenset[int] | None = None
    max_price_age_days: int | None = None  # price age < n days
    min_sale_price: float | Decimal | None = None
    max_sale_price: float | Decimal | None = None
    min_merchant_price: float | Decimal | None = None
    max_merchant_price: float | Decimal | None = None
    colours: frozenset[str] | None = None

    def criteria(self) -> tuple[tuple, ...]:
        """The criteria that are set, as hashable (name, value) pairs in a fixed order."""
        out = []
        for name in ("min_score", "max_stock_days", "max_vehicle_age", "min_photos", "max_price_age_days"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, int(value)))
        if self.requires_cote:
            out.append(("requires_cote", True))
        for name in ("genres", "makes", "site_ids", "colours"):
            value = getattr(self, name)
            if value:
                out.append((name, frozenset(value)))
        for name in ("sale_price", "merchant_price"):
            low, high = getattr(self, "min_" + name), getattr(self, "max_" + name)
            if low is not None or high is not None:
                out.append((name, (None if low is None else float(low), None if high is None else float(high))))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class ConfigInput:
    """The media configuration of one concession for one medium (§6.2)."""
    concession_id: int
    medium_id: int
    selection_mode: str = "auto"
    limit_mode: str = "none"
    limit_value: int | None = None
    ordering: str = "score"
    admin_imposed: bool = False
    published_statuses: tuple[str, ...] = DEFAULT_PUBLISHED_STATUSES
    custom_filter: CustomFilter | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionInput:
    """A publication list subscribed to a medium (through its concession's configuration)."""
    medium_id: int
    list_id: int
    concession_id: int
    site_ids: tuple[int, ...]
    customer_code: str | None = None
    limit: int | None = None  # per-list limit, used when the config's limit_mode is "per_list"


@dataclass(frozen=True, slots=True)
class StateInput:
    vehicle_id: int
    medium_id: int
    state: str  # "P" | "S" | "D"
    admin_locked: bool = False


@dataclass
class DecisionInputs:
    """Everything ``decide`` reads. ``configs`` is keyed by (concession_id, medium_id)."""
    vehicles: list[VehicleInput]
    media: list[MediumInput]
    configs: dict[tuple[int, int], ConfigInput]
    subscriptions: list[SubscriptionInput]
    states: list[StateInput] = field(default_factory=list)
    today: dt.date = field(default_factory=dt.date.today)


# Outputs -----------------------------------------------------------------------------------------

class Decision(NamedTuple):
    """The outcome of one candidate (vehicle, medium, publication list)."""
    vehicle_id: int
    medium_id: int
    list_id: int
    concession_id: int
    outcome: str
    reasons: tuple[str, ...] = ()
    rank: int | None = None  # 1-based position in the list's feed when sent
    prioritised: bool = False
    customer_code: str | None = None


@dataclass(slots=True)
class Group:
    """The decided candidates of one (medium, publication list); vehicle ids, in feed order where it matters."""
    medium_id: int
    list_id: int
    concession_id: int
    customer_code: str | None
    sent: list[int] = field(default_factory=list)
    limit_reached: list[int] = field(default_factory=list)
    not_selected: list[int] = field(default_factory=list)
    deselected: list[int] = field(default_factory=list)
    filtered_custom: list[tuple[tuple[str, ...], list[int]]] = field(default_factory=list)  # (reasons, ids)
    filtered_media: list[tuple[tuple[str, ...], list[int]]] = field(default_factory=list)
    prioritised: set[int] = field(default_factory=set)

    def count(self, outcome: str) -> int:
        """Number of candidates with this outcome."""
        value = getattr(self, outcome)
        if outcome in ("filtered_custom", "filtered_media"):
            return sum(len(ids) for _, ids in value)
        return len(value)

    @property
    def in_stock(self) -> int:
        """Candidates of the list for this medium ("Nb VO en stock")."""
        return sum(self.count(o) for o in OUTCOMES)

    @property
    def eligible(self) -> int:
        """Candidates that pass filters and selection, before the limit ("Nb VO éligible")."""
        return len(self.sent) + len(self.limit_reached)

    def __iter__(self) -> Iterator[Decision]:
        m, li, c, code, pri = self.medium_id, self.list_id, self.concession_id, self.customer_code, self.prioritised
        for rank, v in enumerate(self.sent, 1):
            yield Decision(v, m, li, c, "sent", (), rank, v in pri, code)
        yield from self.not_sent()

    def not_sent(self) -> Iterator[Decision]:
        """The decisions of every candidate that is not sent (the send reports them one by one)."""
        m, li, c, code, pri = self.medium_id, self.list_id, self.concession_id, self.customer_code, self.prioritised
        for v in self.limit_reached:
            yield Decision(v, m, li, c, "limit_reached", ("limite atteinte",), None, v in pri, code)
        for v in self.not_selected:
            yield Decision(v, m, li, c, "not_selected", ("véhicule non sélectionné",), None, False, code)
        for v in self.deselected:
            yield Decision(v, m, li, c, "deselected", ("véhicule désélectionné",), None, False, code)
        for reasons, ids in self.filtered_custom:
            for v in ids:
                yield Decision(v, m, li, c, "filtered_custom", reasons, None, False, code)
        for reasons, ids in self.filtered_media:
            for v in ids:
                yield Decision(v, m, li, c, "filtered_media", reasons, None, False, code)


@dataclass
class DecisionSet:
    """All groups of a run; iterate it for ``Decision`` rows."""
    groups: list[Group]

    def __iter__(self) -> Iterator[Decision]:
        for group in self.groups:
            yield from group

    def __len__(self) -> int:
        return sum(g.in_stock for g in self.groups)

    def decisions(self) -> list[Decision]:
        """Every decision as a list."""
        return list(self)

    def by_vehicle_medium(self) -> dict[tuple[int, int], Decision]:
        """(vehicle_id, medium_id) → its best decision across lists (sent beats the others), for flags."""
        order = {o: i for i, o in enumerate(OUTCOMES)}
        best: dict[tuple[int, int], Decision] = {}
        for d in self:
            key = (d.vehicle_id, d.medium_id)
            if key not in best or order[d.outcome] < order[best[key].outcome]:
                best[key] = d
        return best


# Reasons -----------------------------------------------------------------------------------------

def _euros(value) -> str:
    return f"{float(value):,.0f}".replace(",", " ") + " €"


def _criterion_reason(name: str, value) -> str:
    """The French reason of one failed custom-filter criterion."""
    if name == "min_score":
        return f"score inférieur à {value}"
    if name == "max_stock_days":
        return f"âge du stock supérieur ou égal à {value} jours"
    if name == "max_vehicle_age":
        return f"véhicule de plus de {value} an(s)"
    if name == "min_photos":
        return f"moins de {value} photo(s)"
    if name == "requires_cote":
        return "véhicule sans cote"
    if name == "max_price_age_days":
        return f"âge du prix supérieur ou égal à {value} jours"
    if name == "genres":
        return "genre non retenu (" + ", ".join(sorted(value)) + ")"
    if name == "makes":
        return "marque non retenue (" + ", ".join(sorted(value)) + ")"
    if name == "site_ids":
        return "site non retenu"
    if name == "colours":
        return "couleur non retenue"
    label = "prix de vente TTC" if name == "sale_price" else "prix marchand"
    low, high = value
    if low is not None and high is not None:
        return f"{label} hors de la fourchette {_euros(low)} – {_euros(high)}"
    if low is not None:
        return f"{label} inférieur à {_euros(low)}"
    return f"{label} supérieur à {_euros(high)}"


def _years_between(start: dt.date, end: dt.date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _failing_ids(vehicles: list[VehicleInput], name: str, value, today: dt.date) -> set[int]:
    """Ids of the vehicles that do not meet one criterion (a missing value fails it)."""
    t = today.toordinal()
    if name == "min_score":
        return {v.id for v in vehicles if v.score is None or v.score < value}
    if name == "max_stock_days":
        return {v.id for v in vehicles if v.entry_date is None or t - v.entry_date.toordinal() >= value}
    if name == "max_vehicle_age":
        return {v.id for v in vehicles if v.first_registration_date is None
                or _years_between(v.first_registration_date, today) > value}
    if name == "min_photos":
        return {v.id for v in vehicles if (v.photo_count or 0) < value}
    if name == "requires_cote":
        return {v.id for v in vehicles if not v.has_cote}
    if name == "max_price_age_days":
        return {v.id for v in vehicles if v.price_changed_on is None or t - v.price_changed_on.toordinal() >= value}
    if name == "genres":
        return {v.id for v in vehicles if v.genre not in value}
    if name == "makes":
        return {v.id for v in vehicles if v.make not in value}
    if name == "site_ids":
        return {v.id for v in vehicles if v.site_id not in value}
    if name == "colours":
        return {v.id for v in vehicles if v.colour not in value}
    attribute = "sale_price_ttc" if name == "sale_price" else "merchant_price"
    low, high = value
    out = set()
    for v in vehicles:
        price = getattr(v, attribute)
        if price is None or (low is not None and price < low) or (high is not None and price > high):
            out.add(v.id)
    return out


# Orderings: sort keys over vehicles, best first; ties by vehicle id so results are reproducible.
_FAR = 10 ** 9


ORDERING_KEYS = ("score", "stock_age_youngest", "stock_age_oldest", "price_asc", "price_desc", "photos")


def score_order_key(score: int | None) -> int:
    """The sort key of the default ordering, "score": best score first, no score last (``_ordering``
    inlines it: it runs for every vehicle of every medium)."""
    return -score if score is not None else 1


def _ordering_positions(vehicles: list[VehicleInput], ordering: str) -> dict[int, int] | None:
    """vehicle id → position in the medium's ordering (None for "none": vehicle id order)."""
    return _ordering(sorted(vehicles, key=lambda v: v.id), ordering)[0]


def _ordering(by_id: list[VehicleInput], ordering: str) -> tuple[dict[int, int] | None, list[int] | None]:
    """(vehicle id → position, ids in that order) for vehicles given in id order; ties stay in id order."""
    if ordering == "none":
        return None, None
    # Sort keys as plain lists, then a stable sort of indexes by key: no Python call per comparison.
    if ordering == "score":
        keys = [-v.score if v.score is not None else 1 for v in by_id]   # score_order_key
    elif ordering == "stock_age_youngest":
        keys = [-v.entry_date.toordinal() if v.entry_date else 0 for v in by_id]
    elif ordering == "stock_age_oldest":
        keys = [v.entry_date.toordinal() if v.entry_date else _FAR for v in by_id]
    elif ordering == "price_asc":
        keys = [float(v.sale_price_ttc) if v.sale_price_ttc is not None else _FAR for v in by_id]
    elif ordering == "price_desc":
        keys = [-float(v.sale_price_ttc) if v.sale_price_ttc is not None else _FAR for v in by_id]
    elif ordering == "photos":
        keys = [-(v.photo_count or 0) for v in by_id]
    else:
        raise ValueError(f"unknown ordering {ordering!r}")
    id_list = [v.id for v in by_id]
    ids = list(map(id_list.__getitem__, sorted(range(len(keys)), key=keys.__getitem__)))
    return dict(zip(ids, range(len(ids)))), ids


# The engine --------------------------------------------------------------------------------------

def decide(inputs: DecisionInputs) -> DecisionSet:
    """Decide every candidate of every active medium and subscribed list (§6.5)."""
    today = inputs.today
    vehicles = inputs.vehicles
    media = {m.id: m for m in inputs.media if m.active}

    # Buckets: (site, destination, status) → filled mask → vehicle ids, in input order.
    buckets: dict[tuple, dict[int, list[int]]] = defaultdict(dict)
    for v in vehicles:
        bucket = buckets[(v.site_id, v.destination, v.status)]
        ids = bucket.get(v.filled)
        if ids is None:
            bucket[v.filled] = [v.id]
        else:
            ids.append(v.id)

    states: dict[tuple[int, int], dict[int, tuple[str, bool]]] = defaultdict(dict)
    if inputs.states:
        concession_of = {v.id: v.concession_id for v in vehicles}
        for s in inputs.states:
            c = concession_of.get(s.vehicle_id)
            if c is not None and s.state in STATES:
                states[(s.medium_id, c)][s.vehicle_id] = (s.state, bool(s.admin_locked))

    subs_by_config: dict[tuple[int, int], list[SubscriptionInput]] = defaultdict(list)
    for s in inputs.subscriptions:
        subs_by_config[(s.concession_id, s.medium_id)].append(s)

    media_reasons: dict[int, tuple[str, ...]] = {}
    # (site, destination, statuses, required fields) → (passing ids, [(reasons, ids)]): shared by every list
    # and medium with the same requirements, so the media filter runs once per site and requirement set.
    site_parts: dict[tuple, tuple[list[int], list]] = {}
    fail_sets: dict[tuple, set[int]] = {}
    custom_reasons: dict[tuple, tuple[str, ...]] = {}
    positions: dict[str, tuple] = {}
    by_id = None
    sorted_rests: dict[tuple, list[int]] = {}   # never mutated once stored: groups only read or copy them
    groups: list[Group] = []

    for (concession_id, medium_id), subs in subs_by_config.items():
        medium = media.get(medium_id)
        config = inputs.configs.get((concession_id, medium_id))
        if medium is None or config is None:
            continue
        required = fields_mask(medium.mandatory_fields)
        destination = medium.destination
        statuses = tuple(config.published_statuses or DEFAULT_PUBLISHED_STATUSES)
        imposed = config.admin_imposed
        manual = config.selection_mode == "manual" and not imposed
        criteria = config.custom_filter.criteria() if config.custom_filter else ()
        for criterion in criteria:
            if criterion not in fail_sets:
                fail_sets[criterion] = _failing_ids(vehicles, criterion[0], criterion[1], today)
        if config.ordering not in positions:
            if by_id is None:
                by_id = sorted(vehicles, key=lambda v: v.id)
            positions[config.ordering] = _ordering(by_id, config.ordering)
        position, order = positions[config.ordering]
        sort_key = position.__getitem__ if position is not None else None
        state_map = states.get((medium_id, concession_id), {})

        ordered_lists = []  # per subscription: (group, prioritised ordered, rest ordered)
        for sub in subs:
            group = Group(medium_id, sub.list_id, concession_id, sub.customer_code)
            groups.append(group)
            passing: list[int] = []
            for site_id in sub.site_ids:
                part = site_parts.get((site_id, destination, statuses, required))
                if part is None:
                    part = site_parts[(site_id, destination, statuses, required)] = _site_part(
                        buckets, site_id, destination, statuses, required, media_reasons)
                passing.extend(part[0])
                group.filtered_media.extend(part[1])

            prioritised: list[int] = []
            selected: set[int] = set()
            rest = passing
            if state_map:
                passing_set = set(passing)
                excluded = set()
                for vehicle_id, (state, locked) in state_map.items():
                    if vehicle_id not in passing_set or (imposed and not locked):
                        continue
                    if state == "D":
                        group.deselected.append(vehicle_id)
                        excluded.add(vehicle_id)
                    elif state == "P":
                        prioritised.append(vehicle_id)
                        excluded.add(vehicle_id)
                    else:
                        selected.add(vehicle_id)
                if excluded:
                    rest = list(filterfalse(excluded.__contains__, passing))

            if criteria:
                fails = [fail_sets[c].intersection(rest) for c in criteria]
                failed_all = set().union(*fails)
                if failed_all:
                    for mask, ids in _split_by_criteria(fails, failed_all):
                        key = (criteria, mask)
                        reasons = custom_reasons.get(key)
                        if reasons is None:
                            reasons = custom_reasons[key] = tuple(
                                _criterion_reason(*c) for b, c in enumerate(criteria) if mask >> b & 1)
                        group.filtered_custom.append((reasons, sorted(ids)))
                    rest = list(filterfalse(failed_all.__contains__, rest))

            if manual:
                group.not_selected = list(filterfalse(selected.__contains__, rest))
                rest = list(filter(selected.__contains__, rest))

            prioritised.sort(key=sort_key)
            # The same candidates in the same ordering recur on every medium of a concession: sorted once.
            memo_key = (config.ordering, tuple(rest))
            ordered_rest = sorted_rests.get(memo_key)
            if ordered_rest is None:
                rest.sort(key=sort_key)
                ordered_rest = sorted_rests[memo_key] = rest
            rest = ordered_rest
            group.prioritised = set(prioritised)
            ordered_lists.append((group, sub, prioritised, rest))

        mode = config.limit_mode
        if mode == "global" and config.limit_value is not None:
            _apply_global_limit(ordered_lists, config.limit_value, position, order)
        else:
            for group, sub, prioritised, rest in ordered_lists:
                ordered = prioritised + rest
                limit = sub.limit if mode == "per_list" else None
                if limit is None or limit >= len(ordered):
                    group.sent = ordered
                else:
                    limit = max(0, limit)
                    group.sent, group.limit_reached = ordered[:limit], ordered[limit:]
    return DecisionSet(groups)


def _split_by_criteria(fails: list[set[int]], failed_all: set[int]):
    """(bitmask of failed criteria, ids) for every combination that occurs, with set operations."""
    if len(fails) == 1:
        return [(1, fails[0])]
    if len(fails) <= 4:
        out = []
        for mask in range(1, 1 << len(fails)):
            ids = failed_all
            for bit, failing in enumerate(fails):
                ids = (ids & failing) if mask >> bit & 1 else (ids - failing)
                if not ids:
                    break
            if ids:
                out.append((mask, ids))
        return out
    masks: dict[int, int] = {}
    for bit, failing in enumerate(fails):
        for vehicle_id in failing:
            masks[vehicle_id] = masks.get(vehicle_id, 0) | (1 << bit)
    by_mask: dict[int, list[int]] = defaultdict(list)
    for vehicle_id, mask in masks.items():
        by_mask[mask].append(vehicle_id)
    return list(by_mask.items())


def _site_part(buckets, site_id, destination, statuses, required, media_reasons):
    """The media filter on one site's candidates: (passing ids, [(reasons, ids)])."""
    passing: list[int] = []
    filtered: list = []
    for status in statuses:
        bucket = buckets.get((site_id, destination, status))
        if not bucket:
            continue
        for mask, ids in bucket.items():
            if mask & required == required:
                passing.extend(ids)
            else:
                missing = required & ~mask
                reasons = media_reasons.get(missing)
                if reasons is None:
                    reasons = media_reasons[missing] = tuple(
                        r for k, r in MANDATORY_FIELDS.items() if FIELD_BITS[k] & missing)
                filtered.append((reasons, ids))
    return passing, filtered


def _apply_global_limit(ordered_lists, limit: int, position, order) -> None:
    """One limit shared by the config's lists: P of every list first, then the rest, by the ordering."""
    total = sum(len(p) + len(r) for _, _, p, r in ordered_lists)
    limit = max(0, limit)
    if total <= limit:
        for group, _, prioritised, rest in ordered_lists:
            group.sent = prioritised + rest
        return
    # Each entry is one int, key × number of lists + list index: sorting ints is what makes this cheap.
    width = len(ordered_lists)
    n = 0
    for part in (2, 3):
        merged: list[int] = []
        for i, entry in enumerate(ordered_lists):
            ids = entry[part]
            keys = ids if position is None else map(position.__getitem__, ids)
            merged.extend(k * width + i for k in keys)
        merged.sort()
        for x in merged:
            k, i = divmod(x, width)
            group = ordered_lists[i][0]
            (group.sent if n < limit else group.limit_reached).append(k if order is None else order[k])
            n += 1


# Summaries ---------------------------------------------------------------------------------------

def counts_by_medium(decisions: DecisionSet) -> dict[int, dict[str, int]]:
    """medium id → {outcome: candidates, "prioritised": n, "vehicles_sent": distinct vehicles sent}."""
    out: dict[int, dict[str, int]] = {}
    sent_sets: dict[int, set[int]] = defaultdict(set)
    for g in decisions.groups:
        counts = out.setdefault(g.medium_id, dict.fromkeys((*OUTCOMES, "prioritised", "vehicles_sent"), 0))
        for outcome in OUTCOMES:
            counts[outcome] += g.count(outcome)
        counts["prioritised"] += len(g.prioritised)
        sent_sets[g.medium_id].update(g.sent)
    for medium_id, ids in sent_sets.items():
        out[medium_id]["vehicles_sent"] = len(ids)
    return out


def sent_changes(before: DecisionSet, after: DecisionSet) -> dict[int, tuple[set[int], set[int]]]:
    """medium id → (vehicles entering, vehicles leaving) the sent set: the preview of a configuration change."""
    def sent(ds):
        out: dict[int, set[int]] = defaultdict(set)
        for g in ds.groups:
            out[g.medium_id].update(g.sent)
        return out
    old, new = sent(before), sent(after)
    return {m: (new.get(m, set()) - old.get(m, set()), old.get(m, set()) - new.get(m, set()))
            for m in set(old) | set(new)}


class ListCounts(NamedTuple):
    in_stock: int
    eligible: int
    to_send: int


def counts_by_list(decisions: DecisionSet) -> dict[tuple[int, int], ListCounts]:
    """(medium id, list id) → "eligible / in stock" and "to send" of the configuration screen."""
    return {(g.medium_id, g.list_id): ListCounts(g.in_stock, g.eligible, len(g.sent)) for g in decisions.groups}
