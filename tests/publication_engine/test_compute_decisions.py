"""compute_decisions on database rows: the loader's queries feed the engine, scoped by concession."""
import datetime as dt
from decimal import Decimal

from backoffice.extensions import db
from models.publication import (ListSubscription, Medium, MediumConfig, PublicationList, VehicleMediumState,
                                compute_decision_set, compute_decisions)
from models.send_decision import counts_by_list


def _setup(network, factories):
    lbc = Medium(name="LeBonCoin", code="leboncoin", destination="retail",
                 mandatory_fields=["gearbox", "sale_price_ttc", "photo"])
    trade = Medium(name="Marchands", code="trade", destination="trade", mandatory_fields=[])
    db.session.add_all([lbc, trade])
    nord_list = PublicationList(concession_id=network.nord.id, name="Concession du Nord", codes="PE05 AU62",
                                sites=[network.gap, network.dainville])
    sud_list = PublicationList(concession_id=network.sud.id, name="Concession du Sud", codes="RE35",
                               sites=[network.rennes, network.agen])
    db.session.add_all([nord_list, sud_list])
    db.session.flush()
    for concession, plist, code in ((network.nord, nord_list, "bm11c1"), (network.sud, sud_list, "bm34c2")):
        config = MediumConfig(concession_id=concession.id, medium_id=lbc.id, filter_min_score=5)
        config.subscriptions.append(ListSubscription(publication_list=plist, concession_id=concession.id,
                                                     customer_code=code))
        db.session.add(config)
    db.session.commit()
    v = factories.vehicle
    good = v(network.gap, photo_count=3, score=8)
    no_gearbox = v(network.dainville, photo_count=2, score=8, gearbox=None, sale_price_ttc=None)
    low_score = v(network.gap, photo_count=2, score=3)
    low_but_p = v(network.gap, photo_count=2, score=2)
    deselected = v(network.gap, photo_count=2, score=9)
    sold = v(network.gap, photo_count=2, score=9, status="VND")
    trade_vehicle = v(network.gap, photo_count=2, score=9, destination="trade")
    sud_vehicle = v(network.rennes, photo_count=4, score=7, sale_price_ttc=Decimal("9990"))
    db.session.add_all([
        VehicleMediumState(vehicle_id=low_but_p.id, medium_id=lbc.id, concession_id=network.nord.id, state="P"),
        VehicleMediumState(vehicle_id=deselected.id, medium_id=lbc.id, concession_id=network.nord.id, state="D"),
    ])
    db.session.commit()
    return locals()


def test_every_candidate_of_the_database_gets_its_outcome(network, factories):
    s = _setup(network, factories)
    decisions = {d.vehicle_id: d for d in compute_decisions(db.session, today=dt.date.today())}
    assert decisions[s["good"].id].outcome == "sent"
    assert decisions[s["good"].id].customer_code == "bm11c1"
    assert decisions[s["no_gearbox"].id].outcome == "filtered_media"
    assert decisions[s["no_gearbox"].id].reasons == ("véhicule sans type de boîte de renseigné",
                                                     "véhicule sans prix de vente TTC de renseigné")
    assert decisions[s["low_score"].id].outcome == "filtered_custom"
    assert decisions[s["low_score"].id].reasons == ("score inférieur à 5",)
    assert decisions[s["low_but_p"].id].outcome == "sent" and decisions[s["low_but_p"].id].prioritised
    assert decisions[s["low_but_p"].id].rank == 1  # priority first
    assert decisions[s["deselected"].id].outcome == "deselected"
    # not candidates: a sold vehicle, a trade vehicle on a retail medium (the trade medium has no subscription)
    assert s["sold"].id not in decisions and s["trade_vehicle"].id not in decisions
    assert decisions[s["sud_vehicle"].id].outcome == "sent"


def test_scoped_to_concessions(network, factories):
    s = _setup(network, factories)
    nord_only = compute_decisions(db.session, concession_ids=[network.nord.id])
    assert nord_only and {d.concession_id for d in nord_only} == {network.nord.id}
    assert s["sud_vehicle"].id not in {d.vehicle_id for d in nord_only}
    assert compute_decisions(db.session, concession_ids=[]) == []


def test_medium_filter_and_inactive_media(network, factories):
    s = _setup(network, factories)
    assert compute_decisions(db.session, medium_ids=[s["trade"].id]) == []
    s["lbc"].active = False
    db.session.commit()
    assert compute_decisions(db.session) == []


def test_list_counts_eligible_in_stock_to_send(network, factories):
    s = _setup(network, factories)
    config = db.session.query(MediumConfig).filter_by(concession_id=network.nord.id).one()
    config.limit_mode, config.subscriptions[0].limit = "per_list", 1
    db.session.commit()
    counts = counts_by_list(compute_decision_set(db.session))
    nord = counts[(s["lbc"].id, s["nord_list"].id)]
    # candidates: good, no_gearbox, low_score, low_but_p, deselected; eligible: good + low_but_p; limit 1
    assert nord == (5, 2, 1)


def test_contact_resolver_from_the_database(network, factories):
    from models.publication import Contact, load_contact_resolver

    s = _setup(network, factories)
    db.session.add(Contact(concession_id=network.nord.id, name="Bernard Fouineau", phone="0147284425",
                           publication_lists=[s["nord_list"]], media=[s["lbc"]], makes=["renault"], statuses=[]))
    db.session.add(Contact(concession_id=network.sud.id, name="Sud", phone="05"))
    db.session.commit()
    resolver = load_contact_resolver(db.session, [network.nord.id])
    got = resolver.resolve(network.nord.id, network.gap.id, s["nord_list"].id, s["lbc"].id, "RENAULT", "ST")
    assert (got.name, got.phone) == ("Bernard Fouineau", "0147284425")
    fallback = resolver.resolve(network.nord.id, network.gap.id, s["nord_list"].id, s["lbc"].id, "PEUGEOT", "ST")
    assert (fallback.name, fallback.source) == ("Resp GAP", "site_manager")


def test_loading_is_a_fixed_handful_of_queries_whatever_the_stock(network, factories):
    from sqlalchemy import event

    _setup(network, factories)
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        compute_decisions(db.session)
        small = len(statements)
        for _ in range(15):
            factories.vehicle(network.agen, photo_count=2, score=6)
        statements.clear()
        compute_decisions(db.session)
        assert len(statements) == small <= 7
    finally:
        event.remove(engine, "before_cursor_execute", count)
