"""The list filters: each parameter selects exactly the vehicles it names (table-driven)."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from backoffice.extensions import db
from models import Vehicle
from models.stock_filters import (DEAL_BUCKETS, PRICE_AGE_BUCKETS, PRICE_BANDS, STOCK_AGE_BUCKETS,
                                  param_values, stock_conditions, stock_list_url)

TODAY = dt.date(2026, 6, 15)


def ago(days):
    return TODAY - dt.timedelta(days=days)


@pytest.fixture
def stock(network, factories):
    """A small stock; each vehicle is named by its entry number."""
    f = factories.vehicle
    rows = {
        "A": f(network.gap, entry_number="A", make="RENAULT", model="CLIO", score=7, score_deal=2,
               entry_date=ago(0), price_changed_on=ago(0), sale_price_ttc=Decimal("9990"), energy="petrol",
               photo_count=12, registration="AB-123-CD", first_registration_date=dt.date(2021, 5, 1)),
        "B": f(network.gap, entry_number="B", make="PEUGEOT", model="208", score=3, score_deal=1,
               entry_date=ago(31), price_changed_on=ago(16), sale_price_ttc=Decimal("10000"),
               energy="diesel", photo_count=0, referenced=False, first_registration_date=dt.date(2019, 1, 1)),
        "C": f(network.dainville, entry_number="C", make="PEUGEOT", model="3008", score=0, score_deal=0,
               entry_date=ago(90), price_changed_on=None, sale_price_ttc=None, status="VD",
               destination="trade", first_registration_date=dt.date(2019, 12, 31)),
        "D": f(network.dainville, entry_number="D", make="BMW", model="X1", score=10, score_deal=None,
               entry_date=ago(180), price_changed_on=ago(61), sale_price_ttc=Decimal("30000"), status="VND",
               first_registration_date=dt.date(2015, 1, 1)),
        "E": f(network.rennes, entry_number="E", make="AUDI", model="A3", score=5, score_deal=0,
               entry_date=ago(181), price_changed_on=ago(60), sale_price_ttc=Decimal("0"), status="ARR",
               destination="none", registration="GH-456-JK"),
    }
    return rows


def matching(params):
    stmt = select(Vehicle.entry_number).where(*stock_conditions(params, TODAY)).order_by(Vehicle.entry_number)
    return "".join(db.session.execute(stmt).scalars())


CASES = [
    ({}, "ABC"),                                          # default statuses ST, VD, DV
    ({"status": "all"}, "ABCDE"),
    ({"status": ["VND", "ARR"]}, "DE"),
    ({"status": "VND,ARR"}, "DE"),
    ({"status": "bogus"}, "ABC"),                         # unknown → default
    ({"destination": "retail", "status": "all"}, "ABD"),
    ({"destination": "trade"}, "C"),
    ({"destination": "none", "status": "all"}, "E"),
    ({"score": "7"}, "A"),
    ({"score": ["0", "3"]}, "BC"),
    ({"score": "10", "status": "all"}, "D"),
    ({"stock_age": "0-30"}, "A"),
    ({"stock_age": "31-60"}, "B"),
    ({"stock_age": "61-90"}, "C"),
    ({"stock_age": "91-180", "status": "all"}, "D"),
    ({"stock_age": "181-", "status": "all"}, "E"),
    ({"price_age": "0-15"}, "A"),
    ({"price_age": "16-30"}, "B"),
    ({"price_age": "31-60", "status": "all"}, ""),           # E has a date but 0 €: no price, no price age
    ({"price_age": "61-", "status": "all"}, "D"),
    ({"deal": "2"}, "A"),
    ({"deal": "1"}, "B"),
    ({"deal": "0", "status": "all"}, "CDE"),             # unscored deal counts as "no deal"
    ({"price_band": "0-9999"}, "A"),                      # 0 € is "no price", not a band
    ({"price_band": "10000-14999"}, "B"),
    ({"price_band": "30000-", "status": "all"}, "D"),
    ({"energy": "diesel"}, "B"),
    ({"make": "peugeot"}, "BC"),
    ({"model": "3008"}, "C"),
    ({"no_price": "1", "status": "all"}, "CE"),
    ({"no_photos": "1"}, "BC"),
    ({"not_referenced": "1"}, "B"),
    ({"q": "clio"}, "A"),
    ({"q": "peugeot 30"}, "C"),
    ({"q": "AB123CD"}, "A"),                              # plate without dashes
    ({"q": "2019"}, "BC"),                               # year of first registration
    ({"q": "B"}, "ABC"),                                 # entry number B, make BMW excluded by status… A: AB-123-CD
    ({"price_min": "10000", "price_max": "29999"}, "B"),
    ({"year_min": "2020"}, "A"),
    ({"mileage_min": "abc"}, "ABC"),                      # malformed → ignored, not an error
]


@pytest.mark.parametrize("params,expected", CASES)
def test_each_parameter_selects_its_vehicles(stock, params, expected):
    assert matching(params) == expected


def test_site_and_concession_filters(stock, network):
    assert matching({"site": str(network.dainville.id)}) == "C"
    assert matching({"concession": str(network.nord.id), "status": "all"}) == "ABCD"
    assert matching({"concession": str(network.sud.id), "status": "all"}) == "E"
    assert matching({"site": "not-a-number"}) == ""


def test_multidict_params_like_a_request(stock):
    params = MultiDict([("score", "7"), ("score", "3")])
    assert matching(params) == "AB"
    assert param_values(params, "score") == ["7", "3"]


@pytest.mark.parametrize("buckets,column", [(STOCK_AGE_BUCKETS, "entry_date"),
                                            (PRICE_AGE_BUCKETS, "price_changed_on"),
                                            (PRICE_BANDS, "sale_price_ttc"), (DEAL_BUCKETS, "score_deal")])
def test_buckets_do_not_overlap(stock, buckets, column):
    """A vehicle is counted in at most one bar of a distribution."""
    counts = db.session.execute(select(*[func.count().filter(b.condition(TODAY)) for b in buckets])
                                .where(*stock_conditions({"status": "all"}, TODAY))).one()
    in_some = db.session.execute(select(func.count()).where(
        *stock_conditions({"status": "all"}, TODAY),
        db.or_(*[b.condition(TODAY) for b in buckets]))).scalar()
    assert sum(counts) == in_some


def test_stock_list_url(app):
    with app.test_request_context():
        assert stock_list_url("retail") == "/stock/retail/"
        assert stock_list_url("trade", score=3, status=["ST", "VD"], q=None) == \
            "/stock/trade/?score=3&status=ST&status=VD"
