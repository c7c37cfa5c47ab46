"""Who gets in where, and that nothing of another concession ever shows (§1).

Every GET route of the app is walked as each of the five roles and as users of two concessions.
A new route must be classified in ACCESS, or this test fails and says so.
"""
import pytest

from models import Vehicle
from backoffice.extensions import db

ALL = {"admin", "filiale", "validator", "dealer_manager", "dealer_staff"}
STOCK = {"admin", "filiale", "dealer_manager", "dealer_staff"}
ADMIN = {"admin"}

# endpoint prefix (blueprint) → roles that may GET its pages. Longest prefix wins. Each feature's
# tests add theirs in tests/<feature>/access_rules.py (ACCESS and SKIP).
ACCESS = {
    "admin.index": ALL,
    "vehicle.": STOCK,
    "user.": ADMIN,
    "pole.": ADMIN,
    "concession.": ADMIN,
    "site.": ADMIN,
    "location.": ADMIN,
}
# Routes that are not pages to walk here (static files, auth, POST-only, parameterised files).
SKIP = ("static", "admin.static", "security.", "home.set_language", "vehicle.photo_file",
        "vehicle.ajax_", "vehicle.action_view", "vehicle.delete_view")


def _feature_rules():
    import importlib
    import pkgutil

    import tests

    global SKIP
    for info in pkgutil.iter_modules(tests.__path__):
        try:
            module = importlib.import_module(f"tests.{info.name}.access_rules")
        except ModuleNotFoundError:
            continue
        ACCESS.update(getattr(module, "ACCESS", {}))
        SKIP = SKIP + tuple(getattr(module, "SKIP", ()))


_feature_rules()


def _allowed(endpoint):
    matches = [p for p in ACCESS if endpoint == p or (p.endswith(".") and endpoint.startswith(p))]
    assert matches, f"classify the route {endpoint!r} in ACCESS (who may open it?)"
    return ACCESS[max(matches, key=len)]


def _row_id_for(app, endpoint, vehicle_id):
    """The id a details/edit page is opened with: the user's own vehicle, else the first row of the
    view's model (a real row, so that the page exists whatever ids the database handed out)."""
    from sqlalchemy import select

    view = next((v for v in app.extensions["backoffice_admin"]._views
                 if getattr(v, "endpoint", None) == endpoint.split(".")[0]), None)
    model = getattr(view, "model", None)
    if model is None or model is Vehicle:
        return vehicle_id
    return db.session.execute(select(model.id).order_by(model.id).limit(1)).scalar()


def _pages(app, nord_vehicle_id):
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.startswith(SKIP):
            continue
        if rule.endpoint.endswith(("ajax_lookup", "ajax_update")):
            continue
        args = {}
        for arg in rule.arguments:
            if arg in ("id",):
                args[arg] = nord_vehicle_id
            elif arg == "export_type":
                args[arg] = "csv"
            else:
                args = None
                break
        if args is None:
            continue
        url = app.url_for(rule.endpoint, **args) if hasattr(app, "url_for") else None
        if rule.endpoint.endswith(("edit_view", "details_view")):
            row_id = _row_id_for(app, rule.endpoint, nord_vehicle_id)
            if row_id is None:
                continue  # no row of that kind in the test data: nothing to open
            url += f"?id={row_id}"
        pages.append((rule.endpoint, url))
    return pages


@pytest.fixture
def marked(network, factories):
    """One vehicle per concession with an unmistakable marker."""
    nord = factories.vehicle(network.gap, model="NORDMARKER", entry_number="N0001")
    sud = factories.vehicle(network.rennes, model="SUDMARKER", entry_number="S0001")
    return nord, sud


USERS = ["admin", "filiale", "validator", "cdv_nord", "vendeur_nord", "cdv_sud", "vendeur_sud"]


@pytest.mark.parametrize("who", USERS)
def test_every_page_lets_in_exactly_the_allowed_roles_and_never_leaks_the_other_concession(
        app, network, marked, login, who):
    user = getattr(network, who)
    role = user.roles[0].name
    client = login(user)
    nord_vehicle, sud_vehicle = marked
    own = nord_vehicle if who.endswith("nord") else sud_vehicle
    foreign_marker = {"cdv_nord": "SUDMARKER", "vendeur_nord": "SUDMARKER",
                      "cdv_sud": "NORDMARKER", "vendeur_sud": "NORDMARKER"}.get(who)
    with app.test_request_context():
        pages = _pages(app, own.id)
    assert pages
    for endpoint, url in pages:
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code != 500, f"{url} as {who}: server error"
        if role in _allowed(endpoint):
            assert response.status_code in (200, 302), f"{url} as {who}: {response.status_code}"
            if response.status_code == 302:  # e.g. read-only roles sent back from a form; never to login
                assert "/auth/login" not in response.location, f"{url} as {who} sent to the login page"
        else:
            assert response.status_code == 403, f"{url} as {who} should be refused, got {response.status_code}"
        if foreign_marker:
            assert foreign_marker not in body, f"{url} as {who} shows another concession's vehicle"


def test_anonymous_visitors_are_sent_to_the_login_page(app, network, marked, client):
    with app.test_request_context():
        pages = _pages(app, marked[0].id)
    for endpoint, url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/auth/login" in response.location, url


@pytest.mark.parametrize("who", ["cdv_nord", "vendeur_nord"])
def test_a_row_of_another_concession_answers_404_on_every_route_and_is_never_changed(
        network, marked, login, who):
    client = login(getattr(network, who))
    _, sud = marked
    before = (sud.model, sud.mileage, sud.sale_price_ttc)
    assert client.get(f"/vehicles/details/?id={sud.id}").status_code == 404
    assert client.get(f"/vehicles/edit/?id={sud.id}").status_code == 404
    assert client.get(f"/vehicles/photos/{sud.id}/").status_code == 404
    response = client.form(f"/vehicles/edit/?id={sud.id}", {"model": "HACKED", "mileage": "1",
                                                            "entry_number": "S0001", "site": str(sud.site_id),
                                                            "make": "X", "entry_date": "2024-01-01",
                                                            "vat_rate": "20"})
    assert response.status_code == 404
    assert client.form("/vehicles/delete/", {"id": str(sud.id)}).status_code == 404
    assert client.form("/vehicles/action/", {"action": "delete", "rowid": [str(sud.id)]}).status_code == 404
    assert client.form("/vehicles/ajax/update/", {"list_form_pk": str(sud.id), "mileage": "2"}).status_code == 404
    assert client.form(f"/vehicles/photos/{sud.id}/", {"action": "delete", "photo_id": "1"}).status_code == 404
    db.session.expire_all()
    after = db.session.get(Vehicle, sud.id)
    assert after is not None
    assert (after.model, after.mileage, after.sale_price_ttc) == before


def test_exports_only_hold_the_users_concession(network, marked, login):
    client = login(network.cdv_nord)
    csv = client.get("/vehicles/export/csv/").get_data(as_text=True)
    assert "N0001" in csv and "S0001" not in csv
    xlsx = client.get("/vehicles/export/xlsx/")
    assert xlsx.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    rows = [[c.value for c in r] for r in load_workbook(BytesIO(xlsx.data)).active.iter_rows()]
    flat = {str(v) for row in rows for v in row}
    assert "N0001" in flat and "S0001" not in flat


def test_network_roles_see_every_concession(network, marked, login):
    body = login(network.filiale).get("/vehicles/").get_data(as_text=True)
    assert "NORDMARKER" in body and "SUDMARKER" in body


def test_site_choices_of_the_fiche_only_offer_the_users_sites(network, login):
    body = login(network.cdv_nord).get("/vehicles/new/").get_data(as_text=True)
    assert "GAP" in body and "DAINVILLE" in body
    assert "RENNES" not in body and "AGEN" not in body


def test_site_filter_only_offers_the_users_sites(network, login):
    body = login(network.cdv_nord).get("/vehicles/").get_data(as_text=True)
    assert "RENNES" not in body and "AGEN" not in body


def test_a_dealer_cannot_create_a_vehicle_on_another_concessions_site(network, login):
    client = login(network.cdv_nord)
    response = client.form("/vehicles/new/", {"entry_number": "X1", "site": str(network.rennes.id),
                                              "make": "PEUGEOT", "model": "208", "entry_date": "2026-01-02",
                                              "vat_rate": "20", "status": "ST", "destination": "retail",
                                              "affectation": "sale"})
    assert response.status_code == 200  # the form comes back with an error on the site
    assert db.session.query(Vehicle).count() == 0


def test_read_only_roles_cannot_change_a_vehicle(network, marked, login):
    nord, _ = marked
    client = login(network.filiale)
    response = client.form(f"/vehicles/edit/?id={nord.id}", {"model": "CHANGED"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Vehicle, nord.id).model == "NORDMARKER"


@pytest.mark.parametrize("url, expected", [
    ("/vehicles/edit/?id=99999999999999999999", 404), ("/vehicles/details/?id=ST,XX", 404),
    ("/users/edit/?id=ST,XX", 404), ("/concessions/details/?id=99999999999999999999", 404),
    ("/vehicles/?page=99999999999999999999", 200), ("/sites/?page=99999999999999999999", 200),
    ("/stock/retail/?concession=99999999999999999999", 200), ("/stock/retail/?site=99999999999999999999&score=1e999", 200),
    ("/campaigns/calendar/?page=99999999999999999999", 200),
])
def test_ids_nobody_could_mean_are_404_and_impossible_pages_show_the_list_never_a_500(network, login, url, expected):
    assert login(network.admin).get(url).status_code == expected


def test_a_pdf_for_an_impossible_concession_is_404(network, login):
    assert login(network.filiale).form("/reports/send/1/", {"concession": "99999999999999999999"}).status_code == 404
