"""Clicks on the per-vehicle media flags (§6.4): allowed ones are stored with their history, read-only ones
are refused with a message and change nothing."""
import pytest

from backoffice.extensions import db
from models.publication import MediumStateChange, VehicleMediumState


def _flag_click(client, vehicle, medium, target):
    return client.form(f"/publication/vehicle/{vehicle.id}/flag", {"medium_id": str(medium.id), "target": target},
                       follow_redirects=True)


def _state(vehicle, medium):
    row = db.session.query(VehicleMediumState).filter_by(vehicle_id=vehicle.id, medium_id=medium.id).one_or_none()
    return (row.state, row.admin_locked) if row else None


@pytest.mark.parametrize("target", ["D", "P"])
def test_a_selected_vehicle_is_deselected_or_prioritised_and_the_change_recorded(pub, login, target):
    vehicle = pub.nord_vehicles[0]
    client = login(pub.network.cdv_nord)
    body = client.get(f"/publication/vehicle/{vehicle.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state="S"' in body
    _flag_click(client, vehicle, pub.lbc, target)
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) == (target, False)
    change = db.session.query(MediumStateChange).one()
    assert (change.from_state, change.to_state, change.user_id) == (None, target, pub.network.cdv_nord.id)
    assert change.at is not None
    page = client.get(f"/publication/vehicle/{vehicle.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state="{target}"' in page
    assert "cdv.nord@test.example" in page or str(pub.network.cdv_nord) in page  # who, in the history


def test_priority_is_cancelled_back_to_selected(pub, login):
    vehicle = pub.nord_vehicles[0]
    client = login(pub.network.cdv_nord)
    _flag_click(client, vehicle, pub.lbc, "P")
    _flag_click(client, vehicle, pub.lbc, "S")
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) is None  # selected is the default in automatic mode
    assert [(c.from_state, c.to_state) for c in db.session.query(MediumStateChange).order_by(MediumStateChange.id)] \
        == [(None, "P"), ("P", None)]


def test_the_media_filter_flag_is_read_only(pub, login):
    vehicle = pub.nord_vehicles[2]  # no gearbox: LeBonCoin requires it
    client = login(pub.network.cdv_nord)
    page = client.get(f"/publication/vehicle/{vehicle.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state="FM"' in page
    assert "véhicule sans type de boîte de renseigné" in page
    for target in ("P", "S", "D"):
        body = _flag_click(client, vehicle, pub.lbc, target).get_data(as_text=True)
        assert "filtre média" in body
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) is None
    assert db.session.query(MediumStateChange).count() == 0


def test_a_custom_filtered_vehicle_can_only_be_prioritised(pub, login):
    pub.nord_config.filter_min_score = 6
    db.session.commit()
    vehicle = pub.nord_vehicles[1]  # score 5
    client = login(pub.network.cdv_nord)
    page = client.get(f"/publication/vehicle/{vehicle.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state="F"' in page
    body = _flag_click(client, vehicle, pub.lbc, "D").get_data(as_text=True)
    assert "non autorisé" in body
    assert _state(vehicle, pub.lbc) is None
    _flag_click(client, vehicle, pub.lbc, "P")
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) == ("P", False)
    page = client.get(f"/publication/vehicle/{vehicle.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state="P"' in page  # priority beats the custom filter


def test_a_selection_imposed_by_the_admin_is_read_only_for_dealers_but_not_for_admins(pub, login):
    pub.nord_config.admin_imposed_selection = True
    db.session.commit()
    vehicle = pub.nord_vehicles[0]
    dealer = login(pub.network.cdv_nord)
    page = dealer.get(f"/publication/vehicle/{vehicle.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state="SA"' in page
    body = _flag_click(dealer, vehicle, pub.lbc, "D").get_data(as_text=True)
    assert "sélection imposée par l&#39;administrateur" in body or "sélection imposée par l'administrateur" in body
    assert _state(vehicle, pub.lbc) is None and db.session.query(MediumStateChange).count() == 0
    admin = login(pub.network.admin)
    _flag_click(admin, vehicle, pub.lbc, "D")
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) == ("D", True)
    change = db.session.query(MediumStateChange).one()
    assert (change.to_state, change.to_locked, change.user_id) == ("D", True, pub.network.admin.id)


def test_manual_selection_shows_d_and_a_click_selects(pub, login):
    pub.nord_config.selection_mode = "manual"
    db.session.commit()
    vehicle = pub.nord_vehicles[0]
    client = login(pub.network.cdv_nord)
    page = client.get(f"/publication/vehicle/{vehicle.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state="D"' in page
    _flag_click(client, vehicle, pub.lbc, "S")
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) == ("S", False)


def test_an_unknown_target_or_medium_changes_nothing(pub, login):
    vehicle = pub.nord_vehicles[0]
    client = login(pub.network.cdv_nord)
    assert _flag_click(client, vehicle, pub.lbc, "X").status_code == 200
    response = client.form(f"/publication/vehicle/{vehicle.id}/flag", {"medium_id": "999999", "target": "D"})
    assert response.status_code == 404
    response = client.form(f"/publication/vehicle/{vehicle.id}/flag", {"medium_id": "abc", "target": "D"})
    assert response.status_code == 404
    assert db.session.query(VehicleMediumState).count() == 0
    assert db.session.query(MediumStateChange).count() == 0


def test_one_click_deselects_then_selects_every_medium_of_a_vehicle(pub, login):
    vehicle = pub.nord_vehicles[0]
    client = login(pub.network.cdv_nord)
    client.form(f"/publication/vehicle/{vehicle.id}/all", {"select": "0"})
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) == ("D", False) and _state(vehicle, pub.site) == ("D", False)
    assert db.session.query(MediumStateChange).count() == 2
    client.form(f"/publication/vehicle/{vehicle.id}/all", {"select": "1"})
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) is None and _state(vehicle, pub.site) is None
    assert db.session.query(MediumStateChange).count() == 4


def test_select_all_leaves_read_only_flags_alone(pub, login):
    vehicle = pub.nord_vehicles[2]  # FM on LeBonCoin, S on Site Concession
    client = login(pub.network.cdv_nord)
    body = client.form(f"/publication/vehicle/{vehicle.id}/all", {"select": "0"},
                       follow_redirects=True).get_data(as_text=True)
    assert "1 média(s) modifié(s)" in body
    db.session.expire_all()
    assert _state(vehicle, pub.lbc) is None and _state(vehicle, pub.site) == ("D", False)


def test_the_media_column_provider_renders_flags_set_wise(pub, login, app):
    from flask_login import login_user

    from views.media_flags import render_media_flags

    ids = [v.id for v in pub.nord_vehicles]
    with app.test_request_context("/vehicles/"):
        login_user(pub.network.cdv_nord)
        cells = render_media_flags(ids)
        legend = render_media_flags.legend()
    assert set(cells) == set(ids)
    first = str(cells[ids[0]])
    assert f'data-testid="flag-{ids[0]}-{pub.lbc.id}" data-state="S"' in first
    assert f"flag-{ids[0]}-{pub.lbc.id}-to-D" in first  # clickable: deselect or prioritise
    third = str(cells[ids[2]])
    assert 'data-state="FM"' in third and f"flag-{ids[2]}-{pub.lbc.id}-to-" not in third
    assert "filtre média" in str(legend)


def test_the_stock_list_media_column_shows_clickable_flags_and_a_click_comes_back(pub, login):
    vehicle = pub.nord_vehicles[0]
    client = login(pub.network.cdv_nord)
    body = client.get("/stock/retail/").get_data(as_text=True)
    assert f'data-testid="flag-{vehicle.id}-{pub.lbc.id}"' in body
    assert f'data-testid="flag-{vehicle.id}-{pub.lbc.id}-to-D"' in body
    response = client.form(f"/publication/vehicle/{vehicle.id}/flag",
                           {"medium_id": str(pub.lbc.id), "target": "D", "next": "/stock/retail/"})
    assert response.status_code == 302 and response.location.endswith("/stock/retail/")
    body = client.get("/stock/retail/").get_data(as_text=True)
    assert f'data-testid="flag-{vehicle.id}-{pub.lbc.id}" data-state="D"' in body
    foreign = client.form(f"/publication/vehicle/{vehicle.id}/flag",
                          {"medium_id": str(pub.lbc.id), "target": "S", "next": "https://evil.example/"})
    assert foreign.location.endswith(f"/publication/vehicle/{vehicle.id}/")  # no open redirect


def test_flags_of_a_page_of_vehicles_equal_the_flags_of_a_whole_concession_run(pub, app):
    """The stock list decides only its page's vehicles: same flags as deciding the whole stock."""
    from views.media_flags import vehicle_flags

    pub.nord_config.limit_mode, pub.nord_config.limit_value = "global", 1  # N200 stopped by the limit
    pub.nord_config.filter_min_score = 3  # N300 (score 2) would fail it, but its missing gearbox comes first
    db.session.add(VehicleMediumState(vehicle_id=pub.nord_vehicles[0].id, medium_id=pub.site.id,
                                      concession_id=pub.network.nord.id, state="P"))
    db.session.commit()
    ids = [v.id for v in pub.nord_vehicles]
    whole = vehicle_flags(ids, exact=True)
    for vid in ids:
        page = vehicle_flags([vid], exact=False)[vid]
        assert [(f.medium_id, f.display, f.locked, f.targets) for f in page] == \
            [(f.medium_id, f.display, f.locked, f.targets) for f in whole[vid]]
    n200 = {f.medium_id: f for f in whole[pub.nord_vehicles[1].id]}
    assert (n200[pub.lbc.id].outcome, n200[pub.lbc.id].display) == ("limit_reached", "S")
    assert {f.medium_id: f.display for f in whole[pub.nord_vehicles[0].id]}[pub.site.id] == "P"


def test_a_vehicle_outside_the_mediums_lists_has_no_flag_to_click(pub, factories, login):
    trade = factories.vehicle(pub.network.gap, entry_number="T100", destination="trade")
    client = login(pub.network.cdv_nord)
    page = client.get(f"/publication/vehicle/{trade.id}/").get_data(as_text=True)
    assert f'data-testid="state-{pub.lbc.id}" data-state=""' in page
    body = _flag_click(client, trade, pub.lbc, "D").get_data(as_text=True)
    assert "dans aucune liste inscrite" in body
    assert db.session.query(VehicleMediumState).count() == 0
