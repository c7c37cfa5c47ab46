"""The dashboards count what the lists behind their links hold, within the user's scope (§4)."""
from __future__ import annotations

import re

import pytest

from views import remarketing

from .conftest import bars, count, list_count, phrases, rows_behind

DISTRIBUTIONS = ("score", "stock_age", "price_age", "deal")
REPARTITIONS = ("energy", "status", "site", "price_band", "make")


@pytest.fixture(autouse=True)
def _no_send_panels(monkeypatch):
    """The send panels belong to the sends feature (tested there): these tests see the empty state."""
    monkeypatch.setattr(remarketing, "PUBLICATION_PANELS", [])


@pytest.mark.parametrize("destination", ["retail", "trade"])
@pytest.mark.parametrize("chart", DISTRIBUTIONS + REPARTITIONS)
def test_every_bar_counts_the_rows_of_the_list_it_opens(stock, login, destination, chart):
    user = stock.cdv_nord
    client = login(user)
    body = client.get(f"/remarketing/{destination}/").get_data(as_text=True)
    prefix = f"chart-{chart}" if chart in DISTRIBUTIONS else f"repartition-{chart}"
    found = bars(body, prefix)
    assert found, f"no bar in the {chart} chart"
    assert sum(n for _h, _k, n in found) > 0
    for href, key, n in found:
        assert href.startswith(f"/stock/{destination}/"), href
        # the list page itself, as the user opens it by clicking the bar
        assert list_count(client, href) == n, f"{chart} bar {key}: {n} on the dashboard, list {href}"


def test_bucketed_bars_add_up_to_the_stock(stock, login):
    user = stock.cdv_nord
    body = login(user).get("/remarketing/retail/").get_data(as_text=True)
    total = sum(count(user, destination="retail", status=s) for s in ("ST", "VD", "DV"))
    for chart in ("stock_age", "deal"):
        assert sum(n for _h, _k, n in bars(body, f"chart-{chart}")) == total
    assert f"{total} véhicules" in body


def test_publication_dashboard_phrases_count_their_lists(stock, login):
    user = stock.cdv_nord
    client = login(user)
    body = client.get("/remarketing/").get_data(as_text=True)
    links = phrases(body)
    for dest in ("none", "retail", "trade"):
        href, n = links[f"stock-{dest}"]
        assert n == sum(count(user, destination=dest, status=s) for s in ("ST", "VD", "DV"))
        assert rows_behind(href, user) == n
    checked = 0
    for testid, (href, n) in links.items():
        if href.startswith("/stock/"):
            assert list_count(client, href) == n, f"{testid}: {n} shown, list {href}"
            checked += 1
    assert checked >= 8
    assert "Aucun envoi pour l'instant" in body


def test_publication_panels_added_by_other_features_replace_the_empty_state(stock, login):
    def last_send(scope, selection):
        return ("Dernier envoi", "<p>panel-from-sends</p>")
    remarketing.PUBLICATION_PANELS.append(last_send)
    try:
        body = login(stock.cdv_nord).get("/remarketing/").get_data(as_text=True)
    finally:
        remarketing.PUBLICATION_PANELS.remove(last_send)
    assert "Dernier envoi" in body and "panel-from-sends" in body
    assert "Aucun envoi pour l'instant" not in body


@pytest.mark.parametrize("url", ["/remarketing/", "/remarketing/retail/", "/remarketing/trade/"])
def test_a_dealer_never_sees_another_concessions_vehicles(stock, login, url):
    user = stock.cdv_nord
    body = login(user).get(url).get_data(as_text=True)
    assert "SUDMARKER" not in body and "SUDMAKE" not in body
    assert not re.search(r"S000\d\d", body), "an entry number of Sud shows"
    assert not re.search(r"\b(RENNES|AGEN)\b", body), "the selector offers another concession's sites"
    assert "Concession du Sud" not in body


def test_the_network_comparison_is_aggregates_only(stock, login):
    user = stock.cdv_nord
    body = login(user).get("/remarketing/retail/").get_data(as_text=True)
    network_total = (count(stock.admin, destination="retail", status="ST")
                     + count(stock.admin, destination="retail", status="VD")
                     + count(stock.admin, destination="retail", status="DV"))
    own_total = sum(count(user, destination="retail", status=s) for s in ("ST", "VD", "DV"))
    assert network_total > own_total
    assert f"Réseau : {network_total} véhicules" in body
    for chart in DISTRIBUTIONS:
        block = re.search(rf'<svg[^>]*data-testid="network-{chart}".*?</svg>', body, re.S).group(0)
        assert "<a " not in block and "href" not in block, "the network chart links somewhere"
    # every link of the page opens a list of the user's own scope: rows are checked by rows_behind
    for href, _key, n in bars(body):
        assert rows_behind(href, user) == n


def test_the_site_selector_and_status_filter_change_every_figure(stock, login):
    user = stock.cdv_nord
    client = login(user)
    gap = stock.gap.id
    body = client.get(f"/remarketing/retail/?where=s{gap}").get_data(as_text=True)
    gap_total = sum(count(user, destination="retail", status=s, site_id=gap) for s in ("ST", "VD", "DV"))
    assert f"{gap_total} véhicules" in body
    found = bars(body)
    assert found and all(f"site={gap}" in href for href, _k, _n in found)
    for href, key, n in bars(body, "chart-score"):
        assert list_count(client, href) == n

    body = client.get("/remarketing/retail/?status=ARR&status=CDE").get_data(as_text=True)
    arr_total = count(user, destination="retail", status="ARR") + count(user, destination="retail", status="CDE")
    assert f"{arr_total} véhicules" in body
    for href, key, n in bars(body):
        assert list_count(client, href) == n
    for chart in ("chart-score", "chart-stock_age", "repartition-energy", "repartition-make"):
        assert bars(body, chart), f"no bar in {chart} for ARR + CDE"
        for href, key, n in bars(body, chart):
            assert "status=ARR" in href and "status=CDE" in href, (chart, key, href)
    for href, key, n in bars(body, "repartition-status"):
        assert f"status={key}" in href
    statuses = {k for _h, k, _n in bars(body, "repartition-status")}
    assert statuses <= {"ARR", "CDE"} and statuses

    body = client.get(f"/remarketing/?where=c{stock.nord.id}&status=VND").get_data(as_text=True)
    assert phrases(body)["stock-retail"][1] == count(user, destination="retail", status="VND")


def test_a_site_outside_the_scope_is_refused_like_an_unknown_one(stock, login):
    user = stock.cdv_nord
    client = login(user)
    own_total = sum(count(user, destination="retail", status=s) for s in ("ST", "VD", "DV"))
    for where in (f"s{stock.rennes.id}", f"c{stock.sud.id}", "s999999", "zzz", "s99999999999999999", "c-1"):
        response = client.get(f"/remarketing/retail/?where={where}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'data-testid="selector-error"' in body and "Ce site ou cette concession" in body
        assert f"{own_total} véhicules" in body
        assert "SUDMARKER" not in body


def test_group_wide_dashboards_count_the_whole_network(stock, login):
    body = login(stock.filiale).get("/remarketing/retail/").get_data(as_text=True)
    total = sum(count(stock.filiale, destination="retail", status=s) for s in ("ST", "VD", "DV"))
    assert f"{total} véhicules" in body
    for href, _key, n in bars(body, "chart-score"):
        assert rows_behind(href, stock.filiale) == n


def test_roles_without_stock_access_are_refused(stock, login):
    assert login(stock.validator).get("/remarketing/retail/").status_code == 403


def test_indicators_are_the_averages_of_the_selected_stock(stock, login):
    import datetime as dt

    from sqlalchemy import select

    from backoffice.extensions import db
    from models import Vehicle

    user = stock.cdv_nord
    today = dt.date.today()
    rows = db.session.execute(select(Vehicle).where(
        Vehicle.concession_id == stock.nord.id, Vehicle.status.in_(("ST", "VD", "DV")),
        Vehicle.destination.in_(("none", "retail", "trade")))).scalars().all()
    stock_age = sum((today - v.entry_date).days for v in rows) / len(rows)
    priced = [v for v in rows if v.price_changed_on]
    price_age = sum((today - v.price_changed_on).days for v in priced) / len(priced)
    photos = sum(v.photo_count for v in rows) / len(rows)
    body = login(user).get("/remarketing/").get_data(as_text=True)
    assert re.search(rf'data-testid="avg-stock-age">{round(stock_age)} jours<', body)
    assert re.search(rf'data-testid="avg-price-age">{round(price_age)} jours<', body)
    assert f"{photos:.1f}".replace(".", ",") + " photos" in body
    assert re.search(rf'data-testid="stock-total">{len(rows)} véhicules<', body)

    retail = [v for v in rows if v.destination == "retail" and v.score is not None]
    score = sum(v.score for v in retail) / len(retail)
    body = login(user).get("/remarketing/retail/").get_data(as_text=True)
    assert f"{score:.1f}".replace(".", ",") + " / 10" in body


def test_the_home_page_leads_to_the_dashboards_of_those_who_read_the_stock(network, login):
    assert 'data-testid="remarketing-home"' in login(network.vendeur_nord).get("/").get_data(as_text=True)
    assert 'data-testid="remarketing-home"' not in login(network.validator).get("/").get_data(as_text=True)


def test_network_wide_users_choose_a_concession_then_its_sites(stock, login):
    client = login(stock.filiale)
    for where in ("s99999999999999999", "c99999999999", "s0", "x1"):
        response = client.get(f"/remarketing/retail/?where={where}")
        assert response.status_code == 200 and 'data-testid="selector-error"' in response.get_data(as_text=True)
    body = client.get("/remarketing/retail/").get_data(as_text=True)
    assert f'value="c{stock.sud.id}"' in body and f'value="s{stock.rennes.id}"' not in body
    body = client.get(f"/remarketing/retail/?where=c{stock.sud.id}").get_data(as_text=True)
    assert f'value="s{stock.rennes.id}"' in body and f'value="s{stock.gap.id}"' not in body
    body = client.get(f"/remarketing/retail/?where=s{stock.rennes.id}").get_data(as_text=True)
    rennes = sum(count(stock.filiale, destination="retail", status=s, site_id=stock.rennes.id)
                 for s in ("ST", "VD", "DV"))
    assert f"{rennes} véhicules" in body and "RENNES" in body
    for href, _key, n in bars(body, "repartition-site"):
        assert f"site={stock.rennes.id}" in href and rows_behind(href, stock.filiale) == n


@pytest.mark.parametrize("destination", ["retail", "trade"])
def test_the_indicator_phrases_of_a_destination_open_their_lists(stock, login, destination):
    client = login(stock.cdv_nord)
    links = phrases(client.get(f"/remarketing/{destination}/").get_data(as_text=True))
    assert {"stock-total", "reprice", "without-destination"} <= set(links)
    for testid in ("stock-total", "reprice", "without-destination"):
        href, n = links[testid]
        assert list_count(client, href) == n, testid
    assert links["reprice"][1] > 0 and links["without-destination"][1] > 0
    assert links["without-destination"][0].startswith("/stock/none/")
