"""The send decision engine (§6.5), table-driven: every outcome, reason, limit mode, ordering."""
import dataclasses
import datetime as dt

import pytest

from models.send_decision import (MANDATORY_FIELDS, ConfigInput, CustomFilter, counts_by_list, counts_by_medium,
                                  sent_changes)

from .helpers import CONCESSION, LIST_A, LIST_B, MEDIUM, SITE_A, SITE_B, TODAY, outcomes, run, vehicle


def config(**fields):
    return ConfigInput(CONCESSION, MEDIUM, **fields)


def test_candidates_are_published_statuses_of_the_list_sites_with_the_medium_destination():
    vs = [vehicle(1), vehicle(2, status="VD"), vehicle(3, status="DV"), vehicle(4, status="ARR"),
          vehicle(5, status="CDE"), vehicle(6, status="VND"), vehicle(7, destination="trade"),
          vehicle(8, destination="none"), vehicle(9, site=SITE_B)]
    assert set(outcomes(run(vs))) == {1, 2, 3}


def test_published_statuses_can_be_configured():
    vs = [vehicle(1), vehicle(2, status="ARR")]
    assert set(outcomes(run(vs, config(published_statuses=("ST", "ARR"))))) == {1, 2}


def test_trade_medium_takes_trade_vehicles():
    vs = [vehicle(1), vehicle(2, destination="trade")]
    assert set(outcomes(run(vs, destination="trade"))) == {2}


def test_inactive_medium_has_no_candidates():
    assert list(run([vehicle(1)], active=False)) == []


@pytest.mark.parametrize("field,reason", sorted(MANDATORY_FIELDS.items()))
def test_every_missing_mandatory_field_is_a_media_filter_reason(field, reason):
    result = outcomes(run([vehicle(1, missing=[field]), vehicle(2)], mandatory=[field]))
    assert result[1] == ("filtered_media", (reason,))
    assert result[2] == ("sent", ())


def test_media_filter_gives_every_reason_in_the_guide_wording():
    result = outcomes(run([vehicle(1, missing=["body_category", "sale_price_ttc", "gearbox"])],
                          mandatory=["gearbox", "body_category", "sale_price_ttc", "mileage"]))
    assert result[1] == ("filtered_media", ("véhicule sans catégorie de renseignée",
                                            "véhicule sans type de boîte de renseigné",
                                            "véhicule sans prix de vente TTC de renseigné"))


def test_a_field_not_required_by_the_medium_does_not_filter():
    assert outcomes(run([vehicle(1, missing=["vin"])], mandatory=["gearbox"]))[1][0] == "sent"


def test_media_filter_beats_priority_and_deselection():
    result = outcomes(run([vehicle(1, missing=["gearbox"]), vehicle(2, missing=["gearbox"])],
                          mandatory=["gearbox"], states=[(1, "P"), (2, "D")]))
    assert result[1][0] == result[2][0] == "filtered_media"


def test_deselected_is_never_sent_even_if_it_would_pass_everything():
    assert outcomes(run([vehicle(1)], states=[(1, "D")]))[1] == ("deselected", ("véhicule désélectionné",))


def test_deselected_beats_the_custom_filter():
    result = outcomes(run([vehicle(1, score=2)], config(custom_filter=CustomFilter(min_score=6)),
                          states=[(1, "D")]))
    assert result[1][0] == "deselected"


CRITERIA = [
    # (filter, vehicle fields that fail it, vehicle fields that pass it, reason)
    (CustomFilter(min_score=6), dict(score=5), dict(score=6), "score inférieur à 6"),
    (CustomFilter(min_score=6), dict(score=None), dict(score=10), "score inférieur à 6"),
    (CustomFilter(max_stock_days=30), dict(entry_date=TODAY - dt.timedelta(days=30)),
     dict(entry_date=TODAY - dt.timedelta(days=29)), "âge du stock supérieur ou égal à 30 jours"),
    (CustomFilter(max_vehicle_age=2), dict(first_registration_date=dt.date(2023, 6, 14)),
     dict(first_registration_date=dt.date(2023, 6, 16)), "véhicule de plus de 2 an(s)"),
    (CustomFilter(min_photos=3), dict(photo_count=2), dict(photo_count=3), "moins de 3 photo(s)"),
    (CustomFilter(requires_cote=True), dict(has_cote=False), dict(has_cote=True), "véhicule sans cote"),
    (CustomFilter(genres=frozenset({"VP"})), dict(genre="VU"), dict(genre="VP"), "genre non retenu (VP)"),
    (CustomFilter(makes=frozenset({"PEUGEOT", "CITROEN"})), dict(make="RENAULT"), dict(make="PEUGEOT"),
     "marque non retenue (CITROEN, PEUGEOT)"),
    (CustomFilter(site_ids=frozenset({SITE_A})), dict(site_id=SITE_B), dict(site_id=SITE_A), "site non retenu"),
    (CustomFilter(max_price_age_days=15), dict(price_changed_on=TODAY - dt.timedelta(days=15)),
     dict(price_changed_on=TODAY - dt.timedelta(days=14)), "âge du prix supérieur ou égal à 15 jours"),
    (CustomFilter(min_sale_price=10000, max_sale_price=20000), dict(sale_price_ttc=20000.01),
     dict(sale_price_ttc=20000), "prix de vente TTC hors de la fourchette 10 000 € – 20 000 €"),
    (CustomFilter(min_sale_price=10000), dict(sale_price_ttc=None), dict(sale_price_ttc=10000),
     "prix de vente TTC inférieur à 10 000 €"),
    (CustomFilter(max_sale_price=20000), dict(sale_price_ttc=25000), dict(sale_price_ttc=1),
     "prix de vente TTC supérieur à 20 000 €"),
    (CustomFilter(min_merchant_price=5000, max_merchant_price=9000), dict(merchant_price=4999),
     dict(merchant_price=5000), "prix marchand hors de la fourchette 5 000 € – 9 000 €"),
    (CustomFilter(colours=frozenset({"Blanc", "Noir"})), dict(colour="Gris"), dict(colour="Noir"),
     "couleur non retenue"),
]


@pytest.mark.parametrize("custom,failing,passing,reason", CRITERIA)
def test_every_custom_filter_criterion_and_its_reason(custom, failing, passing, reason):
    lists = ((LIST_A, (SITE_A, SITE_B), None),)
    result = outcomes(run([vehicle(1, **failing), vehicle(2, **passing)], config(custom_filter=custom),
                          lists=lists))
    assert result[1] == ("filtered_custom", (reason,))
    assert result[2] == ("sent", ())


def test_custom_filter_lists_every_failed_criterion():
    custom = CustomFilter(min_score=6, min_photos=3, requires_cote=True)
    result = outcomes(run([vehicle(1, score=4, photo_count=0, has_cote=False)], config(custom_filter=custom)))
    assert result[1] == ("filtered_custom", ("score inférieur à 6", "moins de 3 photo(s)", "véhicule sans cote"))


def test_priority_beats_the_custom_filter():
    result = run([vehicle(1, score=2)], config(custom_filter=CustomFilter(min_score=6)), states=[(1, "P")])
    [d] = list(result)
    assert (d.outcome, d.prioritised, d.rank) == ("sent", True, 1)


def test_manual_selection_sends_only_selected_and_prioritised():
    result = run([vehicle(1), vehicle(2), vehicle(3)], config(selection_mode="manual"),
                 states=[(1, "S"), (2, "P")])
    got = outcomes(result)
    assert got[1][0] == got[2][0] == "sent"
    assert got[3] == ("not_selected", ("véhicule non sélectionné",))


def test_manual_selection_custom_filter_comes_before_not_selected():
    got = outcomes(run([vehicle(1, score=1), vehicle(2, score=1)],
                       config(selection_mode="manual", custom_filter=CustomFilter(min_score=5)),
                       states=[(2, "S")]))
    assert got[1][0] == got[2][0] == "filtered_custom"


def test_admin_imposed_selection_ignores_dealer_states_and_manual_mode():
    vs = [vehicle(1), vehicle(2), vehicle(3)]
    got = outcomes(run(vs, config(selection_mode="manual", admin_imposed=True),
                       states=[(1, "D"), (2, "D", True)]))
    assert got[1][0] == "sent"  # the dealer's D does not apply under an imposed selection
    assert got[2][0] == "deselected"  # the admin's own (locked) choice does
    assert got[3][0] == "sent"  # selected although manual


def test_admin_locked_selection_counts_in_manual_mode():
    got = outcomes(run([vehicle(1), vehicle(2)], config(selection_mode="manual"), states=[(1, "S", True)]))
    assert got[1][0] == "sent" and got[2][0] == "not_selected"


ORDERING_CASES = [
    ("score", [dict(score=5), dict(score=9), dict(score=None), dict(score=7)], [2, 4, 1, 3]),
    ("stock_age_youngest", [dict(entry_date=TODAY - dt.timedelta(days=d)) for d in (50, 3, 10, 200)], [2, 3, 1, 4]),
    ("stock_age_oldest", [dict(entry_date=TODAY - dt.timedelta(days=d)) for d in (50, 3, 10, 200)], [4, 1, 3, 2]),
    ("price_asc", [dict(sale_price_ttc=p) for p in (9000.0, 5000.0, 30000.0, 12000.0)], [2, 1, 4, 3]),
    ("price_desc", [dict(sale_price_ttc=p) for p in (9000.0, 5000.0, 30000.0, 12000.0)], [3, 4, 1, 2]),
    ("photos", [dict(photo_count=n) for n in (1, 12, 0, 5)], [2, 4, 1, 3]),
    ("none", [dict(score=s) for s in (1, 9, 5, 3)], [1, 2, 3, 4]),
]


@pytest.mark.parametrize("ordering,fields,expected", ORDERING_CASES)
def test_each_ordering_decides_the_feed_order_and_who_passes_the_limit(ordering, fields, expected):
    vs = [vehicle(i + 1, **f) for i, f in enumerate(fields)]
    full = run(vs, config(ordering=ordering))
    assert [d.vehicle_id for d in sorted(full, key=lambda d: d.rank)] == expected
    limited = outcomes(run(vs, config(ordering=ordering, limit_mode="global", limit_value=2)))
    assert {v for v, (o, _) in limited.items() if o == "sent"} == set(expected[:2])
    assert {v for v, (o, r) in limited.items() if o == "limit_reached" and r == ("limite atteinte",)} \
        == set(expected[2:])


def test_the_score_ordering_is_the_order_the_send_stores_listings_in():
    # jobs.send_plan stores listings by score_order_key so that lists in the default ordering are
    # copied a run at a time: it must sort as the engine does (ties by vehicle id).
    from models.send_decision import score_order_key

    scores = [5, 9, None, 7, 0, 9, None, 10]
    full = run([vehicle(i + 1, score=s) for i, s in enumerate(scores)], config(ordering="score"))
    assert [d.vehicle_id for d in sorted(full, key=lambda d: d.rank)] == sorted(
        range(1, len(scores) + 1), key=lambda v: (score_order_key(scores[v - 1]), v))


def test_priority_first_under_a_limit():
    vs = [vehicle(1, score=9), vehicle(2, score=8), vehicle(3, score=1)]
    result = run(vs, config(ordering="score", limit_mode="global", limit_value=1), states=[(3, "P")])
    got = {d.vehicle_id: d for d in result}
    assert got[3].outcome == "sent" and got[3].prioritised and got[3].rank == 1
    assert got[1].outcome == got[2].outcome == "limit_reached"


def test_no_limit_sends_every_eligible():
    vs = [vehicle(i) for i in range(1, 30)]
    assert {o for o, _ in outcomes(run(vs, config(limit_mode="none", limit_value=3))).values()} == {"sent"}


def test_global_limit_is_shared_across_the_lists():
    vs = [vehicle(1, site=SITE_A, score=9), vehicle(2, site=SITE_A, score=5), vehicle(3, site=SITE_B, score=8),
          vehicle(4, site=SITE_B, score=4)]
    lists = ((LIST_A, (SITE_A,), None), (LIST_B, (SITE_B,), None))
    result = run(vs, config(limit_mode="global", limit_value=2), lists=lists)
    sent = {(d.list_id, d.vehicle_id) for d in result if d.outcome == "sent"}
    assert sent == {(LIST_A, 1), (LIST_B, 3)}
    assert counts_by_medium(result)[MEDIUM]["sent"] == 2


def test_per_list_limits_are_not_shared():
    vs = [vehicle(1, site=SITE_A, score=9), vehicle(2, site=SITE_A, score=5), vehicle(3, site=SITE_B, score=8),
          vehicle(4, site=SITE_B, score=4), vehicle(5, site=SITE_B, score=3)]
    lists = ((LIST_A, (SITE_A,), 1), (LIST_B, (SITE_B,), 2))
    result = run(vs, config(limit_mode="per_list"), lists=lists)
    sent = {(d.list_id, d.vehicle_id) for d in result if d.outcome == "sent"}
    assert sent == {(LIST_A, 1), (LIST_B, 3), (LIST_B, 4)}
    counts = counts_by_list(result)
    assert counts[(MEDIUM, LIST_A)] == (2, 2, 1) and counts[(MEDIUM, LIST_B)] == (3, 3, 2)


def test_per_list_limit_zero_sends_nothing_and_priority_takes_a_per_list_slot():
    vs = [vehicle(1, score=9), vehicle(2, score=1)]
    got = outcomes(run(vs, config(limit_mode="per_list"), lists=((LIST_A, (SITE_A,), 0),)))
    assert {o for o, _ in got.values()} == {"limit_reached"}
    got = outcomes(run(vs, config(limit_mode="per_list"), lists=((LIST_A, (SITE_A,), 1),), states=[(2, "P")]))
    assert got[2][0] == "sent" and got[1][0] == "limit_reached"


def test_counts_by_medium_for_the_dashboard():
    vs = [vehicle(1), vehicle(2, missing=["gearbox"]), vehicle(3, score=1), vehicle(4), vehicle(5, score=1)]
    result = run(vs, config(custom_filter=CustomFilter(min_score=5)), mandatory=["gearbox"],
                 states=[(4, "D"), (5, "P")])
    counts = counts_by_medium(result)[MEDIUM]
    assert counts == {"sent": 2, "filtered_media": 1, "filtered_custom": 1, "deselected": 1, "not_selected": 0,
                      "limit_reached": 0, "prioritised": 1, "vehicles_sent": 2}


def test_sent_changes_preview_who_enters_and_who_leaves():
    vs = [vehicle(i, score=i) for i in range(1, 6)]
    before = run(vs, config(limit_mode="global", limit_value=3))
    after = run(vs, config(limit_mode="global", limit_value=1))
    assert sent_changes(before, after) == {MEDIUM: (set(), {3, 4})}
    widened = run(vs, config(limit_mode="none"))
    assert sent_changes(before, widened) == {MEDIUM: ({1, 2}, set())}


def test_configs_and_inputs_are_not_modified():
    vs = [vehicle(1), vehicle(2, missing=["gearbox"])]
    snapshot = [dataclasses.replace(v) for v in vs]
    run(vs, mandatory=["gearbox"])
    run(vs, mandatory=["gearbox"])
    assert vs == snapshot
