"""Property-based checks over random stocks and configurations (hypothesis).

The set-based engine is compared with a naive transcription of §6.5 (one candidate at a time), and
the invariants are checked: each candidate exactly one outcome, limits respected, priority first.
"""
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.send_decision import (FIELD_BITS, MANDATORY_FIELDS, ConfigInput, CustomFilter, DecisionInputs,
                                  MediumInput, StateInput, SubscriptionInput, VehicleInput, _criterion_reason,
                                  _failing_ids, _ordering_positions, decide, fields_mask)

TODAY = dt.date(2026, 6, 15)
SITES = (1, 2, 3, 4)
CONCESSIONS = {1: 1, 2: 1, 3: 2, 4: 2}  # site → concession
KEYS = sorted(MANDATORY_FIELDS)[:5]

vehicles_st = st.lists(st.builds(
    lambda i, site, status, dest, missing, score, photos, days, price, make: VehicleInput(
        id=0, concession_id=CONCESSIONS[site], site_id=site, status=status, destination=dest,
        filled=fields_mask(MANDATORY_FIELDS) & ~fields_mask(missing), make=make, genre="VP", colour="Gris",
        score=score, photo_count=photos, entry_date=TODAY - dt.timedelta(days=days),
        price_changed_on=TODAY - dt.timedelta(days=days // 2), first_registration_date=dt.date(2020, 1, 1),
        sale_price_ttc=price, merchant_price=None, has_cote=score is not None),
    st.integers(), st.sampled_from(SITES), st.sampled_from(["ST", "VD", "DV", "ARR", "VND"]),
    st.sampled_from(["retail", "trade", "none"]), st.lists(st.sampled_from(KEYS), max_size=2),
    st.one_of(st.none(), st.integers(0, 10)), st.integers(0, 6), st.integers(0, 200),
    st.one_of(st.none(), st.sampled_from([4990.0, 9990.0, 15000.0, 15000.0, 32000.0])),
    st.sampled_from(["RENAULT", "PEUGEOT"])), max_size=40)

filters_st = st.one_of(st.none(), st.builds(
    CustomFilter, min_score=st.one_of(st.none(), st.integers(3, 8)),
    max_stock_days=st.one_of(st.none(), st.sampled_from([30, 90])),
    min_photos=st.one_of(st.none(), st.integers(1, 3)), requires_cote=st.booleans(),
    makes=st.one_of(st.none(), st.just(frozenset({"PEUGEOT"}))),
    min_sale_price=st.one_of(st.none(), st.just(5000.0)), max_sale_price=st.one_of(st.none(), st.just(20000.0))))

configs_st = st.builds(
    lambda mode, limit_mode, limit, ordering, imposed, custom: dict(
        selection_mode=mode, limit_mode=limit_mode, limit_value=limit, ordering=ordering, admin_imposed=imposed,
        custom_filter=custom),
    st.sampled_from(["auto", "manual"]), st.sampled_from(["none", "global", "per_list"]),
    st.one_of(st.none(), st.integers(0, 6)),
    st.sampled_from(["score", "stock_age_youngest", "stock_age_oldest", "price_asc", "price_desc", "photos",
                     "none"]), st.booleans(), filters_st)


@st.composite
def scenarios(draw):
    vehicles = draw(vehicles_st)
    for i, v in enumerate(vehicles):
        v.id = i + 1
    media = [MediumInput(10, "A", "retail", tuple(draw(st.lists(st.sampled_from(KEYS), max_size=2)))),
             MediumInput(11, "B", draw(st.sampled_from(["retail", "trade"])),
                         tuple(draw(st.lists(st.sampled_from(KEYS), max_size=2))), draw(st.booleans()))]
    configs, subs = {}, []
    list_id = 100
    for concession, sites in ((1, (1, 2)), (2, (3, 4))):
        for medium in media:
            if not draw(st.booleans()):
                continue
            configs[(concession, medium.id)] = ConfigInput(concession, medium.id, **draw(configs_st))
            for _ in range(draw(st.integers(1, 2))):
                list_id += 1
                chosen = tuple(draw(st.lists(st.sampled_from(sites), min_size=1, max_size=2, unique=True)))
                subs.append(SubscriptionInput(medium.id, list_id, concession, chosen, None,
                                              draw(st.one_of(st.none(), st.integers(0, 5)))))
    states = []
    if vehicles:
        for _ in range(draw(st.integers(0, 15))):
            states.append(StateInput(draw(st.integers(1, len(vehicles))), draw(st.sampled_from([10, 11])),
                                     draw(st.sampled_from(["P", "S", "D"])), draw(st.booleans())))
    # one state per (vehicle, medium), as the unique constraint of the table guarantees
    states = list({(s.vehicle_id, s.medium_id): s for s in states}.values())
    return DecisionInputs(vehicles, media, configs, subs, states, TODAY)


def naive(inputs):
    """§6.5 one candidate at a time: (vehicle, medium, list) → (outcome, reasons, prioritised) and sent order."""
    result, sent_order = {}, {}
    states = {(s.vehicle_id, s.medium_id): s for s in inputs.states}
    for (concession, medium_id), config in inputs.configs.items():
        medium = next(m for m in inputs.media if m.id == medium_id)
        if not medium.active:
            continue
        criteria = config.custom_filter.criteria() if config.custom_filter else ()
        fails = {c: _failing_ids(inputs.vehicles, c[0], c[1], TODAY) for c in criteria}
        pos = _ordering_positions(inputs.vehicles, config.ordering)
        key = (lambda v: pos[v]) if pos is not None else (lambda v: v)
        manual = config.selection_mode == "manual" and not config.admin_imposed
        per_list = []
        for sub in (s for s in inputs.subscriptions if (s.concession_id, s.medium_id) == (concession, medium_id)):
            pri, rest = [], []
            for v in inputs.vehicles:
                if v.site_id not in sub.site_ids or v.status not in config.published_statuses \
                        or v.destination != medium.destination:
                    continue
                k = (v.id, medium_id, sub.list_id)
                missing = [r for f, r in MANDATORY_FIELDS.items()
                           if f in medium.mandatory_fields and not v.filled & FIELD_BITS[f]]
                s = states.get((v.id, medium_id))
                if s is not None and config.admin_imposed and not s.admin_locked:
                    s = None
                state = s.state if s else None
                if missing:
                    result[k] = ("filtered_media", tuple(missing), False)
                elif state == "D":
                    result[k] = ("deselected", ("véhicule désélectionné",), False)
                elif state == "P":
                    pri.append(v.id)
                elif [c for c in criteria if v.id in fails[c]]:
                    result[k] = ("filtered_custom", tuple(_criterion_reason(*c) for c in criteria
                                                          if v.id in fails[c]), False)
                elif manual and state != "S":
                    result[k] = ("not_selected", ("véhicule non sélectionné",), False)
                else:
                    rest.append(v.id)
            pri.sort(key=key)
            rest.sort(key=key)
            per_list.append((sub, pri, rest))
        if config.limit_mode == "global" and config.limit_value is not None:
            merged = sorted([(0, key(v), i, v) for i, (_, p, _) in enumerate(per_list) for v in p]
                            + [(1, key(v), i, v) for i, (_, _, r) in enumerate(per_list) for v in r])
            chosen = merged[:config.limit_value]
            for n, (tier, _, i, v) in enumerate(merged):
                sub = per_list[i][0]
                out = "sent" if n < config.limit_value else "limit_reached"
                result[(v, medium_id, sub.list_id)] = (out, () if out == "sent" else ("limite atteinte",), tier == 0)
            for tier, _, i, v in chosen:
                sent_order.setdefault((medium_id, per_list[i][0].list_id), []).append(v)
        else:
            for sub, pri, rest in per_list:
                limit = sub.limit if config.limit_mode == "per_list" and sub.limit is not None else 10 ** 9
                for n, v in enumerate(pri + rest):
                    out = "sent" if n < limit else "limit_reached"
                    result[(v, medium_id, sub.list_id)] = (out, () if out == "sent" else ("limite atteinte",),
                                                           v in pri)
                sent_order[(medium_id, sub.list_id)] = (pri + rest)[:limit]
    return result, sent_order


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_engine_matches_the_naive_reading_of_the_spec(inputs):
    decisions = list(decide(inputs))
    keys = [(d.vehicle_id, d.medium_id, d.list_id) for d in decisions]
    assert len(keys) == len(set(keys)), "a candidate has more than one outcome"
    expected, sent_order = naive(inputs)
    assert {k: (d.outcome, d.reasons, d.prioritised) for k, d in zip(keys, decisions)} == expected
    got_order = {}
    for d in sorted((d for d in decisions if d.outcome == "sent"), key=lambda d: d.rank):
        got_order.setdefault((d.medium_id, d.list_id), []).append(d.vehicle_id)
    assert got_order == {k: v for k, v in sent_order.items() if v}


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_limits_hold_and_priority_comes_first(inputs):
    decisions = list(decide(inputs))
    for (concession, medium_id), config in inputs.configs.items():
        mine = [d for d in decisions if d.medium_id == medium_id and d.concession_id == concession]
        sent = [d for d in mine if d.outcome == "sent"]
        if config.limit_mode == "global" and config.limit_value is not None:
            assert len(sent) <= config.limit_value
        if config.limit_mode == "per_list":
            for sub in inputs.subscriptions:
                if (sub.concession_id, sub.medium_id) == (concession, medium_id) and sub.limit is not None:
                    assert sum(1 for d in sent if d.list_id == sub.list_id) <= sub.limit
        for list_id in {d.list_id for d in mine}:
            ranks = sorted((d.rank, d.prioritised) for d in sent if d.list_id == list_id)
            assert [r for r, _ in ranks] == list(range(1, len(ranks) + 1))
            flags = [p for _, p in ranks]
            assert flags == sorted(flags, reverse=True), "a prioritised vehicle comes after a non-prioritised one"
            if any(d.outcome == "limit_reached" and d.prioritised for d in mine if d.list_id == list_id):
                assert all(p for _, p in ranks), "a priority lost its slot to a non-prioritised vehicle"
