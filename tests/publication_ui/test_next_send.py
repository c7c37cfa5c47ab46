""""Prochain envoi" on the publication dashboard: a dry run of the send for the user's scope."""
import re

from backoffice.extensions import db
from models.publication import MediumStateChange, VehicleMediumState


def _to_send(body, medium):
    m = re.search(rf'data-testid="to-send-{medium.id}">\s*(\d+) vo à envoyer', body)
    assert m, "no 'prochain envoi' figure for " + medium.name
    return int(m.group(1))


def _detail(body, medium):
    m = re.search(rf'data-testid="detail-{medium.id}">(.*?)</tr>', body, re.S)
    return [int(x) for x in re.findall(r'<td class="text-right">(\d+)</td>', m.group(1))]


def test_dealer_sees_the_next_send_of_their_concession_only(pub, login):
    body = login(pub.network.cdv_nord).get("/remarketing/").get_data(as_text=True)
    assert "Prochain envoi" in body
    assert _to_send(body, pub.lbc) == 2  # N100, N200 (N300 lacks the gearbox); the Sud vehicle is not counted
    # filtrés, filtrés perso, désélectionnés, non sélectionnés, sélectionnés, prioritaires, limite atteinte
    assert _detail(body, pub.lbc) == [1, 0, 0, 0, 2, 0, 0]
    assert _to_send(body, pub.site) == 3
    assert "SUDMARKER" not in body


def test_network_users_see_every_concession(pub, login):
    body = login(pub.network.admin).get("/remarketing/").get_data(as_text=True)
    assert _to_send(body, pub.lbc) == 3


def test_states_and_limits_change_the_next_send(pub, login):
    client = login(pub.network.cdv_nord)
    first, second = pub.nord_vehicles[0], pub.nord_vehicles[1]
    client.form(f"/publication/vehicle/{first.id}/flag", {"medium_id": str(pub.lbc.id), "target": "D"})
    client.form(f"/publication/vehicle/{second.id}/flag", {"medium_id": str(pub.lbc.id), "target": "P"})
    body = client.get("/remarketing/").get_data(as_text=True)
    assert _to_send(body, pub.lbc) == 1
    assert _detail(body, pub.lbc) == [1, 0, 1, 0, 0, 1, 0]
    assert db.session.query(VehicleMediumState).count() == 2
    assert db.session.query(MediumStateChange).count() == 2
    pub.nord_config.limit_mode, pub.nord_config.limit_value = "global", 0
    db.session.commit()
    body = client.get("/remarketing/").get_data(as_text=True)
    assert _to_send(body, pub.lbc) == 0
    assert _detail(body, pub.lbc)[-1] == 1  # the prioritised vehicle is stopped by the limit


def test_site_selection_restricts_the_next_send(pub, login):
    client = login(pub.network.cdv_nord)
    body = client.get(f"/remarketing/?where=s{pub.network.dainville.id}").get_data(as_text=True)
    assert _to_send(body, pub.site) == 1  # only N300 stands at DAINVILLE


def test_network_wide_runs_are_cached_for_a_while_a_concessions_never(pub, login, app):
    from views import next_send

    app.config["PUBLICATION_NEXT_SEND_CACHE_SECONDS"] = 600
    next_send._NEXT_SEND_CACHE.clear()
    try:
        admin, dealer = login(pub.network.admin), login(pub.network.cdv_nord)
        assert _to_send(admin.get("/remarketing/").get_data(as_text=True), pub.lbc) == 3
        dealer.form(f"/publication/vehicle/{pub.nord_vehicles[0].id}/flag",
                    {"medium_id": str(pub.lbc.id), "target": "D"})
        assert _to_send(dealer.get("/remarketing/").get_data(as_text=True), pub.lbc) == 1
        assert _to_send(admin.get("/remarketing/").get_data(as_text=True), pub.lbc) == 3  # cached
        next_send._NEXT_SEND_CACHE.clear()
        assert _to_send(admin.get("/remarketing/").get_data(as_text=True), pub.lbc) == 2
    finally:
        app.config.pop("PUBLICATION_NEXT_SEND_CACHE_SECONDS")
        next_send._NEXT_SEND_CACHE.clear()
