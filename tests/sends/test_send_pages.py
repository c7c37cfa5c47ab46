"""Send pages: history, report, sent/filtered lists, VO search, progress, scoping and confirmations."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from jobs.send import start_send
from models.send import HELD, SendMedium, SendRun


@pytest.fixture
def sent(network, factories, publication, feed_folder):
    """A finished send: NORD's VO 2029 lacks a gearbox for UbiFlow; SUD has its own VO 9001."""
    nord_ok = factories.vehicle(network.gap, entry_number="1937", model="NORDMARKER", photo_count=2)
    nord_bad = factories.vehicle(network.gap, entry_number="2029", model="NORDMARKER", gearbox=None,
                                 body_category=None, photo_count=2)
    sud = factories.vehicle(network.rennes, entry_number="9001", model="SUDMARKER", photo_count=2)
    ubiflow = publication.medium("UBI", "generic_xml", [network.nord, network.sud], name="Applications UbiFlow",
                                 mandatory=["gearbox", "body_category"])
    eden = publication.medium("EDEN", "generic_csv", [network.nord, network.sud], name="eden-auto.com")
    run_id = start_send(user_id=network.admin.id)
    return dict(run_id=run_id, nord_ok=nord_ok, nord_bad=nord_bad, sud=sud, ubiflow=ubiflow, eden=eden)


def sm_of(run_id, medium):
    return db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id,
                                                       SendMedium.medium_id == medium.id)).scalar_one()


def test_history_lists_bilans_with_their_date(network, sent, login):
    body = login(network.cdv_nord).get("/sends/").get_data(as_text=True)
    assert "Bilan du " in body and " à " in body
    assert f"/sends/run/{sent['run_id']}/" in body


def test_the_report_shows_per_medium_list_codes_sent_and_filtered(network, sent, login):
    body = login(network.admin).get(f"/sends/run/{sent['run_id']}/").get_data(as_text=True)
    assert "Applications UbiFlow" in body and "eden-auto.com" in body
    assert "bm11c1nord, bm11c1sud" in body
    ubi = sm_of(sent["run_id"], sent["ubiflow"])
    assert (ubi.sent_count, ubi.filtered_count) == (2, 1)


def test_searching_a_vo_tells_where_it_went_and_why_not(network, sent, login):
    body = login(network.cdv_nord).get(f"/sends/run/{sent['run_id']}/?ref=2029").get_data(as_text=True)
    assert "VO 2029 filtré sur Applications UbiFlow pour 2 raisons" in body
    assert "VO 2029 diffusé sur eden-auto.com" in body
    assert "véhicule sans type de boîte de renseigné" in body


def test_a_dealer_never_finds_another_concessions_vo(network, sent, login):
    body = login(network.cdv_nord).get(f"/sends/run/{sent['run_id']}/?ref=9001").get_data(as_text=True)
    assert "VO 9001 diffusé" not in body and "Aucun VO 9001" in body
    body = login(network.cdv_sud).get(f"/sends/run/{sent['run_id']}/?ref=9001").get_data(as_text=True)
    assert "VO 9001 diffusé sur eden-auto.com" in body


def test_sent_and_filtered_lists_hold_the_report_columns_and_only_the_dealers_rows(network, sent, login):
    eden = sm_of(sent["run_id"], sent["eden"])
    ubi = sm_of(sent["run_id"], sent["ubiflow"])
    nord = login(network.vendeur_nord)
    body = nord.get(f"/sends/medium/{eden.id}/sent/").get_data(as_text=True)
    assert "1937" in body and "2029" in body and "9001" not in body and "SUDMARKER" not in body
    assert "Téléphone" in body and "Nb Photo" in body
    body = nord.get(f"/sends/medium/{ubi.id}/filtered/").get_data(as_text=True)
    assert "2029" in body and "véhicule sans catégorie de renseignée" in body
    sud = login(network.cdv_sud).get(f"/sends/medium/{eden.id}/sent/").get_data(as_text=True)
    assert "9001" in sud and "NORDMARKER" not in sud


def test_dealer_counts_in_the_report_are_their_own(network, sent, login):
    body = login(network.cdv_sud).get(f"/sends/run/{sent['run_id']}/").get_data(as_text=True)
    eden = sm_of(sent["run_id"], sent["eden"])
    # Sud has one vehicle sent on eden; the network total (3) is not shown to them.
    assert f'href="/sends/medium/{eden.id}/sent/">1<' in body


def test_the_vehicle_page_answers_why_and_another_concessions_vehicle_is_404(network, sent, login):
    nord = login(network.cdv_nord)
    body = nord.get(f"/sends/vehicle/{sent['nord_bad'].id}/").get_data(as_text=True)
    assert "VO 2029 filtré sur Applications UbiFlow pour 2 raisons" in body
    assert nord.get(f"/sends/vehicle/{sent['sud'].id}/").status_code == 404


def test_progress_is_served_as_json(network, sent, login):
    data = login(network.admin).get(f"/sends/run/{sent['run_id']}/progress.json").get_json()
    assert data["done"] == data["total"] == 2 and data["finished"] is True
    assert login(network.admin).get("/sends/run/999999/progress.json").status_code == 404


def test_only_send_runners_start_a_send(network, factories, publication, feed_folder, login):
    factories.vehicle(network.gap)
    publication.medium("EDEN", "generic_csv", [network.nord])
    assert login(network.cdv_nord).form("/sends/start").status_code == 403
    assert db.session.execute(select(SendRun)).first() is None
    response = login(network.admin).form("/sends/start")
    assert response.status_code == 302
    run = db.session.execute(select(SendRun)).scalar_one()
    assert run.requested_by_id == network.admin.id and run.status == "done"


def test_the_dashboard_panels_show_the_last_send_and_a_held_medium_to_confirm(network, factories, publication,
                                                                             feed_folder, login):
    from views.remarketing import PUBLICATION_PANELS
    from views.sends import panel_history, panel_last_detail, panel_last_send

    assert {panel_last_send, panel_last_detail, panel_history} <= set(PUBLICATION_PANELS)
    car = factories.vehicle(network.gap)
    publication.medium("EDEN", "generic_csv", [network.nord], name="eden-auto.com")
    start_send()
    car.status = "VND"
    db.session.commit()
    run_id = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id)).scalar_one()
    assert sm.status == HELD
    admin = login(network.admin)
    body = admin.get("/remarketing/").get_data(as_text=True)
    report = admin.get(f"/sends/run/{run_id}/").get_data(as_text=True)
    assert "Le flux serait vide" in report and "Confirmer la publication" in report
    assert "Dernier envoi" in body and "il y a" in body and "Confirmer la publication" in body
    assert "Historique des bilans d&#39;envoi" in body or "Historique des bilans d'envoi" in body
    assert "Confirmer la publication" not in login(network.cdv_nord).get(f"/sends/run/{run_id}/").get_data(
        as_text=True)
    assert login(network.cdv_nord).form(f"/sends/medium/{sm.id}/confirm").status_code == 403
    response = admin.form(f"/sends/medium/{sm.id}/confirm", {"next": f"/sends/run/{run_id}/"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SendMedium, sm.id).status == "done"


def test_a_too_long_reference_is_refused_with_a_message(network, sent, login):
    response = login(network.admin).get(f"/sends/run/{sent['run_id']}/?ref={'9' * 30}")
    assert response.status_code == 200
    assert "20 caractères au plus" in response.get_data(as_text=True)


def test_unknown_reports_are_404(network, login):
    admin = login(network.admin)
    assert admin.get("/sends/run/424242/").status_code == 404
    assert admin.get("/sends/medium/424242/sent/").status_code == 404


def test_the_home_page_shows_the_last_send_to_report_readers(network, sent, login):
    body = login(network.vendeur_nord).get("/").get_data(as_text=True)
    assert 'data-testid="send-home"' in body and "Dernier envoi" in body
    assert 'data-testid="send-home"' not in login(network.validator).get("/").get_data(as_text=True)


def test_the_report_is_translated_to_english(network, sent, login):
    client = login(network.admin)
    client.form("/lang/en", {"next": "/sends/"})
    body = client.get(f"/sends/run/{sent['run_id']}/?ref=2029").get_data(as_text=True)
    assert "Vehicles sent" in body and "Vehicle 2029 filtered on Applications UbiFlow for 2 reasons" in body
