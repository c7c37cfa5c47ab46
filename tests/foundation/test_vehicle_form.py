"""The fiche VO: bad input gets a clear message next to the field and nothing is written (§2)."""
import html
import io

import pytest
from PIL import Image

from backoffice.extensions import db
from models import PriceChange, Vehicle, VehiclePhoto


def _fiche(site_obj, **overrides):
    data = {"entry_number": "12345", "site": str(site_obj.id), "status": "ST", "affectation": "sale",
            "destination": "retail", "make": "PEUGEOT", "model": "208", "entry_date": "2026-10-01",
            "vat_rate": "20", "sale_price_ttc": "15990", "mileage": "42000", "vin": "VF3ABCDEFGH123456",
            "registration": "AB-123-CD"}
    data.update(overrides)
    return data


def test_a_valid_fiche_is_saved_with_its_price_dated_and_in_history(network, login):
    client = login(network.cdv_nord)
    response = client.form("/vehicles/new/", _fiche(network.gap))
    assert response.status_code == 302
    vehicle = db.session.query(Vehicle).one()
    assert vehicle.concession_id == network.nord.id  # stamped from the site
    assert str(vehicle.sale_price_ttc) == "15990.00"
    assert str(vehicle.sale_price_ht) == "13325.00"
    assert vehicle.price_changed_on is not None
    assert [str(c.new_price) for c in vehicle.price_changes] == ["15990.00"]


@pytest.mark.parametrize("field, value, message", [
    ("sale_price_ttc", "-100", "Le montant ne peut pas être négatif."),
    ("purchase_price", "-1", "Le montant ne peut pas être négatif."),
    ("mileage", "douze mille", "entier"),
    ("mileage", "-5", "Le kilométrage ne peut pas être négatif."),
    ("vin", "VF3ABCDEFGH12345", "Le VIN doit comporter exactement 17 caractères"),
    ("registration", "123-ABC", "Immatriculation invalide"),
    ("site", "999999", "Choix incorrect"),
    ("make", "", "La marque est obligatoire."),
    ("entry_date", "31/02/2026", "date"),
])
def test_bad_input_is_refused_next_to_the_field_and_nothing_is_written(network, login, field, value, message):
    client = login(network.cdv_nord)
    response = client.form("/vehicles/new/", _fiche(network.gap, **{field: value}))
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert message.lower() in body.lower()
    assert db.session.query(Vehicle).count() == 0
    assert db.session.query(PriceChange).count() == 0


def test_a_duplicate_entry_number_in_the_same_concession_is_refused(network, factories, login):
    factories.vehicle(network.dainville, entry_number="777")
    response = login(network.cdv_nord).form("/vehicles/new/", _fiche(network.gap, entry_number="777"))
    assert "Ce numéro d'entrée existe déjà dans la concession." in html.unescape(response.get_data(as_text=True))
    assert db.session.query(Vehicle).count() == 1


def test_changing_the_price_records_history_and_resets_price_age(network, factories, login):
    import datetime as dt

    vehicle = factories.vehicle(network.gap, price_changed_on=dt.date.today() - dt.timedelta(days=90))
    client = login(network.vendeur_nord)
    data = _fiche(network.gap, entry_number=vehicle.entry_number, sale_price_ttc="13490", vin=vehicle.vin,
                  registration=vehicle.registration)
    response = client.form(f"/vehicles/edit/?id={vehicle.id}", data)
    assert response.status_code == 302
    db.session.expire_all()
    vehicle = db.session.get(Vehicle, vehicle.id)
    assert vehicle.price_changed_on == dt.date.today()
    assert [(str(c.old_price), str(c.new_price)) for c in vehicle.price_changes] == [("14990.00", "13490.00")]
    # Saving again without touching the price keeps its date and adds no history.
    client.form(f"/vehicles/edit/?id={vehicle.id}", dict(data, mileage="43000"))
    db.session.expire_all()
    assert len(db.session.get(Vehicle, vehicle.id).price_changes) == 1


def _files(app, vehicle):
    import os

    folder = os.path.join(app.config["PHOTO_FOLDER"], str(vehicle.id))
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def _image(fmt="JPEG", size=(40, 30)):
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buf, fmt)
    return buf.getvalue()


def test_photos_upload_reorder_and_delete(app, network, factories, login):
    vehicle = factories.vehicle(network.gap)
    client = login(network.cdv_nord)
    response = client.form(f"/vehicles/photos/{vehicle.id}/", {
        "action": "upload",
        "photos": [(io.BytesIO(_image("JPEG")), "a.jpg"), (io.BytesIO(_image("PNG")), "b.png"),
                   (io.BytesIO(_image("WEBP")), "c.webp")]}, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    photos = db.session.get(Vehicle, vehicle.id).photos
    assert [p.content_type for p in photos] == ["image/jpeg", "image/png", "image/webp"]
    assert db.session.get(Vehicle, vehicle.id).photo_count == 3
    served = client.get(f"/vehicles/photo/{photos[1].id}")
    assert served.status_code == 200 and served.data.startswith(b"\x89PNG")

    client.form(f"/vehicles/photos/{vehicle.id}/", {"action": "up", "photo_id": str(photos[1].id)})
    db.session.expire_all()
    assert [p.content_type for p in db.session.get(Vehicle, vehicle.id).photos][:2] == ["image/png", "image/jpeg"]

    client.form(f"/vehicles/photos/{vehicle.id}/", {"action": "delete", "photo_id": str(photos[0].id)})
    db.session.expire_all()
    assert db.session.get(Vehicle, vehicle.id).photo_count == 2


@pytest.mark.parametrize("payload, name, message", [
    (b"%PDF-1.4 not an image", "doc.jpg", "ce n'est pas une image JPEG, PNG ou WebP"),
    (_image("GIF"), "anim.gif", "ce n'est pas une image JPEG, PNG ou WebP"),
    (b"\xff\xd8\xff" + b"0" * 100, "broken.jpg", "ce n'est pas une image JPEG, PNG ou WebP"),
])
def test_non_images_are_refused_and_nothing_is_written(app, network, factories, login, payload, name, message):
    vehicle = factories.vehicle(network.gap)
    files_before = _files(app, vehicle)
    client = login(network.cdv_nord)
    response = client.form(f"/vehicles/photos/{vehicle.id}/", {
        "action": "upload", "photos": [(io.BytesIO(_image()), "good.jpg"), (io.BytesIO(payload), name)]},
        content_type="multipart/form-data", follow_redirects=True)
    assert message in html.unescape(response.get_data(as_text=True))
    assert db.session.query(VehiclePhoto).count() == 0
    assert _files(app, vehicle) == files_before


def test_an_oversized_photo_is_refused_with_its_limit(app, network, factories, login, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 2 * 1024 * 1024)
    vehicle = factories.vehicle(network.gap)
    big = _image("PNG", size=(1, 1)) + b"\0" * (3 * 1024 * 1024)
    response = login(network.cdv_nord).form(f"/vehicles/photos/{vehicle.id}/", {
        "action": "upload", "photos": [(io.BytesIO(big), "big.png")]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "image trop lourde (2 Mo au plus)" in response.get_data(as_text=True)
    assert db.session.query(VehiclePhoto).count() == 0


def test_a_request_larger_than_the_upload_limit_gets_a_french_page_not_a_500(app, network, factories, login):
    vehicle = factories.vehicle(network.gap)
    huge = b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    response = login(network.cdv_nord).form(f"/vehicles/photos/{vehicle.id}/", {
        "action": "upload", "photos": [(io.BytesIO(huge), "huge.jpg")]}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "dépasse la taille autorisée" in response.get_data(as_text=True)
