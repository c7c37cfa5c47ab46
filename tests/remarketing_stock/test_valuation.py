"""Valuations: the estimator, the built-in provider over the group's sales, and the CSV import."""
import datetime as dt
from decimal import Decimal as D

import pytest

from backoffice.extensions import db
from models import Vehicle
from models.scope import Scope
from models.valuation import (Comparable, ComparableSalesProvider, NotQuotable, Quote, ValuationProvider,
                              VehicleFacts, apply_valuation_rows, displayed_cote, estimate, facts_of, is_stale,
                              mileage_adjusted, parse_amount, parse_valuation_csv)

TODAY = dt.date(2026, 6, 15)
CLIO = VehicleFacts(make="RENAULT", model="CLIO", year=2022, mileage=40_000)


def test_mileage_adjustment():
    assert mileage_adjusted(D("10000"), 40_000, 40_000) == D("10000")
    assert mileage_adjusted(D("10000"), 50_000, 40_000) == D("10400")   # more km sold: worth more at 40,000
    assert mileage_adjusted(D("10000"), 30_000, 40_000) == D("9600")
    assert mileage_adjusted(D("10000"), 500_000, 0) == D("13000")       # capped at 30 %
    assert mileage_adjusted(D("10000"), None, 40_000) == D("10000")


@pytest.mark.parametrize("sold,expected", [
    ([(2022, 40_000, 12000), (2021, 40_000, 11000), (2023, 40_000, 13000)], D("12000")),
    ([(2022, 50_000, 12000), (2022, 50_000, 12000), (2022, 50_000, 12000)], D("12480")),
    # a comparable two years apart does not count: 2 left → non cotable
    ([(2022, 40_000, 12000), (2021, 40_000, 11000), (2019, 40_000, 9000)], None),
    ([], None),
    ([(2022, 40_000, 12345), (2022, 40_000, 12355), (2022, 40_000, 12365), (2022, 40_000, 99999)], D("12360")),
])
def test_estimator(sold, expected):
    quote = estimate(CLIO, [Comparable(y, km, D(p)) for y, km, p in sold], [], TODAY)
    if expected is None:
        assert isinstance(quote, NotQuotable) and "au moins 3" in quote.reason
    else:
        assert isinstance(quote, Quote) and quote.transaction_value == expected and quote.quoted_on == TODAY


def test_estimator_needs_a_year():
    assert isinstance(estimate(VehicleFacts("RENAULT", "CLIO", None, 1), [], [], TODAY), NotQuotable)


def test_listing_value_from_current_ads():
    sold = [Comparable(2022, 40_000, D("12000"))] * 3
    listed = [Comparable(2022, 40_000, D(p)) for p in (13000, 13500, 14000)]
    quote = estimate(CLIO, sold, listed, TODAY)
    assert quote.listing_value == D("13500")


def test_provider_quotes_from_the_groups_sales(network, factories):
    for price, km in ((12000, 40_000), (12500, 40_000), (11500, 40_000)):
        factories.vehicle(network.rennes, make="RENAULT", model="CLIO", status="VND", sale_date=TODAY - dt.timedelta(days=30),
                          sale_price_ttc=D(price), mileage=km, first_registration_date=dt.date(2022, 3, 1))
    factories.vehicle(network.gap, make="RENAULT", model="CLIO", status="VND", sale_date=TODAY - dt.timedelta(days=900),
                      sale_price_ttc=D("1000"), first_registration_date=dt.date(2022, 3, 1))  # too old a sale
    target = factories.vehicle(network.gap, make="Renault", model="Clio", mileage=40_000,
                               first_registration_date=dt.date(2021, 9, 1))
    other = factories.vehicle(network.gap, make="TESLA", model="MODEL 3", first_registration_date=dt.date(2021, 9, 1))
    provider = ComparableSalesProvider(db.session, today=TODAY)
    assert isinstance(provider, ValuationProvider)
    quote, none = provider.quote_many([facts_of(target), facts_of(other)])
    assert quote.transaction_value == D("12000") and quote.comparables == 3
    assert isinstance(none, NotQuotable)


def test_displayed_cote_and_stale_flag(network, factories):
    v = factories.vehicle(network.gap, custom_valuation=None, transaction_value=D("9000"),
                          valuation_date=TODAY - dt.timedelta(days=16))
    value, day = displayed_cote(v)
    assert value == D("9000") and is_stale(day, TODAY)
    v.custom_valuation, v.custom_valuation_date = D("9500"), TODAY - dt.timedelta(days=15)
    value, day = displayed_cote(v)
    assert value == D("9500") and not is_stale(day, TODAY)


@pytest.mark.parametrize("text,value", [("12 345,50", D("12345.50")), ("12345.5", D("12345.50")),
                                        ("12\u00a0345 €", D("12345.00")), ("1.234,5", D("1234.50")), ("", None)])
def test_parse_amount(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["abc", "-100", "1e400", "NaN"])
def test_parse_amount_refuses(text):
    with pytest.raises(ValueError):
        parse_amount(text)


CSV = """immatriculation;vin;N° entrée;valeur_transaction;valeur_annonce;date_cote
;;A1;12 000,00;12 800;01/06/2026
;;A2;douze mille;;01/06/2026
;;;9 000;;01/06/2026
ab 123 cd;;;7 500;;2026-06-10
;;B1;8 000;;01/06/2026
;;A3;;;01/06/2026
;;A4;5 000;;31/02/2026
;;ZZ9;5 000;;
"""


def test_csv_import_keeps_good_lines_and_reports_bad_ones(network, factories):
    a1 = factories.vehicle(network.gap, entry_number="A1", transaction_value=None)
    plate = factories.vehicle(network.gap, entry_number="A5", registration="AB-123-CD", transaction_value=None)
    b1 = factories.vehicle(network.rennes, entry_number="B1", transaction_value=None)  # other concession
    rows, errors = parse_valuation_csv(CSV.encode("latin-1"), TODAY)
    assert [r.line for r in rows] == [2, 5, 6, 9]
    assert [line for line, _ in errors] == [3, 4, 7, 8]
    assert "valeur_transaction" in dict(errors)[3]
    assert "identifiant" in dict(errors)[4]
    assert "aucune valeur" in dict(errors)[7]
    assert "date" in dict(errors)[8]
    result = apply_valuation_rows(db.session, rows, Scope(frozenset({network.nord.id})).clause(Vehicle))
    db.session.commit()
    assert result.updated == 2
    assert [line for line, _ in result.errors] == [6, 9]      # B1 is not in the user's scope: not found
    assert "introuvable" in dict(result.errors)[6]
    for v in (a1, plate, b1):
        db.session.refresh(v)
    assert (a1.transaction_value, a1.listing_value, a1.valuation_date) == (D("12000"), D("12800"), dt.date(2026, 6, 1))
    assert plate.transaction_value == D("7500")
    assert b1.transaction_value is None


def test_csv_import_utf8_bom_and_bad_header(network, factories):
    factories.vehicle(network.gap, entry_number="Z1")
    rows, errors = parse_valuation_csv("\ufeffn_entree;valeur_transaction\nZ1;4 321,00\n".encode("utf-8"), TODAY)
    assert not errors and rows[0].transaction_value == D("4321.00")
    rows, errors = parse_valuation_csv(b"foo;bar\n1;2\n", TODAY)
    assert rows == [] and errors[0][0] == 1



