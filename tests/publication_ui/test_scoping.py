"""A dealer manager sees and changes only their concession's lists, contacts, configurations and states;
media definitions are the admins' (§1, §6)."""
from backoffice.extensions import db
from models.publication import Contact, Medium, MediumConfig, MediumStateChange, PublicationList, VehicleMediumState


def _contact(concession, name, **fields):
    contact = Contact(concession_id=concession.id, name=name, phone="01 47 28 44 25", **fields)
    db.session.add(contact)
    db.session.commit()
    return contact


def test_lists_page_shows_only_the_dealers_concession(pub, login):
    body = login(pub.network.cdv_nord).get("/publication/lists/").get_data(as_text=True)
    assert "Concession du Nord" in body and "PE05" in body
    assert "Concession du Sud" not in body and "RE35" not in body
    admin = login(pub.network.admin).get("/publication/lists/").get_data(as_text=True)
    assert "Concession du Nord" in admin and "Concession du Sud" in admin


def test_another_concessions_list_answers_404_and_is_never_changed(pub, login):
    client = login(pub.network.cdv_nord)
    sud_id = pub.sud_list.id
    assert client.get(f"/publication/lists/details/?id={sud_id}").status_code == 404
    assert client.get(f"/publication/lists/edit/?id={sud_id}").status_code == 404
    response = client.form(f"/publication/lists/edit/?id={sud_id}", {"name": "HACKED", "codes": "X1"})
    assert response.status_code == 404
    assert client.form("/publication/lists/delete/", {"id": str(sud_id)}).status_code == 404
    db.session.expire_all()
    row = db.session.get(PublicationList, sud_id)
    assert (row.name, row.codes) == ("Concession du Sud", "RE35")


def test_a_dealer_edits_their_list_codes(pub, login):
    client = login(pub.network.cdv_nord)
    response = client.form(f"/publication/lists/edit/?id={pub.nord_list.id}",
                           {"name": "Concession du Nord", "codes": "pe05, au62 GA01",
                            "sites": [str(pub.network.gap.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(PublicationList, pub.nord_list.id)
    assert row.code_list == ["PE05", "AU62", "GA01"]
    assert [s.name for s in row.sites] == ["GAP"]


def test_a_list_cannot_take_a_site_of_another_concession(pub, login):
    client = login(pub.network.cdv_nord)
    response = client.form("/publication/lists/new/", {"name": "Mixte", "codes": "MX01",
                                                       "sites": [str(pub.network.rennes.id)]})
    assert response.status_code == 200
    assert "hors de votre périmètre" in response.get_data(as_text=True)
    assert db.session.query(PublicationList).filter_by(name="Mixte").count() == 0


def test_bad_list_codes_are_refused_with_a_message(pub, login):
    client = login(pub.network.cdv_nord)
    response = client.form("/publication/lists/new/", {"name": "Nouvelle", "codes": "PE05 <b>",
                                                       "sites": [str(pub.network.gap.id)]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Code(s) de liste invalide(s)" in body
    assert db.session.query(PublicationList).filter_by(name="Nouvelle").count() == 0


def test_a_dealer_creates_a_list_in_their_concession(pub, login):
    client = login(pub.network.cdv_nord)
    response = client.form("/publication/lists/new/", {"name": "Vitrine", "codes": "VI01",
                                                       "sites": [str(pub.network.dainville.id)]})
    assert response.status_code == 302
    row = db.session.query(PublicationList).filter_by(name="Vitrine").one()
    assert row.concession_id == pub.network.nord.id


def test_contacts_are_scoped_like_lists(pub, login):
    nord = _contact(pub.network.nord, "Bernard Fouineau")
    sud = _contact(pub.network.sud, "Florent Dumas")
    client = login(pub.network.cdv_nord)
    body = client.get("/publication/contacts/").get_data(as_text=True)
    assert "Bernard Fouineau" in body and "Florent Dumas" not in body
    assert client.get(f"/publication/contacts/edit/?id={sud.id}").status_code == 404
    assert client.form(f"/publication/contacts/edit/?id={sud.id}", {"name": "HACKED"}).status_code == 404
    assert client.form("/publication/contacts/delete/", {"id": str(sud.id)}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Contact, sud.id).name == "Florent Dumas"
    assert client.get(f"/publication/contacts/edit/?id={nord.id}").status_code == 200


def test_a_contact_is_created_with_its_lists_media_makes_and_statuses(pub, login):
    client = login(pub.network.cdv_nord)
    response = client.form("/publication/contacts/new/", {
        "name": "Florent Dumas", "phone": "01 58 03 96 20", "mobile": "06 02 10 98 81",
        "email": "florent.dumas@mongarage.fr", "publication_lists": [str(pub.nord_list.id)],
        "media": [str(pub.lbc.id)], "makes": "citroen, Peugeot", "statuses": ["ST"]})
    assert response.status_code == 302
    contact = db.session.query(Contact).one()
    assert contact.concession_id == pub.network.nord.id
    assert contact.makes == ["CITROEN", "PEUGEOT"] and contact.statuses == ["ST"]
    assert [m.code for m in contact.media] == ["lbc"]


def test_a_contact_needs_a_way_to_be_reached_and_valid_fields(pub, login):
    client = login(pub.network.cdv_nord)
    response = client.form("/publication/contacts/new/", {"name": "Sans numéro", "email": "pas-un-email"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Adresse e-mail invalide" in body
    response = client.form("/publication/contacts/new/", {"name": "Sans numéro"})
    assert "Indiquez au moins un téléphone" in response.get_data(as_text=True)
    assert db.session.query(Contact).count() == 0


def test_media_definitions_are_admin_only(pub, login):
    client = login(pub.network.cdv_nord)
    assert client.get("/publication/media/").status_code == 403
    assert client.get("/publication/media/new/").status_code == 403
    response = client.form("/publication/media/new/", {"name": "X", "code": "x", "delivery_target": "/tmp/x"})
    assert response.status_code == 403
    assert client.form(f"/publication/media/edit/?id={pub.lbc.id}", {"name": "HACKED"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Medium, pub.lbc.id).name == "LeBonCoin Test"
    assert db.session.query(Medium).count() == 2


def test_an_admin_defines_a_medium_with_mandatory_fields_and_delivery(pub, login):
    client = login(pub.network.admin)
    response = client.form("/publication/media/new/", {
        "name": "La Centrale", "code": "lacentrale", "kind": "classified", "destination": "retail",
        "feed_format": "generic_csv", "delivery_kind": "http", "delivery_target": "https://feeds.example/in",
        "mandatory_fields": ["gearbox", "photo"], "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    medium = db.session.query(Medium).filter_by(code="lacentrale").one()
    assert medium.mandatory_fields == ["gearbox", "photo"] and medium.delivery_kind == "http"


def test_medium_form_errors_are_shown_and_nothing_saved(pub, login):
    client = login(pub.network.admin)
    response = client.form("/publication/media/new/", {
        "name": "Doublon", "code": "LBC", "kind": "classified", "destination": "retail",
        "feed_format": "generic_csv", "delivery_kind": "http", "delivery_target": "/pas/une/url"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Une livraison HTTP demande une URL" in body and "déjà utilisé" in body
    assert db.session.query(Medium).count() == 2


def test_configuration_of_another_concession_answers_404(pub, login):
    client = login(pub.network.cdv_nord)
    sud = pub.network.sud.id
    assert client.get(f"/publication/config/?concession={sud}").status_code == 404
    assert client.get(f"/publication/config/medium/{pub.lbc.id}/?concession={sud}").status_code == 404
    response = client.form(f"/publication/config/medium/{pub.lbc.id}/?concession={sud}",
                           {"selection_mode": "manual", "limit_mode": "global", "limit_value": "1",
                            "ordering": "score", "save": "1"})
    assert response.status_code == 404
    db.session.expire_all()
    config = db.session.get(MediumConfig, pub.sud_config.id)
    assert (config.selection_mode, config.limit_mode) == ("auto", "none")
    body = client.get("/publication/config/").get_data(as_text=True)
    assert "Concession du Nord" in body and "Concession du Sud" not in body


def test_admin_picks_any_concession(pub, login):
    client = login(pub.network.admin)
    body = client.get(f"/publication/config/?concession={pub.network.sud.id}").get_data(as_text=True)
    assert "Concession du Sud" in body and 'data-testid="concession-selector"' in body


def test_states_of_another_concessions_vehicle_answer_404_and_change_nothing(pub, login):
    client = login(pub.network.cdv_nord)
    sud_vehicle = pub.sud_vehicles[0]
    assert client.get(f"/publication/vehicle/{sud_vehicle.id}/").status_code == 404
    response = client.form(f"/publication/vehicle/{sud_vehicle.id}/flag", {"medium_id": str(pub.lbc.id),
                                                                           "target": "D"})
    assert response.status_code == 404
    assert client.form(f"/publication/vehicle/{sud_vehicle.id}/all", {"select": "0"}).status_code == 404
    assert db.session.query(VehicleMediumState).count() == 0
    assert db.session.query(MediumStateChange).count() == 0


def test_state_history_page_shows_only_the_scope(pub, login):
    db.session.add_all([
        MediumStateChange(vehicle_id=pub.nord_vehicles[0].id, medium_id=pub.lbc.id,
                          concession_id=pub.network.nord.id, from_state=None, to_state="D"),
        MediumStateChange(vehicle_id=pub.sud_vehicles[0].id, medium_id=pub.lbc.id,
                          concession_id=pub.network.sud.id, from_state=None, to_state="P")])
    db.session.commit()
    body = login(pub.network.cdv_nord).get("/publication/vehicle/").get_data(as_text=True)
    assert "N100" in body and "SUDMARKER" not in body and "S100" not in body


def test_sellers_read_flags_but_cannot_click(pub, login):
    client = login(pub.network.vendeur_nord)
    vehicle = pub.nord_vehicles[0]
    assert client.get(f"/publication/vehicle/{vehicle.id}/").status_code == 200
    response = client.form(f"/publication/vehicle/{vehicle.id}/flag", {"medium_id": str(pub.lbc.id), "target": "D"})
    assert response.status_code == 403
    assert db.session.query(VehicleMediumState).count() == 0


def test_a_dealer_deletes_their_list_with_its_subscriptions(pub, login):
    from models.publication import ListSubscription

    contact = _contact(pub.network.nord, "Bernard Fouineau")
    contact.publication_lists = [pub.nord_list]
    db.session.commit()
    client = login(pub.network.cdv_nord)
    response = client.form("/publication/lists/delete/", {"id": str(pub.nord_list.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(PublicationList, pub.nord_list.id) is None
    assert db.session.query(ListSubscription).filter_by(publication_list_id=pub.nord_list.id).count() == 0
    assert db.session.get(Contact, contact.id).publication_lists == []
    assert db.session.get(PublicationList, pub.sud_list.id) is not None


def test_an_admin_deletes_a_medium_and_the_screens_still_work(pub, login):
    client = login(pub.network.admin)
    response = client.form("/publication/media/delete/", {"id": str(pub.site.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Medium, pub.site.id) is None
    assert client.get("/publication/config/").status_code == 200
    assert client.get("/remarketing/").status_code == 200


def test_detail_and_edit_pages_open_for_own_rows(pub, login):
    contact = _contact(pub.network.nord, "Bernard Fouineau", makes=["PEUGEOT"], statuses=["ST"])
    client = login(pub.network.cdv_nord)
    for url in (f"/publication/lists/details/?id={pub.nord_list.id}", f"/publication/lists/edit/?id={pub.nord_list.id}",
                f"/publication/contacts/details/?id={contact.id}", "/publication/lists/new/",
                "/publication/contacts/new/"):
        assert client.get(url).status_code == 200, url
    edit = client.get(f"/publication/contacts/edit/?id={contact.id}").get_data(as_text=True)
    assert 'value="PEUGEOT"' in edit  # makes shown as typed text
    admin = login(pub.network.admin)
    for url in (f"/publication/media/details/?id={pub.lbc.id}", f"/publication/media/edit/?id={pub.lbc.id}",
                "/publication/media/new/", "/publication/media/export/csv/", "/publication/lists/export/csv/",
                "/publication/contacts/export/csv/"):
        assert admin.get(url).status_code == 200, url


def test_exports_hold_only_the_dealers_rows(pub, login):
    _contact(pub.network.nord, "Bernard Fouineau")
    _contact(pub.network.sud, "Florent Dumas")
    client = login(pub.network.cdv_nord)
    lists = client.get("/publication/lists/export/csv/").get_data(as_text=True)
    assert "PE05" in lists and "RE35" not in lists
    contacts = client.get("/publication/contacts/export/csv/").get_data(as_text=True)
    assert "Bernard Fouineau" in contacts and "Florent Dumas" not in contacts


def test_a_dealer_of_two_concessions_chooses_the_concession_of_a_list(pub, factories, login):
    both = factories.user("dealer_manager", [pub.network.nord, pub.network.sud], email="cdv.both@test.example")
    client = login(both)
    body = client.get("/publication/lists/").get_data(as_text=True)
    assert "Concession du Nord" in body and "Concession du Sud" in body
    response = client.form("/publication/lists/new/", {"concession": str(pub.network.sud.id), "name": "Bretagne",
                                                       "codes": "BR01", "sites": [str(pub.network.gap.id)]})
    assert "n&#39;appartiennent pas" in response.get_data(as_text=True) or \
        "n'appartiennent pas" in response.get_data(as_text=True)
    response = client.form("/publication/lists/new/", {"concession": str(pub.network.sud.id), "name": "Bretagne",
                                                       "codes": "BR01", "sites": [str(pub.network.rennes.id)]})
    assert response.status_code == 302
    assert db.session.query(PublicationList).filter_by(name="Bretagne").one().concession_id == pub.network.sud.id
    page = client.get("/publication/config/").get_data(as_text=True)
    assert 'data-testid="concession-selector"' in page


def test_a_mediums_mandatory_fields_always_include_what_its_feed_format_requires(pub, login):
    from jobs.feeds import required_vehicle_fields

    client = login(pub.network.admin)
    response = client.form("/publication/media/new/", {
        "name": "Google VL", "code": "google", "kind": "classified", "destination": "retail",
        "feed_format": "google_vehicle_listings", "delivery_kind": "folder", "delivery_target": "feeds/google",
        "mandatory_fields": ["photo"], "active": "y"})
    assert response.status_code == 302
    medium = db.session.query(Medium).filter_by(code="google").one()
    assert medium.mandatory_fields[0] == "photo"
    assert set(required_vehicle_fields("google_vehicle_listings")) <= set(medium.mandatory_fields)
