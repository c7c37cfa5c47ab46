"""The score /10 (§3): each rule table-driven, the guide's example, and the set-based refresh."""
import datetime as dt
import random
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from models import Vehicle
from models.scoring import (EASY, HARD, MEDIUM, SalesStats, ScoreFacts, deal_points, photo_points,
                            price_points, refresh_scores, resale_ease_of, sales_stats, score_breakdown,
                            score_vehicle, _breakdown_for)

TODAY = dt.date(2026, 6, 15)


def ago(days):
    return TODAY - dt.timedelta(days=days)


@pytest.mark.parametrize("count,points", [(0, 0), (None, 0), (1, 1), (5, 1), (6, 2), (11, 2), (12, 3), (40, 3)])
def test_photo_points(count, points):
    assert photo_points(count) == points


@pytest.mark.parametrize("price,changed,points", [
    (D("9990"), ago(0), 2), (D("9990"), ago(29), 2), (D("9990"), ago(30), 0), (D("9990"), ago(355), 0),
    (None, ago(1), 0), (D("0"), ago(1), 0), (D("9990"), None, 0)])
def test_price_freshness(price, changed, points):
    assert price_points(price, changed, TODAY) == points


@pytest.mark.parametrize("price,cote,points", [
    (D("10000"), D("10000"), 2), (D("9000"), D("10000"), 2), (D("10500"), D("10000"), 1),
    (D("10501"), D("10000"), 0), (D("10000"), None, 0), (None, D("10000"), 0), (D("0"), D("10000"), 0)])
def test_deal_points(price, cote, points):
    assert deal_points(price, cote) == points


def test_deal_prefers_custom_valuation_over_transaction_value():
    facts = ScoreFacts(sale_price_ttc=D("10000"), custom_valuation=D("9000"), transaction_value=D("12000"),
                       today=TODAY)
    assert score_breakdown(facts, MEDIUM).deal == 0  # 111 % of the cote personnalisée
    facts = ScoreFacts(sale_price_ttc=D("10000"), custom_valuation=None, transaction_value=D("12000"), today=TODAY)
    assert score_breakdown(facts, MEDIUM).deal == 2


YOUNG, MID, OLD = dt.date(2023, 1, 1), dt.date(2019, 1, 1), dt.date(2015, 1, 1)


@pytest.mark.parametrize("stats,first_reg,km,ease", [
    (SalesStats(3, 45), OLD, 200_000, EASY),        # the group sells them fast: history wins
    (SalesStats(5, 91), YOUNG, 10_000, HARD),       # the group sells them slowly
    (SalesStats(2, 10), OLD, 20_000, HARD),         # too few sales: age > 10 years
    (SalesStats(4, 60), YOUNG, 10_000, EASY),       # median between 45 and 90: fall back
    (None, YOUNG, 80_000, EASY),
    (None, YOUNG, 80_001, MEDIUM),
    (None, MID, 50_000, MEDIUM),
    (None, YOUNG, 150_001, HARD),
    (None, dt.date(2016, 6, 15), 50_000, MEDIUM),   # exactly 10 years: not "more than 10"
    (None, dt.date(2016, 6, 14), 50_000, HARD),
    (None, dt.date(2021, 6, 15), 50_000, EASY),     # exactly 5 years
    (None, dt.date(2021, 6, 14), 50_000, MEDIUM),
    (None, None, 10_000, MEDIUM),                   # unknown age: cannot be "facile"
])
def test_resale_ease(stats, first_reg, km, ease):
    assert resale_ease_of(stats, first_reg, km, TODAY) == ease


def test_guide_example_scores_three():
    """5 photos, moyen, no good deal, référencé, price 355 days old → 1+1+0+1+0 = 3."""
    facts = ScoreFacts(photo_count=5, sale_price_ttc=D("32500"), price_changed_on=ago(355), referenced=True,
                       custom_valuation=D("27485"), today=TODAY)
    b = score_breakdown(facts, MEDIUM)
    assert (b.photos, b.price, b.referenced, b.deal, b.resale, b.total) == (1, 0, 1, 0, 1, 3)


def test_best_and_worst_scores():
    best = ScoreFacts(photo_count=12, sale_price_ttc=D("9000"), price_changed_on=ago(1), referenced=True,
                      transaction_value=D("9500"), today=TODAY)
    assert score_breakdown(best, EASY).total == 10
    assert score_breakdown(ScoreFacts(today=TODAY), HARD).total == 0


# Set-based refresh ------------------------------------------------------------------------------
def _sold(factories, site, make, model, days_in_stock, sold_days_ago):
    sale = ago(sold_days_ago)
    return factories.vehicle(site, make=make, model=model, status="VND", sale_date=sale,
                             entry_date=sale - dt.timedelta(days=days_in_stock))


def test_sales_history_decides_resale_ease(network, factories):
    for days in (20, 30, 40):
        _sold(factories, network.gap, "PEUGEOT", "208", days, 10)
    for days in (100, 120, 200):
        _sold(factories, network.rennes, "BMW", "X1", days, 30)
    _sold(factories, network.rennes, "BMW", "X1", 5, 400)  # older than 12 months: ignored
    stats = sales_stats(db.session, TODAY)
    assert stats[("PEUGEOT", "208")] == SalesStats(3, 30)
    assert stats[("BMW", "X1")] == SalesStats(3, 120)
    old_208 = factories.vehicle(network.gap, make="Peugeot", model="208", first_registration_date=OLD,
                                mileage=200_000)
    new_x1 = factories.vehicle(network.gap, make="BMW", model="X1", first_registration_date=YOUNG, mileage=1000)
    refresh_scores(db.session, today=TODAY)
    db.session.commit()
    db.session.refresh(old_208), db.session.refresh(new_x1)
    assert (old_208.resale_ease, old_208.score_resale) == (EASY, 2)
    assert (new_x1.resale_ease, new_x1.score_resale) == (HARD, 0)


def test_refresh_stores_exactly_the_breakdown(network, factories):
    rng = random.Random(7)
    for i in range(6):
        _sold(factories, network.gap, "RENAULT", "CLIO", rng.randint(10, 120), rng.randint(1, 300))
    for i in range(60):
        price = rng.choice([None, D("0"), D(rng.randint(3000, 40000))])
        cote = rng.choice([None, D(rng.randint(3000, 40000))])
        factories.vehicle(
            rng.choice([network.gap, network.rennes]), make=rng.choice(["RENAULT", "DACIA"]),
            model=rng.choice(["CLIO", "SANDERO"]), photo_count=rng.randint(0, 15), sale_price_ttc=price,
            price_changed_on=rng.choice([None, ago(rng.randint(0, 60))]), referenced=rng.random() < 0.5,
            custom_valuation=rng.choice([None, cote]), transaction_value=rng.choice([None, cote]),
            first_registration_date=ago(rng.randint(100, 5000)), mileage=rng.randint(0, 250_000))
    updated = refresh_scores(db.session, today=TODAY)
    db.session.commit()
    assert updated == 66
    stats = sales_stats(db.session, TODAY)
    for v in db.session.scalars(select(Vehicle)):
        expected = _breakdown_for(v, stats, TODAY)
        assert (v.score, v.score_photos, v.score_price, v.score_referenced, v.score_deal, v.score_resale,
                v.resale_ease, v.scored_on) == (expected.total, expected.photos, expected.price,
                                                expected.referenced, expected.deal, expected.resale,
                                                expected.resale_ease, TODAY)
    # A second refresh writes nothing: only changed rows are updated.
    assert refresh_scores(db.session, today=TODAY) == 0
    # The next day some prices are no longer fresh: only those change.
    later = refresh_scores(db.session, today=TODAY + dt.timedelta(days=1))
    assert 0 < later <= 66


def test_refresh_limited_to_vehicles_or_concessions(network, factories):
    a = factories.vehicle(network.gap)
    b = factories.vehicle(network.rennes)
    assert refresh_scores(db.session, vehicle_ids=[a.id], today=TODAY) == 1
    assert refresh_scores(db.session, concession_ids=[network.sud.id], today=TODAY) == 1
    db.session.commit()
    db.session.refresh(a), db.session.refresh(b)
    assert a.score is not None and b.score is not None


def test_score_vehicle_sets_columns_on_the_object(network, factories):
    v = factories.vehicle(network.gap, photo_count=12, sale_price_ttc=D("9000"), price_changed_on=ago(0),
                          referenced=True, transaction_value=D("9500"), first_registration_date=YOUNG,
                          mileage=1000)
    b = score_vehicle(db.session, v, today=TODAY)
    assert b.total == 10 and v.score == 10 and v.scored_on == TODAY


def test_nightly_job_scores_the_whole_stock(network, factories):
    from jobs.scoring import SCHEDULE, refresh_all_scores

    a = factories.vehicle(network.gap)
    b = factories.vehicle(network.rennes)
    assert refresh_all_scores(TODAY.isoformat()) == 2
    db.session.refresh(a), db.session.refresh(b)
    assert a.scored_on == TODAY and b.score is not None
    assert SCHEDULE[0][0] == "jobs.scoring.refresh_all_scores"


def test_a_sale_on_the_fiche_rescores_the_same_model(network, factories, login):
    """Three quick sales of a model make it "facile" for the vehicles still in stock."""
    for days in (10, 20):
        _sold(factories, network.gap, "PEUGEOT", "208", days, 5)
    old = dt.date.today() - dt.timedelta(days=365 * 12)
    in_stock = factories.vehicle(network.gap, make="PEUGEOT", model="208", first_registration_date=old)
    refresh_scores(db.session)
    db.session.commit()
    db.session.refresh(in_stock)
    assert in_stock.resale_ease == HARD   # two sales only: its age decides
    to_sell = factories.vehicle(network.gap, make="PEUGEOT", model="208",
                                entry_date=dt.date.today() - dt.timedelta(days=30))
    c = login(network.cdv_nord)
    html = c.get(f"/vehicles/edit/?id={to_sell.id}").get_data(as_text=True)
    import re  # noqa: PLC0415
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    selects = dict(re.findall(r'<select[^>]*name="([^"]+)"[^>]*>.*?<option selected value="([^"]*)"', html, re.S))
    data = {**fields, **selects, "status": "VND", "sale_date": dt.date.today().isoformat()}
    data.pop("csrf_token", None)
    r = c.form(f"/vehicles/edit/?id={to_sell.id}", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(Vehicle, to_sell.id).status == "VND"
    assert db.session.get(Vehicle, in_stock.id).resale_ease == EASY
