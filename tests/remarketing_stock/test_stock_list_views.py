"""The Particulier / Marchand stock lists (§5): scope, filters, sort, pages, export, price edit, Coter, import."""
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from backoffice.extensions import db
from models import PriceChange, Vehicle
from models.stock_filters import stock_conditions

TODAY = dt.date.today()


def ago(days):
    return TODAY - dt.timedelta(days=days)


def entry_numbers(html):
    import re
    return re.findall(r'data-vehicle-id="\d+"[^>]*>.*?N° ([^ <]+)', html, re.S)


@pytest.fixture
def stock(network, factories):
    f = factories.vehicle
    return {
        "n1": f(network.gap, entry_number="N1", make="NORDMARKER", model="CLIO", score=2, sale_price_ttc=D("9000"),
                entry_date=ago(100), price_changed_on=ago(40), mileage=90_000),
        "n2": f(network.dainville, entry_number="N2", make="NORDMARKER", model="208", score=8,
                sale_price_ttc=D("15000"), entry_date=ago(5), price_changed_on=ago(1), mileage=10_000),
        "n3": f(network.gap, entry_number="N3", make="NORDMARKER", model="X1", score=5, destination="trade",
                sale_price_ttc=D("20000")),
        "s1": f(network.rennes, entry_number="S1", make="SUDMARKER", model="CLIO", score=2),
    }


def test_dealer_sees_only_own_concession(stock, network, login):
    html = login(network.cdv_nord).get("/stock/retail/").get_data(as_text=True)
    assert "NORDMARKER" in html and "SUDMARKER" not in html
    assert entry_numbers(html) == ["N1", "N2"]  # default sort: weakest score first
    assert "Nombre de véhicules : 2" in html


def test_network_user_sees_every_concession(stock, network, login):
    html = login(network.filiale).get("/stock/retail/").get_data(as_text=True)
    assert "NORDMARKER" in html and "SUDMARKER" in html
    assert 'data-testid="price-form"' not in html  # read-only role: no price edit, no Coter
    assert 'data-testid="coter"' not in html


@pytest.mark.parametrize("role", ["validator"])
def test_roles_without_stock_are_refused(stock, network, login, role):
    assert login(network.validator).get("/stock/retail/").status_code == 403


def test_unknown_destination_is_404(stock, network, login):
    assert login(network.cdv_nord).get("/stock/nowhere/").status_code == 404


def test_destination_lists(stock, network, login):
    c = login(network.cdv_nord)
    assert entry_numbers(c.get("/stock/trade/").get_data(as_text=True)) == ["N3"]
    assert sorted(entry_numbers(c.get("/stock/all/").get_data(as_text=True))) == ["N1", "N2", "N3"]


@pytest.mark.parametrize("query,expected", [
    ("score=8", ["N2"]), ("q=208", ["N2"]), ("q=clio", ["N1"]), ("stock_age=91-180", ["N1"]),
    ("price_age=31-60", ["N1"]), ("price_band=15000-19999", ["N2"]), ("mileage_max=50000", ["N2"]),
    ("status=VND", []), ("site={dainville}", ["N2"]), ("concession={sud}", []),
])
def test_filters_in_the_url(stock, network, login, query, expected):
    query = query.format(dainville=network.dainville.id, sud=network.sud.id)
    html = login(network.cdv_nord).get(f"/stock/retail/?{query}").get_data(as_text=True)
    assert entry_numbers(html) == expected
    assert f"Nombre de véhicules : {len(expected)}" in html


def test_count_equals_the_shared_filter_definition(stock, network, login):
    """The list counts exactly what stock_conditions selects (what dashboards count with)."""
    params = {"destination": "retail", "stock_age": "0-30", "concession": str(network.nord.id)}
    expected = db.session.execute(select(func.count()).select_from(Vehicle)
                                  .where(*stock_conditions(params, TODAY))).scalar()
    html = login(network.filiale).get(f"/stock/retail/?stock_age=0-30&concession={network.nord.id}").get_data(as_text=True)
    assert f"Nombre de véhicules : {expected}" in html and expected == 1


@pytest.mark.parametrize("sort,expected", [
    ("price", ["N1", "N2"]), ("price&dir=desc", ["N2", "N1"]), ("stock_age", ["N2", "N1"]),
    ("stock_age&dir=desc", ["N1", "N2"]), ("mileage", ["N2", "N1"]), ("model", ["N2", "N1"]),
    ("score&dir=desc", ["N2", "N1"]), ("bogus", ["N1", "N2"]),
])
def test_sorting(stock, network, login, sort, expected):
    html = login(network.cdv_nord).get(f"/stock/retail/?sort={sort}").get_data(as_text=True)
    assert entry_numbers(html) == expected


def test_every_sort_key_answers(stock, network, login):
    from views.stock_lists import SORTS
    c = login(network.cdv_nord)
    for key in SORTS:
        for direction in ("asc", "desc"):
            assert c.get(f"/stock/retail/?sort={key}&dir={direction}").status_code == 200, key


def test_pagination(network, factories, login):
    for i in range(30):
        factories.vehicle(network.gap, entry_number=f"P{i:02d}", score=i % 11)
    c = login(network.cdv_nord)
    first = entry_numbers(c.get("/stock/retail/?per_page=25&sort=entry_number").get_data(as_text=True))
    second = entry_numbers(c.get("/stock/retail/?per_page=25&sort=entry_number&page=2").get_data(as_text=True))
    assert len(first) == 25 and second == ["P25", "P26", "P27", "P28", "P29"]
    assert "Nombre de véhicules : 30" in c.get("/stock/retail/?page=99").get_data(as_text=True)


def test_page_statement_count_does_not_grow_with_rows(network, factories, login):
    c = login(network.cdv_nord)
    c.get("/stock/retail/")

    def statements():
        seen = []
        listener = lambda *a, **k: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert c.get("/stock/retail/?per_page=100").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    factories.vehicle(network.gap)
    few = statements()
    for _ in range(20):
        factories.vehicle(network.gap, photo_count=1)
    assert statements() == few


def test_export_is_scoped_and_neutralises_formulas(stock, network, factories, login):
    factories.vehicle(network.gap, entry_number="F1", make="NORDMARKER", model="=HYPERLINK(\"x\")")
    c = login(network.cdv_nord)
    text = c.get("/stock/retail/export/csv").get_data(as_text=True)
    assert "SUDMARKER" not in text and "N1" in text and "N2" in text and "N3" not in text
    assert "'=HYPERLINK" in text
    data = c.get("/stock/retail/export/xlsx?q=clio").get_data()
    ws = load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "N° entrée" and [r[0] for r in rows[1:]] == ["N1"]


def test_filiale_export_covers_the_network(stock, network, login):
    text = login(network.filiale).get("/stock/retail/export/csv").get_data(as_text=True)
    assert "SUDMARKER" in text and "NORDMARKER" in text


# In-place price --------------------------------------------------------------------------------
@pytest.mark.parametrize("typed,message", [("abc", "nombre"), ("-5", "négatif"), ("", "Saisissez"),
                                           ("12,5,3", "nombre"), ("1e999", "élevé")])
def test_bad_price_is_refused_with_a_message_and_nothing_saved(stock, network, login, typed, message):
    c = login(network.cdv_nord)
    v = stock["n1"]
    r = c.form(f"/stock/price/{v.id}", {"price": typed}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and message in r.get_json()["message"]
    r = c.form(f"/stock/price/{v.id}", {"price": typed, "next": "/stock/retail/?score=2"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/stock/retail/?score=2")
    html = c.get("/stock/retail/?score=2").get_data(as_text=True)
    assert message in html
    db.session.expire_all()
    assert db.session.get(Vehicle, v.id).sale_price_ttc == D("9000")
    assert db.session.scalar(select(func.count()).select_from(PriceChange)) == 0


def test_good_price_resets_price_age_and_is_recorded(stock, network, login):
    c = login(network.cdv_nord)
    v = stock["n1"]
    r = c.form(f"/stock/price/{v.id}", {"price": "8 490,00"}, headers={"Accept": "application/json"})
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] and body["price_age"] == 0
    db.session.expire_all()
    v = db.session.get(Vehicle, v.id)
    assert v.sale_price_ttc == D("8490.00") and v.price_changed_on == TODAY
    change = db.session.scalars(select(PriceChange)).one()
    assert (change.old_price, change.new_price, change.user_id) == (D("9000.00"), D("8490.00"), network.cdv_nord.id)
    assert v.score_price == 2 and v.score == body["score"]  # rescored: the price is fresh now
    # Without JavaScript the form posts and comes back to the same list page.
    r = c.form(f"/stock/price/{v.id}", {"price": "8400", "next": "/stock/retail/?page=1"})
    assert r.headers["Location"].endswith("/stock/retail/?page=1")
    r = c.form(f"/stock/price/{v.id}", {"price": "8400", "next": "https://evil.example/"})
    assert "evil" not in r.headers["Location"]


def test_other_concessions_vehicle_is_404(stock, network, login):
    c = login(network.cdv_nord)
    s1 = stock["s1"]
    assert c.form(f"/stock/price/{s1.id}", {"price": "1000"}).status_code == 404
    assert c.form(f"/stock/coter/{s1.id}", {}).status_code == 404
    assert c.form("/stock/price/999999", {"price": "1000"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Vehicle, s1.id).sale_price_ttc == D("14990.00")


def test_read_only_role_cannot_edit(stock, network, login):
    c = login(network.filiale)
    assert c.form(f"/stock/price/{stock['n1'].id}", {"price": "1000"}).status_code == 403
    assert c.form(f"/stock/coter/{stock['n1'].id}", {}).status_code == 403
    assert c.get("/stock/import-valuations/").status_code == 403


# Coter ----------------------------------------------------------------------------------------
def test_coter_stores_the_quote_with_its_date(stock, network, factories, login):
    for price in (8000, 8500, 9000):
        factories.vehicle(network.rennes, make="NORDMARKER", model="CLIO", status="VND", sale_date=ago(20),
                          sale_price_ttc=D(price), mileage=90_000,
                          first_registration_date=stock["n1"].first_registration_date)
    c = login(network.cdv_nord)
    r = c.form(f"/stock/coter/{stock['n1'].id}", {"next": "/stock/retail/"})
    assert r.status_code == 302
    html = c.get("/stock/retail/").get_data(as_text=True)
    assert "3 ventes comparables" in html
    db.session.expire_all()
    v = db.session.get(Vehicle, stock["n1"].id)
    assert (v.transaction_value, v.valuation_date) == (D("8500"), TODAY)


def test_coter_without_comparables_says_non_cotable(stock, network, login):
    c = login(network.cdv_nord)
    c.form(f"/stock/coter/{stock['n2'].id}", {"next": "/stock/retail/"})
    assert "non cotable" in c.get("/stock/retail/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Vehicle, stock["n2"].id).valuation_date is None


def test_stale_cote_is_flagged(network, factories, login):
    factories.vehicle(network.gap, transaction_value=D("9000"), valuation_date=ago(16), custom_valuation=None)
    factories.vehicle(network.gap, transaction_value=D("9000"), valuation_date=ago(15), custom_valuation=None)
    html = login(network.cdv_nord).get("/stock/retail/").get_data(as_text=True)
    assert html.count('data-testid="stale-flag"') == 1


# Import ---------------------------------------------------------------------------------------
def test_import_page_reports_bad_lines_and_keeps_good_ones(stock, network, login):
    csv_text = ("n_entree;valeur_transaction;date_cote\nN1;7 900,00;01/01/2026\nN2;abc;\nS1;5 000;\n")
    c = login(network.cdv_nord)
    r = c.form("/stock/import-valuations/", {"file": (io.BytesIO(csv_text.encode("cp1252")), "cotes.csv")},
               content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "1 véhicule(s) mis à jour" in html
    assert "<td>3</td>" in html and "<td>4</td>" in html and "introuvable" in html
    db.session.expire_all()
    assert db.session.get(Vehicle, stock["n1"].id).transaction_value == D("7900")
    assert db.session.get(Vehicle, stock["s1"].id).transaction_value is None


def test_coter_from_the_fiche_comes_back_to_the_fiche(stock, network, login):
    c = login(network.cdv_nord)
    fiche = f"/vehicles/edit/?id={stock['n1'].id}"
    html = c.get(fiche).get_data(as_text=True)
    assert 'data-testid="fiche-coter"' in html
    r = c.form(f"/stock/coter/{stock['n1'].id}", {"next": fiche})
    assert r.status_code == 302 and r.headers["Location"].endswith(fiche)


def test_list_in_english(stock, network, login):
    c = login(network.cdv_nord)
    c.form("/lang/en", {"next": "/stock/retail/"})
    html = c.get("/stock/retail/").get_data(as_text=True)
    assert "Number of vehicles: 2" in html and "Get a valuation" in html


def test_network_user_site_link_shows_the_site_selected(stock, network, login):
    html = login(network.filiale).get(f"/stock/retail/?site={network.dainville.id}").get_data(as_text=True)
    assert entry_numbers(html) == ["N2"]
    assert f'<option value="{network.dainville.id}" selected' in html
    assert ">GAP</option>" in html and ">RENNES</option>" not in html  # only that concession's sites
